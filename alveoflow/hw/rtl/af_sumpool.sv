// af_sumpool -- alveoflow.compiler.ir.hw.SumPool with a window smaller than the image: the sum
// of each KH x KW window (stride SH, SW, no padding), IB-bit inputs, OB-bit sums.
module af_sumpool #(
    parameter int IH = 4,
    parameter int IW = 4,
    parameter int CH = 2,
    parameter int PE = 1,
    parameter int KH = 2,
    parameter int KW = 2,
    parameter int SH = 2,
    parameter int SW = 2,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int OB = 4,
    parameter MEM = "block"
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
    logic [PE*IB-1:0] w_tdata;
    logic w_tvalid, w_tready;
    af_swg #(
        .IH(IH), .IW(IW), .CH(CH), .SIMD(PE), .KH(KH), .KW(KW), .SH(SH), .SW(SW), .B(IB),
        .DEPTHWISE(1), .MEM(MEM)
    ) u_swg (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
        .out0_tdata(w_tdata), .out0_tvalid(w_tvalid), .out0_tready(w_tready)
    );
    af_pool_reduce #(.PE(PE), .KK(KH * KW), .IB(IB), .IKIND(IKIND), .OB(OB), .OP("sum")) u_sum (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(w_tdata), .in0_tvalid(w_tvalid), .in0_tready(w_tready),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
