// af_thresholding -- standalone multi-threshold activation (alveoflow.compiler.ir.hw.
// Thresholding): out[c] = #{j : T[c][j] <= x[c]} + OUT_OFFSET, stored in OB bits.
//
// Streams: PE channels per word (IB-bit elements of kind IKIND in, OB-bit out), CF = CH/PE
// words per pixel; one word per cycle. Thresholds (PFILE, CF words of PE*NT*TB bits, af_act
// layout): word cf holds channels cf*PE + p. The input value is the accumulator of af_acc_act
// (a fold of one step).
module af_thresholding #(
    parameter int CH = 4,
    parameter int PE = 1,
    parameter int IB = 4,
    parameter int IKIND = 0,
    parameter int OB = 2,
    parameter int NT = 3,
    parameter int TB = 8,
    parameter int OUT_OFFSET = 0,
    parameter PMEM = "distributed",
    parameter PFILE = "params.memh"
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    input  logic [PE*IB-1:0]    in0_tdata,
    input  logic                in0_tvalid,
    output logic                in0_tready,
    output logic [PE*OB-1:0]    out0_tdata,
    output logic                out0_tvalid,
    input  logic                out0_tready
);
    localparam int CF = CH / PE;
    localparam int CFW = CF > 1 ? $clog2(CF) : 1;
    localparam int VW = IB + 1;

    logic en;
    logic [CFW-1:0] cf;
    wire take = en && in0_tvalid;
    assign in0_tready = en;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) cf <= '0;
        else if (take) cf <= cf == CFW'(CF - 1) ? '0 : cf + 1'b1;
    end

    logic s1_valid;
    logic [CFW-1:0] s1_cf;
    logic [PE*IB-1:0] s1_x;
    logic [PE*VW-1:0] values;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) s1_valid <= 1'b0;
        else if (en) s1_valid <= take;
    end
    always_ff @(posedge ap_clk) begin
        if (en) begin
            s1_x <= in0_tdata;
            s1_cf <= cf;
        end
    end
    generate
        for (genvar p = 0; p < PE; p++) begin : g_lane
            af_value #(.B(IB), .KIND(IKIND), .VW(VW)) u_v (
                .code(s1_x[p*IB +: IB]), .value(values[p*VW +: VW])
            );
        end
    endgenerate

    af_acc_act #(
        .LANES(PE), .PE(PE), .AW(VW), .ACT("thresholds"), .NT(NT), .TB(TB), .OB(OB),
        .OUT_OFFSET(OUT_OFFSET), .ROWS(CF), .PFILE(PFILE), .PMEM(PMEM)
    ) u_tail (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .en(en),
        .step(s1_valid), .first(1'b1), .last(1'b1), .row(s1_cf), .dots(values),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
