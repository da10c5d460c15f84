// af_addtree -- balanced adder tree: sum of N operands of IW bits, result OW bits.
//
// SIGNED = 1: operands and result are two's complement (operands sign-extended);
// SIGNED = 0: unsigned. Each level is one bit wider than the one below, so a tree of N
// operands costs about sum over levels of (operands/2^l) * (IW + l) adder bits; the result is
// exact when OW >= IW + clog2(N) (+1 for mixed signs), else it wraps to OW bits.
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
    generate
        if (N == 1) begin : g_leaf
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
