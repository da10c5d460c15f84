// af_pool_reduce -- lane-wise reduction of every KK consecutive words (max or sum): the back
// end of the windowed pools, after af_swg in DEPTHWISE order (a channel group's KK window
// positions back to back).
// PE lanes per word, IB-bit elements of kind IKIND in (0 unsigned, 1 signed), OB-bit out
// (wrapping). OP = "max" | "sum". One word in per cycle, one word out per KK words.
module af_pool_reduce #(
    parameter int PE = 1,
    parameter int KK = 4,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int OB = 2,
    parameter OP = "max"
) (
    input  logic              ap_clk,
    input  logic              ap_rst_n,
    input  logic [PE*IB-1:0]  in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    output logic [PE*OB-1:0]  out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
    localparam int AW = (OB > IB ? OB : IB) + 2;
    localparam int KW = KK > 1 ? $clog2(KK) : 1;

    logic en;
    logic [KW-1:0] k;
    wire take = en && in0_tvalid;
    wire k_last = k == KW'(KK - 1);
    assign in0_tready = en;

    logic [PE*AW-1:0] acc, next;
    logic [PE*OB-1:0] o;
    logic o_valid;
    generate
        for (genvar p = 0; p < PE; p++) begin : g_lane
            logic [AW-1:0] v, a;
            af_value #(.B(IB), .KIND(IKIND), .VW(AW)) u_v (
                .code(in0_tdata[p*IB +: IB]), .value(v)
            );
            assign a = acc[p*AW +: AW];
            if (OP == "max") begin : g_max
                assign next[p*AW +: AW] = (k == '0 || $signed(v) > $signed(a)) ? v : a;
            end else begin : g_sum
                assign next[p*AW +: AW] = (k == '0 ? '0 : a) + v;
            end
        end
    endgenerate

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            k <= '0;
            o_valid <= 1'b0;
        end else if (en) begin
            if (take) k <= k_last ? '0 : k + 1'b1;
            o_valid <= take && k_last;
        end
    end
    always_ff @(posedge ap_clk) begin
        if (take) acc <= next;
    end
    generate
        for (genvar p = 0; p < PE; p++) begin : g_out
            always_ff @(posedge ap_clk) if (take && k_last) o[p*OB +: OB] <= OB'(next[p*AW +: AW]);
        end
    endgenerate

    af_skid #(.W(PE * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(o), .in_tvalid(o_valid), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
