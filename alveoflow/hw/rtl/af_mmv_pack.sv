// af_mmv_pack -- MMV consecutive per-pixel vectors (SF words of W bits each, pixel after pixel)
// -> SF words of MMV*W bits, pixel m in slice [m*W, ...) (the input of an MVAU with MMV > 1
// that is not fed by a sliding window; HLS af::mmv_pack). The first MMV-1 pixels of a group
// are stored; word sf of the last pixel leaves at once with the stored words sf beside it, so
// the unit reads one word per cycle.
module af_mmv_pack #(
    parameter int W = 8,
    parameter int SF = 1,
    parameter int MMV = 2
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic [W-1:0]     in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [MMV*W-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
    localparam int SFW = SF > 1 ? $clog2(SF) : 1;
    localparam int MW = $clog2(MMV);
    logic [SFW-1:0] sf;
    logic [MW-1:0] m;
    logic room;
    (* ram_style = "distributed" *) logic [W-1:0] buffer [0:(MMV-1)*SF-1];
    wire last = m == MW'(MMV - 1);
    wire push = in0_tvalid && in0_tready;
    logic [MMV*W-1:0] word;

    assign in0_tready = !last || room;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sf <= '0;
            m <= '0;
        end else if (push) begin
            sf <= sf == SFW'(SF - 1) ? '0 : sf + 1'b1;
            if (sf == SFW'(SF - 1)) m <= last ? '0 : m + 1'b1;
        end
    end
    always_ff @(posedge ap_clk) if (push && !last) buffer[m*SF + sf] <= in0_tdata;

    generate
        for (genvar k = 0; k < MMV - 1; k++) begin : g_slice
            assign word[k*W +: W] = buffer[k*SF + sf];
        end
    endgenerate
    assign word[(MMV-1)*W +: W] = in0_tdata;

    af_skid #(.W(MMV * W)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(word), .in_tvalid(in0_tvalid && last), .in_tready(room),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
