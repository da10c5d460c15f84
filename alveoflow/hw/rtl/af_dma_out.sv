// af_dma_out -- the output DMA end as an AXI-Stream boundary: the last layer's W-bit words
// (e.g. the top-k indices) leave on m_axis_* with tlast on the last word of every frame of
// FRAME_WORDS words, for a host-side DMA (stream2mem) to close its transfer.
module af_dma_out #(
    parameter int W = 32,
    parameter int FRAME_WORDS = 1
) (
    input  logic         ap_clk,
    input  logic         ap_rst_n,
    input  logic [W-1:0] in0_tdata,
    input  logic         in0_tvalid,
    output logic         in0_tready,
    output logic [W-1:0] m_axis_tdata,
    output logic         m_axis_tvalid,
    input  logic         m_axis_tready,
    output logic         m_axis_tlast
);
    localparam int FW = FRAME_WORDS > 1 ? $clog2(FRAME_WORDS) : 1;
    logic [FW-1:0] pos;
    wire beat = in0_tvalid && in0_tready;
    wire at_end = pos == FW'(FRAME_WORDS - 1);
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) pos <= '0;
        else if (beat) pos <= at_end ? '0 : pos + 1'b1;
    end
    af_skid #(.W(W + 1)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata({at_end, in0_tdata}), .in_tvalid(in0_tvalid), .in_tready(in0_tready),
        .out_tdata({m_axis_tlast, m_axis_tdata}), .out_tvalid(m_axis_tvalid),
        .out_tready(m_axis_tready)
    );
endmodule
