// af_lane_convert -- every lane of a word re-encoded from one element type to another (the DMA
// ends: card storage bytes <-> stream elements; HLS af::lane_convert). LANES lanes of IB-bit
// elements of kind IKIND in, OB-bit elements of kind OKIND out (0 unsigned, 1 signed,
// 2 bipolar). The value is kept: widened by sign or zero extension, narrowed by dropping high
// bits (the value must fit); a bipolar output is 1 for +1 and 0 for -1. One word per cycle.
module af_lane_convert #(
    parameter int LANES = 1,
    parameter int IB = 8,
    parameter int IKIND = 0,
    parameter int OB = 8,
    parameter int OKIND = 0
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    input  logic [LANES*IB-1:0] in0_tdata,
    input  logic                in0_tvalid,
    output logic                in0_tready,
    output logic [LANES*OB-1:0] out0_tdata,
    output logic                out0_tvalid,
    input  logic                out0_tready
);
    localparam int VW = (IB + 1 > OB ? IB + 1 : OB) + 1;
    logic [LANES*OB-1:0] y;
    generate
        for (genvar l = 0; l < LANES; l++) begin : g_lane
            logic [VW-1:0] v;
            af_value #(.B(IB), .KIND(IKIND), .VW(VW)) u_v (.code(in0_tdata[l*IB +: IB]), .value(v));
            assign y[l*OB +: OB] = OKIND == 2 ? OB'(!v[VW-1]) : OB'(v);
        end
    endgenerate
    af_skid #(.W(LANES * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(y), .in_tvalid(in0_tvalid), .in_tready(in0_tready),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
