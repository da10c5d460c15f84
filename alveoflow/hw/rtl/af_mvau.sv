// af_mvau -- Matrix-Vector-Activation Unit (fully connected layers; convolutions after
// af_swg). Semantics (alveoflow.compiler.ir.hw.MVAU): acc[r] = sum_c W[r][c] * x[c], then
// thresholds, bias or nothing (ACT, see af_act), stored in OB bits.
//
// Folding as the HLS alveo::mvau: PE rows and SIMD columns per cycle, NF = MH/PE neuron folds,
// SF = MW/SIMD synapse folds, MMV pixels per word; one input vector (MMV of them) takes
// NF*SF cycles. With NF > 1 the SF input words of a vector are replayed from a LUTRAM buffer
// of two banks: the next vector's words stream in (one per cycle at most, at any pace)
// while this one is replayed, so a slow or bursty producer keeps up as long as it delivers SF
// words in NF*SF cycles.
// Streams (the HLS library's word formats, lane 0 at the LSB):
//   in0 : MW/SIMD words per vector, MMV*SIMD*IB bits; pixel m in bits [m*SIMD*IB, ...),
//         column sf*SIMD + i of word sf in lane i;
//   out0: MH/PE words per vector, MMV*PE*OB bits; lane m*PE + pe holds row nf*PE + pe;
//   w   : WMEM = "stream" only: the weight word of each step, in step order (nf, sf) per
//         vector (the external-memory FC: a DMA end streams the weights).
// Weights (WFILE, NF*SF words of PE*SIMD*WB bits, word nf*SF + sf): PE p's SIMD*WB-bit slice
// [p*SIMD*WB, ...) is the HLS word weights[p][nf*SF + sf] (column sf*SIMD + i in lane i).
// WMEM: "block" | "ultra" | "distributed" | "stream".
// Parameters (PFILE, NF words, af_act layout): thresholds or biases of rows nf*PE + p.
// MAC: "lut" | "dsp" | "masked_sum" (af_dot); masked_sum computes each pixel's column sum
// once per input word and shares it between the PE rows. With AF_FAST_DOT defined (fast
// whole-network simulation) the dot products come from af_dots_fast instead: same results.
// Element kinds IKIND/WKIND: 0 unsigned, 1 signed, 2 bipolar. ACC_BITS must hold the
// accumulator bound (sum_c |W| * |x|, signed).
module af_mvau #(
    parameter int MW = 4,
    parameter int MH = 4,
    parameter int SIMD = 1,
    parameter int PE = 1,
    parameter int MMV = 1,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int WB = 1,
    parameter int WKIND = 2,
    parameter int OB = 2,
    parameter int ACC_BITS = 16,
    parameter MAC = "lut",
    parameter ACT = "thresholds",
    parameter int NT = 3,
    parameter int TB = 16,
    parameter int BB = 16,
    parameter int OUT_OFFSET = 0,
    parameter WMEM = "block",
    parameter WFILE = "weights.memh",
    parameter PMEM = "distributed",
    parameter PFILE = "params.memh"
) (
    input  logic                     ap_clk,
    input  logic                     ap_rst_n,
    input  logic [MMV*SIMD*IB-1:0]   in0_tdata,
    input  logic                     in0_tvalid,
    output logic                     in0_tready,
    output logic [MMV*PE*OB-1:0]     out0_tdata,
    output logic                     out0_tvalid,
    input  logic                     out0_tready,
    input  logic [PE*SIMD*WB-1:0]    w_tdata,
    input  logic                     w_tvalid,
    output logic                     w_tready
);
    localparam int NF = MH / PE;
    localparam int SF = MW / SIMD;
    localparam int XW = SIMD * IB;
    localparam int WW = PE * SIMD * WB;
    localparam int CW = IB + $clog2(SIMD) + 1;
    localparam int NFW = NF > 1 ? $clog2(NF) : 1;
    localparam int SFW = SF > 1 ? $clog2(SF) : 1;
    localparam int WAW = NF * SF > 1 ? $clog2(NF * SF) : 1;
    localparam bit STREAMED = WMEM == "stream";

    // ---- step issue: fold counters, input fetch or replay -------------------------------------
    logic en;
    logic [NFW-1:0] nf;
    logic [SFW-1:0] sf;
    logic [WAW-1:0] waddr;
    logic [MMV*XW-1:0] x;
    logic have;  // the input vector of the next step is there
    wire w_ok = !STREAMED || w_tvalid;
    wire take = en && have && w_ok;
    wire sf_last = sf == SFW'(SF - 1);
    wire nf_last = nf == NFW'(NF - 1);

    assign w_tready = STREAMED && en && have;

    generate
        if (NF > 1) begin : g_replay
            // two banks of SF words: the next vector streams in (at any pace) while this one
            // is replayed for the NF neuron folds; a vector starts once all its words are in
            (* ram_style = "distributed" *) logic [MMV*XW-1:0] inbuf [0:2*SF-1];
            logic [1:0] full;
            logic wbank, rbank;
            logic [SFW-1:0] wsf;
            wire push = in0_tvalid && in0_tready;
            wire wsf_last = wsf == SFW'(SF - 1);
            wire done = take && sf_last && nf_last;
            assign in0_tready = !full[wbank];
            assign have = full[rbank];
            assign x = inbuf[(rbank ? SF : 0) + sf];
            always_ff @(posedge ap_clk) if (push) inbuf[(wbank ? SF : 0) + wsf] <= in0_tdata;
            always_ff @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    full <= '0;
                    wbank <= 1'b0;
                    rbank <= 1'b0;
                    wsf <= '0;
                end else begin
                    if (push) begin
                        wsf <= wsf_last ? '0 : wsf + 1'b1;
                        if (wsf_last) wbank <= !wbank;
                    end
                    if (done) rbank <= !rbank;
                    for (int b = 0; b < 2; b++) begin
                        if (push && wsf_last && wbank == b[0]) full[b] <= 1'b1;
                        else if (done && rbank == b[0]) full[b] <= 1'b0;
                    end
                end
            end
        end else begin : g_direct
            assign in0_tready = en && w_ok;
            assign have = in0_tvalid;
            assign x = in0_tdata;
        end
    endgenerate

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            nf <= '0;
            sf <= '0;
            waddr <= '0;
        end else if (take) begin
            sf <= sf_last ? '0 : sf + 1'b1;
            if (sf_last) nf <= nf_last ? '0 : nf + 1'b1;
            waddr <= (sf_last && nf_last) ? '0 : waddr + 1'b1;
        end
    end

    // ---- stage 1: operands of the step --------------------------------------------------------
    logic s1_valid, s1_first, s1_last;
    logic [NFW-1:0] s1_nf;
    logic [MMV*XW-1:0] s1_x;
    logic [WW-1:0] s1_w;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) s1_valid <= 1'b0;
        else if (en) s1_valid <= take;
    end
    always_ff @(posedge ap_clk) begin
        if (en) begin
            s1_x <= x;
            s1_first <= sf == '0;
            s1_last <= sf_last;
            s1_nf <= nf;
        end
    end
    generate
        if (STREAMED) begin : g_wstream
            always_ff @(posedge ap_clk) if (en) s1_w <= w_tdata;
        end else begin : g_wrom
            af_rom #(.W(WW), .D(NF * SF), .FILE(WFILE), .STYLE(WMEM)) u_weights (
                .ap_clk(ap_clk), .en(en), .addr(waddr), .q(s1_w)
            );
        end
    endgenerate

    // ---- dot products: lane m*PE + p = pixel m, PE row p --------------------------------------
    logic [MMV*PE*ACC_BITS-1:0] dots;
