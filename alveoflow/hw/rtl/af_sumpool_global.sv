// af_sumpool_global -- SumPool over the whole image (global average pooling without the
// division): per image PIXELS pixels of CF = CH/PE words in, CF words of per-channel sums out.
// The running sums live in a CF-entry LUTRAM; the last pixel's words leave as they are summed,
// so the unit never stops its input.
module af_sumpool_global #(
    parameter int PIXELS = 4,
    parameter int CH = 2,
    parameter int PE = 1,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int OB = 8
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
    localparam int CF = CH / PE;
    localparam int CFW = CF > 1 ? $clog2(CF) : 1;
    localparam int PXW = PIXELS > 1 ? $clog2(PIXELS) : 1;

    logic en;
    logic [CFW-1:0] cf;
    logic [PXW-1:0] px;
    wire take = en && in0_tvalid;
    wire cf_last = cf == CFW'(CF - 1);
    wire px_last = px == PXW'(PIXELS - 1);
    assign in0_tready = en;

    (* ram_style = "distributed" *) logic [PE*OB-1:0] sums [0:CF-1];
    logic [PE*OB-1:0] next, o;
    logic o_valid;
    generate
        for (genvar p = 0; p < PE; p++) begin : g_lane
            logic [OB-1:0] v;
            af_value #(.B(IB), .KIND(IKIND), .VW(OB)) u_v (
                .code(in0_tdata[p*IB +: IB]), .value(v)
            );
            assign next[p*OB +: OB] = (px == '0 ? '0 : sums[cf][p*OB +: OB]) + v;
        end
    endgenerate

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            cf <= '0;
            px <= '0;
            o_valid <= 1'b0;
        end else if (en) begin
            if (take) begin
                cf <= cf_last ? '0 : cf + 1'b1;
                if (cf_last) px <= px_last ? '0 : px + 1'b1;
            end
            o_valid <= take && px_last;
        end
    end
    always_ff @(posedge ap_clk) begin
        if (take) sums[cf] <= next;
        if (take && px_last) o <= next;
    end

    af_skid #(.W(PE * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(o), .in_tvalid(o_valid), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
