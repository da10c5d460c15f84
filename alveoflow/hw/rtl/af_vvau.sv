// af_vvau -- Vector-Vector-Activation Unit: depthwise convolution after af_swg (DEPTHWISE).
// Semantics (alveoflow.compiler.ir.hw.VVAU): acc[c] = sum_k W[c][k] * x[k*CH + c], then
// thresholds, bias or nothing (ACT, see af_act), stored in OB bits.
//
// Folding as the HLS alveo::vvau: PE channels and SIMD kernel positions per cycle,
// CF = CH/PE channel folds, KF = K/SIMD kernel folds (K = kernel elements); one output pixel
// takes CF*KF cycles; every input word is used once.
// Streams: in0 per output pixel CF*KF words in (cf, kf) order, SIMD*PE*IB bits, lane s*PE + p
// holding kernel position kf*SIMD + s of channel cf*PE + p (af_swg DEPTHWISE with SIMD = PE,
// then af_dwc putting SIMD words side by side); out0 per pixel CF words of PE*OB bits.
// Weights (WFILE, CF*KF words of PE*SIMD*WB bits, word cf*KF + kf): PE p's slice
// [p*SIMD*WB, ...) is the HLS word weights[p][cf*KF + kf] (kernel position kf*SIMD + s in lane
// s). Parameters (PFILE, CF words): thresholds or biases of channels cf*PE + p (af_act).
// MAC: "lut" | "dsp" ("masked_sum" has nothing to share here and runs as "lut", as in HLS).
module af_vvau #(
    parameter int CH = 4,
    parameter int K = 9,
    parameter int SIMD = 1,
    parameter int PE = 1,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int WB = 2,
    parameter int WKIND = 1,
    parameter int OB = 2,
    parameter int ACC_BITS = 16,
    parameter MAC = "lut",
    parameter ACT = "thresholds",
    parameter int NT = 3,
    parameter int TB = 16,
    parameter int BB = 16,
    parameter int OUT_OFFSET = 0,
    parameter WMEM = "distributed",
    parameter WFILE = "weights.memh",
    parameter PMEM = "distributed",
    parameter PFILE = "params.memh"
) (
    input  logic                     ap_clk,
    input  logic                     ap_rst_n,
    input  logic [SIMD*PE*IB-1:0]    in0_tdata,
    input  logic                     in0_tvalid,
    output logic                     in0_tready,
    output logic [PE*OB-1:0]         out0_tdata,
    output logic                     out0_tvalid,
    input  logic                     out0_tready
);
    localparam int CF = CH / PE;
    localparam int KF = K / SIMD;
    localparam int WW = PE * SIMD * WB;
    localparam int CFW = CF > 1 ? $clog2(CF) : 1;
    localparam int KFW = KF > 1 ? $clog2(KF) : 1;
    localparam int WAW = CF * KF > 1 ? $clog2(CF * KF) : 1;
    localparam DOT_MAC = MAC == "dsp" ? "dsp" : "lut";

    logic en;
    logic [CFW-1:0] cf;
    logic [KFW-1:0] kf;
    logic [WAW-1:0] waddr;
    wire take = en && in0_tvalid;
    wire kf_last = kf == KFW'(KF - 1);
    wire cf_last = cf == CFW'(CF - 1);
    assign in0_tready = en;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            cf <= '0;
            kf <= '0;
            waddr <= '0;
        end else if (take) begin
            kf <= kf_last ? '0 : kf + 1'b1;
            if (kf_last) cf <= cf_last ? '0 : cf + 1'b1;
            waddr <= (kf_last && cf_last) ? '0 : waddr + 1'b1;
        end
    end

    logic s1_valid, s1_first, s1_last;
    logic [CFW-1:0] s1_cf;
    logic [SIMD*PE*IB-1:0] s1_x;
    logic [WW-1:0] s1_w;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) s1_valid <= 1'b0;
        else if (en) s1_valid <= take;
    end
    always_ff @(posedge ap_clk) begin
        if (en) begin
            s1_x <= in0_tdata;
            s1_first <= kf == '0;
            s1_last <= kf_last;
            s1_cf <= cf;
        end
    end
    af_rom #(.W(WW), .D(CF * KF), .FILE(WFILE), .STYLE(WMEM)) u_weights (
        .ap_clk(ap_clk), .en(en), .addr(waddr), .q(s1_w)
    );

    logic [PE*ACC_BITS-1:0] dots;
    generate
        for (genvar p = 0; p < PE; p++) begin : g_pe
            logic [SIMD*IB-1:0] xp;  // the SIMD kernel positions of channel cf*PE + p
            for (genvar s = 0; s < SIMD; s++) begin : g_gather
                assign xp[s*IB +: IB] = s1_x[(s*PE + p)*IB +: IB];
            end
            af_dot #(
                .SIMD(SIMD), .WB(WB), .WKIND(WKIND), .IB(IB), .IKIND(IKIND), .MAC(DOT_MAC),
                .OW(ACC_BITS), .CW(1)
            ) u_dot (
                .w(s1_w[p*SIMD*WB +: SIMD*WB]), .x(xp), .colsum(1'b0),
                .dot(dots[p*ACC_BITS +: ACC_BITS])
            );
        end
    endgenerate

    af_acc_act #(
        .LANES(PE), .PE(PE), .AW(ACC_BITS), .ACT(ACT), .NT(NT), .TB(TB), .BB(BB), .OB(OB),
        .OUT_OFFSET(OUT_OFFSET), .ROWS(CF), .PFILE(PFILE), .PMEM(PMEM)
    ) u_tail (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .en(en),
        .step(s1_valid), .first(s1_first), .last(s1_last), .row(s1_cf), .dots(dots),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
