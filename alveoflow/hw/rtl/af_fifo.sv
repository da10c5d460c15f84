// af_fifo -- AXI-Stream FIFO holding up to DEPTH words of W bits (DEPTH >= 2), first word
// fall-through behind an output register (out0_tvalid and in0_tready come from registers).
// STYLE: "srl" (addressable shift register: SRLC32E on Xilinx, for shallow FIFOs),
// "distributed" (LUTRAM ring), "block" (BRAM ring) or "ultra" (URAM ring). DEPTH = 2 is a
// two-entry register slice (af_skid's logic) whatever the style: a storage of one word
// behind the output register would take a word only every other cycle.
// count: words held now (the rtlsim harness records its peak).
module af_fifo #(
    parameter int W = 8,
    parameter int DEPTH = 16,
    parameter STYLE = "srl"
) (
    input  logic                         ap_clk,
    input  logic                         ap_rst_n,
    input  logic [W-1:0]                 in0_tdata,
    input  logic                         in0_tvalid,
    output logic                         in0_tready,
    output logic [W-1:0]                 out0_tdata,
    output logic                         out0_tvalid,
    input  logic                         out0_tready,
    output logic [$clog2(DEPTH + 1)-1:0] count
);
    localparam int MD = DEPTH - 1;                 // words in the storage, besides out0
    localparam int MAW = MD > 1 ? $clog2(MD) : 1;
    localparam int CW = $clog2(DEPTH + 1);

    logic [CW-1:0] stored;                         // words in the storage
    wire push = in0_tvalid && in0_tready;
    assign count = stored + CW'(out0_tvalid);

    generate
        if (DEPTH == 2) begin : g_pair
            // stored = the spare word of a register slice: taken while the output is busy
            logic [W-1:0] spare;
            wire pop = out0_tvalid && out0_tready;
            assign in0_tready = stored == '0;
            always_ff @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    stored <= '0;
                    out0_tvalid <= 1'b0;
                end else if (!out0_tvalid || pop) begin
                    out0_tvalid <= stored != '0 || push;
                    stored <= '0;
                end else if (push) begin
                    stored <= CW'(1);
                end
            end
            always_ff @(posedge ap_clk) begin
                if (!out0_tvalid || pop) out0_tdata <= stored != '0 ? spare : in0_tdata;
                if (push && out0_tvalid && !pop) spare <= in0_tdata;
            end
        end else begin : g_queue
            wire fetch = stored != '0 && (!out0_tvalid || out0_tready);
            assign in0_tready = stored < CW'(MD);
            always_ff @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    stored <= '0;
                    out0_tvalid <= 1'b0;
                end else begin
                    stored <= stored + CW'(push) - CW'(fetch);
                    if (fetch) out0_tvalid <= 1'b1;
                    else if (out0_tready) out0_tvalid <= 1'b0;
                end
            end

            if (STYLE == "srl") begin : g_srl
                // one shift chain per bit with a dynamic tap: the pattern SRLC32E maps to
                wire [MAW-1:0] tap = MAW'(stored - 1'b1);  // the oldest word
                for (genvar b = 0; b < W; b++) begin : g_bit
                    (* srl_style = "srl" *) logic [MD-1:0] chain;
                    if (MD > 1) begin : g_shift
                        always_ff @(posedge ap_clk) if (push) chain <= {chain[MD-2:0], in0_tdata[b]};
                    end else begin : g_one
                        always_ff @(posedge ap_clk) if (push) chain <= in0_tdata[b];
                    end
                    always_ff @(posedge ap_clk) if (fetch) out0_tdata[b] <= chain[tap];
                end
            end else begin : g_ring
                logic [MAW-1:0] wptr, rptr;
                always_ff @(posedge ap_clk) begin
                    if (!ap_rst_n) begin
                        wptr <= '0;
                        rptr <= '0;
                    end else begin
                        if (push) wptr <= wptr == MAW'(MD - 1) ? '0 : wptr + 1'b1;
                        if (fetch) rptr <= rptr == MAW'(MD - 1) ? '0 : rptr + 1'b1;
                    end
                end
                if (STYLE == "block") begin : g_bram
                    (* ram_style = "block" *) logic [W-1:0] mem [0:MD-1];
                    always_ff @(posedge ap_clk) if (push) mem[wptr] <= in0_tdata;
                    always_ff @(posedge ap_clk) if (fetch) out0_tdata <= mem[rptr];
                end else if (STYLE == "ultra") begin : g_uram
                    (* ram_style = "ultra" *) logic [W-1:0] mem [0:MD-1];
                    always_ff @(posedge ap_clk) if (push) mem[wptr] <= in0_tdata;
                    always_ff @(posedge ap_clk) if (fetch) out0_tdata <= mem[rptr];
                end else begin : g_lutram
                    (* ram_style = "distributed" *) logic [W-1:0] mem [0:MD-1];
                    always_ff @(posedge ap_clk) if (push) mem[wptr] <= in0_tdata;
                    always_ff @(posedge ap_clk) if (fetch) out0_tdata <= mem[rptr];
                end
            end
        end
    endgenerate
endmodule
