// af_dots_fast -- the MMV x PE dot products of af_mvau written for fast simulation: the
// same results as the structural datapath (af_colsum + af_dot per PE row and pixel), as a
// few loops over whole words, so that a Verilator model of a large network stays small and
// quick to compile. af_mvau uses it when AF_FAST_DOT is defined (the rtlsim backend's
// whole-network models); synthesis and the library's unit tests use the structural
// datapath, and the unit tests also run this one against the same references.
//
// Binary weights (WKIND = 2): with plane_b the bits b of a pixel's SIMD inputs,
//   bipolar inputs:  dot = 2 * ones(~(w ^ x)) - SIMD;
//   other inputs:    dot = 2 * sum_b s_b * ones(w & plane_b) - sum_b s_b * ones(plane_b),
//                    s_b = 2^b (-2^b for the sign bit of signed inputs): w ? x : -x per lane.
// Other weights: sum_i w_i * x_i, lane by lane.
// Ports as af_mvau's stage 1: w = PE rows of SIMD weights, x = MMV pixels of SIMD inputs;
// dots lane m*PE + p (OW bits, two's complement) = pixel m, row p.
module af_dots_fast #(
    parameter int SIMD = 1,
    parameter int PE = 1,
    parameter int MMV = 1,
    parameter int WB = 1,
    parameter int WKIND = 2,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int OW = 16
) (
    input  logic [PE*SIMD*WB-1:0] w,
    input  logic [MMV*SIMD*IB-1:0] x,
    output logic [MMV*PE*OW-1:0]  dots
);
    localparam int NP = IKIND == 2 ? 1 : IB;  // bit planes of an input

    function automatic longint value(input longint code, input int bits, input int kind);
        if (kind == 2) return code[0] ? 1 : -1;
        if (kind == 1 && code[bits-1]) return code - (longint'(1) << bits);
        return code;
    endfunction

    function automatic longint plane_weight(input int b);
        return (IKIND == 1 && b == IB - 1) ? -(longint'(1) << b) : (longint'(1) << b);
    endfunction

    generate
        if (WKIND == 2) begin : g_binary
            logic [SIMD-1:0] plane [MMV*NP];
            always_comb begin
                for (int m = 0; m < MMV; m++)
                    for (int b = 0; b < NP; b++)
                        for (int i = 0; i < SIMD; i++)
                            plane[m*NP + b][i] = x[(m*SIMD + i)*IB + b];
            end
            always_comb begin
                for (int m = 0; m < MMV; m++) begin
                    longint column;
                    column = 0;
                    for (int b = 0; b < NP; b++)
                        column += plane_weight(b) * longint'($countones(plane[m*NP + b]));
                    for (int p = 0; p < PE; p++) begin
                        longint dot;
                        logic [SIMD-1:0] wp;
                        wp = w[p*SIMD +: SIMD];
                        if (IKIND == 2) begin
                            dot = 2 * longint'($countones(~(wp ^ plane[m*NP]))) - SIMD;
                        end else begin
                            dot = 0;
                            for (int b = 0; b < NP; b++)
                                dot += plane_weight(b) * longint'($countones(wp & plane[m*NP + b]));
                            dot = 2 * dot - column;
                        end
                        dots[(m*PE + p)*OW +: OW] = OW'(dot);
                    end
                end
            end
        end else begin : g_general
            always_comb begin
                for (int m = 0; m < MMV; m++)
                    for (int p = 0; p < PE; p++) begin
                        longint dot;
                        dot = 0;
                        for (int i = 0; i < SIMD; i++)
                            dot += value(longint'(w[(p*SIMD + i)*WB +: WB]), WB, WKIND)
                                 * value(longint'(x[(m*SIMD + i)*IB +: IB]), IB, IKIND);
                        dots[(m*PE + p)*OW +: OW] = OW'(dot);
                    end
            end
        end
    endgenerate
endmodule
