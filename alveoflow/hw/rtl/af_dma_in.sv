// af_dma_in -- the input DMA end as an AXI-Stream boundary: MEM_W-bit words from the host
// side (a PL DMA / XDMA / QDMA stream, s_axis_*, tlast closing each frame) re-packed LSB first
// into the first layer's OUT_W-bit words (af_dwc), as the HLS mem2stream + dwc pair.
// A frame is FRAME_WORDS input words; frame_error goes (and stays) high when tlast does not
// arrive exactly on the last word of a frame (the data still flows).
module af_dma_in #(
    parameter int MEM_W = 512,
    parameter int OUT_W = 8,
    parameter int FRAME_WORDS = 1
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic [MEM_W-1:0] s_axis_tdata,
    input  logic             s_axis_tvalid,
    output logic             s_axis_tready,
    input  logic             s_axis_tlast,
    output logic [OUT_W-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready,
    output logic             frame_error
);
    localparam int FW = FRAME_WORDS > 1 ? $clog2(FRAME_WORDS) : 1;
    logic [FW-1:0] pos;
    wire beat = s_axis_tvalid && s_axis_tready;
    wire at_end = pos == FW'(FRAME_WORDS - 1);
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            pos <= '0;
            frame_error <= 1'b0;
        end else if (beat) begin
            pos <= at_end ? '0 : pos + 1'b1;
            if (s_axis_tlast != at_end) frame_error <= 1'b1;
        end
    end
    af_dwc #(.IN_W(MEM_W), .OUT_W(OUT_W)) u_dwc (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(s_axis_tdata), .in0_tvalid(s_axis_tvalid), .in0_tready(s_axis_tready),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