`ifdef AF_FAST_DOT
    af_dots_fast #(
        .SIMD(SIMD), .PE(PE), .MMV(MMV), .WB(WB), .WKIND(WKIND), .IB(IB), .IKIND(IKIND),
        .OW(ACC_BITS)
    ) u_dots (.w(s1_w), .x(s1_x), .dots(dots));
`else
    generate
        for (genvar m = 0; m < MMV; m++) begin : g_pixel
            logic [CW-1:0] colsum;
            if (MAC == "masked_sum" && WKIND == 2 && IKIND != 2) begin : g_colsum
                af_colsum #(.SIMD(SIMD), .IB(IB), .IKIND(IKIND), .CW(CW)) u_colsum (
                    .x(s1_x[m*XW +: XW]), .sum(colsum)
                );
            end else begin : g_no_colsum
                assign colsum = '0;
            end
            for (genvar p = 0; p < PE; p++) begin : g_pe
                af_dot #(
                    .SIMD(SIMD), .WB(WB), .WKIND(WKIND), .IB(IB), .IKIND(IKIND), .MAC(MAC),
                    .OW(ACC_BITS), .CW(CW)
                ) u_dot (
                    .w(s1_w[p*SIMD*WB +: SIMD*WB]), .x(s1_x[m*XW +: XW]), .colsum(colsum),
                    .dot(dots[(m*PE + p)*ACC_BITS +: ACC_BITS])
                );
            end
        end
    endgenerate

`endif

    af_acc_act #(
        .LANES(MMV * PE), .PE(PE), .AW(ACC_BITS), .ACT(ACT), .NT(NT), .TB(TB), .BB(BB),
        .OB(OB), .OUT_OFFSET(OUT_OFFSET), .ROWS(NF), .PFILE(PFILE), .PMEM(PMEM)
    ) u_tail (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .en(en),
        .step(s1_valid), .first(s1_first), .last(s1_last), .row(s1_nf), .dots(dots),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
