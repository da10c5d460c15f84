// af_skid -- two-entry AXI-Stream register slice ("skid buffer").
//
// One word per cycle in and out. in_tready is a register (it does not depend on out_tready in
// the same cycle), so every module that ends in an af_skid cuts the combinational ready path
// between its neighbours. Conventions of the whole library (docs/rtl.md):
//   * clock ap_clk, synchronous active-low reset ap_rst_n (control registers only; data
//     registers are not reset, which Vivado maps to plain FDRE without a reset net);
//   * AXI-Stream valid/ready: a word moves when tvalid && tready; tvalid never waits for
//     tready, and tdata/tvalid hold until the word moves.
module af_skid #(
    parameter int W = 8
) (
    input  logic         ap_clk,
    input  logic         ap_rst_n,
    input  logic [W-1:0] in_tdata,
    input  logic         in_tvalid,
    output logic         in_tready,
    output logic [W-1:0] out_tdata,
    output logic         out_tvalid,
    input  logic         out_tready
);
    logic [W-1:0] spare;
    logic spare_valid;
    wire push = in_tvalid && in_tready;
    wire pop = out_tvalid && out_tready;

    assign in_tready = !spare_valid;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            out_tvalid <= 1'b0;
            spare_valid <= 1'b0;
        end else if (!out_tvalid || pop) begin
            out_tvalid <= spare_valid || push;
            spare_valid <= 1'b0;
        end else if (push) begin
            spare_valid <= 1'b1;
        end
    end

    always_ff @(posedge ap_clk) begin
        if (!out_tvalid || pop) begin
            out_tdata <= spare_valid ? spare : in_tdata;
        end
        if (push && out_tvalid && !pop) begin
            spare <= in_tdata;
        end
    end
endmodule
