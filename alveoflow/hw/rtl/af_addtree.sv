// af_addtree -- balanced adder tree: sum of N operands of IW bits, result OW bits.
//
// SIGNED = 1: operands and result are two's complement (operands sign-extended);
// SIGNED = 0: unsigned. Each level is one bit wider than the one below, so a tree of N
// operands costs about sum over levels of (operands/2^l) * (IW + l) adder bits; the result is
// exact when OW >= IW + clog2(N) (+1 for mixed signs), else it wraps to OW bits.
// A popcount (N > 3 unsigned 1-bit operands) first counts groups of six bits with a 64-entry
// table (three LUT6 per group: 0.5 LUT per bit, where a carry-chain adder of 1-bit operands
// costs about 2), then adds the 3-bit counts.
// Purely combinational; recursive instantiation (Verilator 5 and Yosys read it).
module af_addtree #(
    parameter int N = 2,
    parameter int IW = 8,
    parameter int OW = 16,
    parameter int SIGNED = 1
) (
    input  logic [N*IW-1:0] in,
    output logic [OW-1:0]   sum
);
    function automatic [191:0] pop6_table(input integer width);  // (width: unused)
        integer i;
        reg [191:0] t;
        t = '0;
        for (i = 0; i < 64; i = i + 1) begin
            t[i*3 +: 3] = 3'(i[0] + i[1] + i[2] + i[3] + i[4] + i[5]);
        end
        pop6_table = t;
    endfunction

    generate
        if (N > 3 && IW == 1 && SIGNED == 0) begin : g_popcount
            localparam int G = (N + 5) / 6;
            localparam logic [191:0] POP6 = pop6_table(6);
            logic [6*G-1:0] padded;
            logic [3*G-1:0] counts;
            assign padded = (6 * G)'(in);
            for (genvar g = 0; g < G; g++) begin : g_group
                assign counts[g*3 +: 3] = POP6[padded[g*6 +: 6]*3 +: 3];
            end
            af_addtree #(.N(G), .IW(3), .OW(OW), .SIGNED(0)) u_counts (.in(counts), .sum(sum));
        end else if (N == 1) begin : g_leaf
            if (SIGNED != 0) begin : g_s
                assign sum = OW'($signed(in));
            end else begin : g_u
                assign sum = OW'(in);
            end
        end else begin : g_node
            localparam int H = N / 2;
            localparam int LW = IW + $clog2(H) + 1;
            localparam int RW = IW + $clog2(N - H) + 1;
            logic [LW-1:0] l;
            logic [RW-1:0] r;
            af_addtree #(.N(H), .IW(IW), .OW(LW), .SIGNED(SIGNED)) u_l (
                .in(in[H*IW-1:0]), .sum(l)
            );
            af_addtree #(.N(N - H), .IW(IW), .OW(RW), .SIGNED(SIGNED)) u_r (
                .in(in[N*IW-1:H*IW]), .sum(r)
            );
            if (SIGNED != 0) begin : g_s
                assign sum = OW'($signed(l)) + OW'($signed(r));
            end else begin : g_u
                assign sum = OW'(l) + OW'(r);
            end
        end
    endgenerate
endmodule
