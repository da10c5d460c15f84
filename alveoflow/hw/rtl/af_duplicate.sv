// af_duplicate -- alveoflow.compiler.ir.hw.DuplicateStreams: every input word goes to each of
// N outputs. Output n is the W-bit slice [n*W, ...) of out_tdata with out_tvalid[n] and
// out_tready[n]; each output has its own af_skid, so a slow reader stalls the input only once
// its slice is full, and no ready path runs between the readers.
module af_duplicate #(
    parameter int W = 8,
    parameter int N = 2
) (
    input  logic           ap_clk,
    input  logic           ap_rst_n,
    input  logic [W-1:0]   in0_tdata,
    input  logic           in0_tvalid,
    output logic           in0_tready,
    output logic [N*W-1:0] out_tdata,
    output logic [N-1:0]   out_tvalid,
    input  logic [N-1:0]   out_tready
);
    logic [N-1:0] room;
    assign in0_tready = &room;
    generate
        for (genvar n = 0; n < N; n++) begin : g_copy
            af_skid #(.W(W)) u_copy (
                .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
                .in_tdata(in0_tdata), .in_tvalid(in0_tvalid && in0_tready), .in_tready(room[n]),
                .out_tdata(out_tdata[n*W +: W]), .out_tvalid(out_tvalid[n]),
                .out_tready(out_tready[n])
            );
        end
    endgenerate
endmodule
