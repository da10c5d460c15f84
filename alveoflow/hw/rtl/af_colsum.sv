// af_colsum -- sum_i x[i] over the SIMD lanes of one pixel's input slice (the column sum that
// the masked-sum datapath shares between all PE rows of an MVAU). CW-bit two's complement;
// CW = IB + clog2(SIMD) + 1 holds every sum. Element kinds as af_value.
module af_colsum #(
    parameter int SIMD = 1,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter int CW = 4
) (
    input  logic [SIMD*IB-1:0] x,
    output logic [CW-1:0]      sum
);
    generate
        if (IKIND == 2) begin : g_bipolar  // sum of +-1 = 2*ones - SIMD
            localparam int CNT = $clog2(SIMD + 1);
            logic [CNT-1:0] ones;
            af_addtree #(.N(SIMD), .IW(1), .OW(CNT), .SIGNED(0)) u_pop (.in(x), .sum(ones));
            assign sum = CW'(2 * $signed({1'b0, ones}) - SIMD);
        end else if (IKIND == 1) begin : g_signed
            af_addtree #(.N(SIMD), .IW(IB), .OW(CW), .SIGNED(1)) u_sum (.in(x), .sum(sum));
        end else begin : g_unsigned
            af_addtree #(.N(SIMD), .IW(IB), .OW(CW), .SIGNED(0)) u_sum (.in(x), .sum(sum));
        end
    endgenerate
endmodule
