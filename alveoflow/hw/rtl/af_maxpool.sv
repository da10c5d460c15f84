// af_maxpool -- alveoflow.compiler.ir.hw.StreamingMaxPool: max over KH x KW windows with
// stride and padding; padded positions hold the type's minimum and never win. PE channels per
// word in and out; af_swg (DEPTHWISE, SIMD = PE) + af_pool_reduce.
module af_maxpool #(
    parameter int IH = 4,
    parameter int IW = 4,
    parameter int CH = 2,
    parameter int PE = 1,
    parameter int KH = 2,
    parameter int KW = 2,
    parameter int SH = 2,
    parameter int SW = 2,
    parameter int PT = 0,
    parameter int PL = 0,
    parameter int PB = 0,
    parameter int PR = 0,
    parameter int B = 2,
    parameter int KIND = 0,
    parameter MEM = "block"
) (
    input  logic              ap_clk,
    input  logic              ap_rst_n,
    input  logic [PE*B-1:0]   in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    output logic [PE*B-1:0]   out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
    localparam logic [B-1:0] LOWEST = KIND == 1 ? {1'b1, {(B - 1){1'b0}}} : '0;
    logic [PE*B-1:0] w_tdata;
    logic w_tvalid, w_tready;
    af_swg #(
        .IH(IH), .IW(IW), .CH(CH), .SIMD(PE), .KH(KH), .KW(KW), .SH(SH), .SW(SW), .PT(PT),
        .PL(PL), .PB(PB), .PR(PR), .B(B), .DEPTHWISE(1), .PAD({CH{LOWEST}}), .MEM(MEM)
    ) u_swg (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
        .out0_tdata(w_tdata), .out0_tvalid(w_tvalid), .out0_tready(w_tready)
    );
    af_pool_reduce #(.PE(PE), .KK(KH * KW), .IB(B), .IKIND(KIND), .OB(B), .OP("max")) u_max (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(w_tdata), .in0_tvalid(w_tvalid), .in0_tready(w_tready),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
