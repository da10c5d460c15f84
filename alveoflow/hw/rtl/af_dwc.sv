// af_dwc -- data-width converter: re-packs a stream of IN_W-bit words into OUT_W-bit words,
// LSB first (bit 0 of the first input word is bit 0 of the first output word), as the HLS
// alveo::dwc. Up, down, and widths that do not divide each other (24 -> 64). A frame of the
// HLS converter is a multiple of both widths, so the continuous re-packing here gives the same
// words without counting frames.
// Widths that divide each other (the usual PE/SIMD ratios): down-conversion keeps the current
// input word and the next one and selects slices with a counter; up-conversion fills slots
// and hands the full word to an output register. Other ratios: a buffer of IN_W + 2*OUT_W bits
// counted in units of G = gcd(IN_W, OUT_W), a word taken while it fits without the word
// leaving in the same cycle. In every case in0_tready and out0_tvalid come from registers and
// the busier side moves a word every cycle.
module af_dwc #(
    parameter int IN_W = 8,
    parameter int OUT_W = 8
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

    localparam int G = gcd(IN_W, OUT_W);
    localparam int IU = IN_W / G;              // units per input word
    localparam int OU = OUT_W / G;             // units per output word
    localparam int CAP = IN_W + 2 * OUT_W;
    localparam int CU = IU + 2 * OU;            // capacity in units
    localparam int HW = $clog2(CU + 1);

    generate
        if (IN_W == OUT_W) begin : g_same
            af_skid #(.W(IN_W)) u_pass (
                .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
                .in_tdata(in0_tdata), .in_tvalid(in0_tvalid), .in_tready(in0_tready),
                .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
            );
        end else if (IN_W % OUT_W == 0) begin : g_down
            localparam int R = IN_W / OUT_W;
            localparam int RW = $clog2(R + 1);
            logic [IN_W-1:0] cur, nxt;
            logic [RW-1:0] left;       // slices of cur still to send
            logic [RW-1:0] idx;        // the slice being offered
            logic nxt_valid;
            wire push = in0_tvalid && in0_tready;
            wire pop = out0_tvalid && out0_tready;
            wire drained = left == '0 || (pop && left == RW'(1));  // cur is free after this cycle
            assign in0_tready = !nxt_valid;
            assign out0_tvalid = left != '0;
            assign out0_tdata = cur[idx*OUT_W +: OUT_W];
            always_ff @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    left <= '0;
                    idx <= '0;
                    nxt_valid <= 1'b0;
                end else if (drained && (nxt_valid || push)) begin
                    left <= RW'(R);
                    idx <= '0;
                    nxt_valid <= nxt_valid && push;
                end else begin
                    if (pop) begin
                        left <= left - 1'b1;
                        idx <= idx + 1'b1;
                    end
                    if (push) nxt_valid <= 1'b1;
                end
            end
            always_ff @(posedge ap_clk) begin
                if (drained && (nxt_valid || push)) cur <= nxt_valid ? nxt : in0_tdata;
                if (push && !(drained && !nxt_valid)) nxt <= in0_tdata;
            end
        end else if (OUT_W % IN_W == 0) begin : g_up
            localparam int R = OUT_W / IN_W;
            localparam int RW = $clog2(R + 1);
            logic [OUT_W-1:0] acc, o;
            logic [RW-1:0] have;       // slots of acc filled
            logic o_valid;
            wire push = in0_tvalid && in0_tready;
            wire pop = o_valid && out0_tready;
            wire o_free = !o_valid || pop;
            wire [OUT_W-1:0] filled = acc | (OUT_W'(in0_tdata) << (have * IN_W));
            assign in0_tready = have != RW'(R);
            assign out0_tvalid = o_valid;
            assign out0_tdata = o;
            always_ff @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    have <= '0;
                    o_valid <= 1'b0;
                end else begin
                    if (have == RW'(R) && o_free) begin
                        have <= '0;
                        o_valid <= 1'b1;
                    end else if (push && have == RW'(R - 1) && o_free) begin
                        have <= '0;
                        o_valid <= 1'b1;
                    end else begin
                        if (push) have <= have + 1'b1;
                        if (pop) o_valid <= 1'b0;
                    end
                end
            end
            always_ff @(posedge ap_clk) begin
                if (have == RW'(R) && o_free) begin
                    o <= acc;
                    acc <= '0;
                end else if (push && have == RW'(R - 1) && o_free) begin
                    o <= filled;
                    acc <= '0;
                end else if (push) begin
                    acc <= filled;
                end
                if (!ap_rst_n) acc <= '0;
            end
        end else begin : g_general
            logic [CAP-1:0] buffer;
            logic [HW-1:0] have;  // units waiting, oldest at the LSB
            wire push = in0_tvalid && in0_tready;
            wire pop = out0_tvalid && out0_tready;
            wire [HW-1:0] kept = pop ? have - HW'(OU) : have;
            wire [CAP-1:0] shifted = pop ? buffer >> OUT_W : buffer;
            wire [CAP-1:0] placed = CAP'(in0_tdata) << (kept * G);

            assign in0_tready = have <= HW'(CU - IU);
            assign out0_tvalid = have >= HW'(OU);
            assign out0_tdata = buffer[OUT_W-1:0];

            // bits above `have` stay zero (the reset clears them; shifts bring in zeros)
            always_ff @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    have <= '0;
                    buffer <= '0;
                end else begin
                    have <= kept + (push ? HW'(IU) : '0);
                    if (push || pop) buffer <= push ? (shifted | placed) : shifted;
                end
            end
        end
    endgenerate
endmodule
