// af_dwc_sliced -- a width converter applied to SLICES side-by-side streams at once (HLS
// alveo::dwc_sliced): every input word holds SLICES slices of IS = IN_W/SLICES bits, every
// output word SLICES slices of OS = OUT_W/SLICES bits, and slice s of the words re-packs
// slice s's frames (FRAME_BITS, a multiple of IS and OS: one pixel's vector) LSB first.
// Between MMV sliding windows and an MMV MVAU whose SIMD differs from the window's.
// Built as af_dwc (IN_W -> SLICES*FRAME_BITS: one frame of every slice), a fixed bit
// permutation into the output words' order, and af_dwc (-> OUT_W); one word per cycle on the
// busier side.
module af_dwc_sliced #(
    parameter int IN_W = 8,
    parameter int OUT_W = 8,
    parameter int SLICES = 2,
    parameter int FRAME_BITS = 8
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic [IN_W-1:0]  in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [OUT_W-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
    function automatic integer gcd(input integer a0, input integer b0);
        integer a, b, t, i;
        a = a0;
        b = b0;
        for (i = 0; i < 64; i = i + 1) begin
            if (b != 0) begin
                t = a % b;
                a = b;
                b = t;
            end
        end
        gcd = a;
    endfunction

    localparam int IS = IN_W / SLICES;
    localparam int OS = OUT_W / SLICES;
    localparam int FW = SLICES * FRAME_BITS;       // one frame of every slice
    localparam int U = gcd(IS, OS);                // permutation unit, bits
    localparam int OWORDS = FRAME_BITS / OS;       // output words per frame

    logic [FW-1:0] frames, ordered;
    logic frames_tvalid, frames_tready;

    af_dwc #(.IN_W(IN_W), .OUT_W(FW)) u_gather (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
        .out0_tdata(frames), .out0_tvalid(frames_tvalid), .out0_tready(frames_tready)
    );
    // frames: input word i (IN_W bits) after input word i-1; slice s of word i holds bits
    // [i*IS, ...) of slice s's frame. ordered: output word j after word j-1; slice s of word j
    // holds bits [j*OS, ...) of slice s's frame.
    generate
        for (genvar j = 0; j < OWORDS; j++) begin : g_word
            for (genvar s = 0; s < SLICES; s++) begin : g_slice
                for (genvar u = 0; u < OS / U; u++) begin : g_unit
                    localparam int T = j * OS + u * U;  // bit of slice s's frame
                    assign ordered[j*OUT_W + s*OS + u*U +: U] =
                        frames[(T / IS) * IN_W + s * IS + T % IS +: U];
                end
            end
        end
    endgenerate
    af_dwc #(.IN_W(FW), .OUT_W(OUT_W)) u_split (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in0_tdata(ordered), .in0_tvalid(frames_tvalid), .in0_tready(frames_tready),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
    );
endmodule
