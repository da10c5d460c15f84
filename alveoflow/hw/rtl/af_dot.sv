// af_dot -- one SIMD-lane dot product sum_i w[i] * x[i] (one PE row, one pixel).
//
// Lane i of w (x) sits at bits [i*WB, (i+1)*WB) ([i*IB, ...)): lane 0 at the LSB, as in the
// HLS library. Element kinds as af_value (0 unsigned, 1 signed, 2 bipolar). The result `dot`
// is OW-bit two's complement (the caller's accumulator width; exact when it holds the bound).
// MAC selects the datapath (bit-exact with each other):
//   * bipolar weights x bipolar inputs (any MAC): XNOR + popcount, dot = 2*ones - SIMD;
//   * "masked_sum" (bipolar weights): dot = 2 * sum_{w_i = 1} x_i - colsum, where colsum =
//     sum_i x_i comes from the caller (shared by every PE row of an MVAU, af_colsum); each lane
//     is an AND of the weight bit with x_i and the tree adds IB-bit operands;
//   * "lut": products in fabric: a bipolar weight is a conditional negate of x_i, computed as
//     (x_i XOR ~w_i) + ~w_i with the +1s counted once; other weights are partial products
//     x_i << k (the sign bit's subtracted as ~(x_i << k) + 1), all in one adder tree; no
//     multiplier is inferred, so no tool maps a LUT lane to a DSP;
//   * "dsp": one `*` per lane marked (* use_dsp = "yes" *) (a DSP48E2 per lane where the tool
//     maps it; bipolar weights stay a conditional negate, as in the HLS library).
module af_dot #(
    parameter int SIMD = 1,
    parameter int WB = 1,
    parameter int WKIND = 2,
    parameter int IB = 2,
    parameter int IKIND = 0,
    parameter MAC = "lut",
    parameter int OW = 16,
    parameter int CW = 4
) (
    input  logic [SIMD*WB-1:0] w,
    input  logic [SIMD*IB-1:0] x,
    input  logic [CW-1:0]      colsum,
    output logic [OW-1:0]      dot
);
    localparam int XV = IB + 1;         // value width of an input element
    localparam int WV = WB + 1;         // value width of a weight
    localparam int PW = WB + IB + 2;    // product width
    localparam int SW = PW + $clog2(SIMD) + 1;

`ifdef AF_FAST_DOT  // fast whole-network simulation: af_dots_fast, same results
    af_dots_fast #(
        .SIMD(SIMD), .PE(1), .MMV(1), .WB(WB), .WKIND(WKIND), .IB(IB), .IKIND(IKIND), .OW(OW)
    ) u_fast (.w(w), .x(x), .dots(dot));
`else
    generate
        if (WKIND == 2 && IKIND == 2) begin : g_xnor
            localparam int CNT = $clog2(SIMD + 1);
            logic [CNT-1:0] ones;
            af_addtree #(.N(SIMD), .IW(1), .OW(CNT), .SIGNED(0)) u_pop (
                .in(~(w ^ x)), .sum(ones)
            );
            assign dot = OW'(2 * $signed({1'b0, ones}) - SIMD);
        end else if (MAC == "masked_sum" && WKIND == 2) begin : g_masked
            logic [SIMD*IB-1:0] kept;
            logic [CW-1:0] masked;
            for (genvar i = 0; i < SIMD; i++) begin : g_lane
                assign kept[i*IB +: IB] = w[i] ? x[i*IB +: IB] : '0;
            end
            if (IKIND == 1) begin : g_s
                af_addtree #(.N(SIMD), .IW(IB), .OW(CW), .SIGNED(1)) u_sum (
                    .in(kept), .sum(masked)
                );
            end else begin : g_u
                af_addtree #(.N(SIMD), .IW(IB), .OW(CW), .SIGNED(0)) u_sum (
                    .in(kept), .sum(masked)
                );
            end
            logic [CW+1:0] twice;  // 2 * masked (its sign bit is 0 for unsigned inputs)
            assign twice = {masked[CW-1], masked, 1'b0};
            assign dot = OW'($signed(twice) - $signed(colsum));
        end else if (WKIND == 2) begin : g_negate
            // w ? x : -x  ==  (x XOR {~w}) + ~w: the XOR folds into the tree's first LUTs and
            // the +1s of the negated lanes are one popcount, added as an extra operand
            localparam int CNT = $clog2(SIMD + 1);
            logic [(SIMD+1)*XV-1:0] terms;
            logic [CNT-1:0] negated;
            for (genvar i = 0; i < SIMD; i++) begin : g_lane
                logic [XV-1:0] xv;
                af_value #(.B(IB), .KIND(IKIND), .VW(XV)) u_x (.code(x[i*IB +: IB]), .value(xv));
                assign terms[i*XV +: XV] = xv ^ {XV{~w[i]}};
            end
            af_addtree #(.N(SIMD), .IW(1), .OW(CNT), .SIGNED(0)) u_neg (.in(~w), .sum(negated));
            if (CNT < XV) begin : g_wide
                assign terms[SIMD*XV +: XV] = XV'(negated);
            end else begin : g_narrow  // the count needs more bits than a lane: sum separately
                assign terms[SIMD*XV +: XV] = '0;
            end
            logic [SW-1:0] total;
            af_addtree #(.N(SIMD + 1), .IW(XV), .OW(SW), .SIGNED(1)) u_sum (
                .in(terms), .sum(total)
            );
            if (CNT < XV) begin : g_dot_wide
                assign dot = OW'($signed(total));
            end else begin : g_dot_narrow
                assign dot = OW'($signed(total) + $signed({1'b0, negated}));
            end
        end else if (MAC == "dsp") begin : g_dsp
            logic [SIMD*PW-1:0] prods;
            for (genvar i = 0; i < SIMD; i++) begin : g_lane
                logic [XV-1:0] xv;
                logic [WV-1:0] wv;
                af_value #(.B(IB), .KIND(IKIND), .VW(XV)) u_x (.code(x[i*IB +: IB]), .value(xv));
                af_value #(.B(WB), .KIND(WKIND), .VW(WV)) u_w (.code(w[i*WB +: WB]), .value(wv));
                (* use_dsp = "yes" *) logic signed [PW-1:0] p;
                assign p = $signed(wv) * $signed(xv);
                assign prods[i*PW +: PW] = p;
            end
            logic [SW-1:0] total;
            af_addtree #(.N(SIMD), .IW(PW), .OW(SW), .SIGNED(1)) u_sum (
                .in(prods), .sum(total)
            );
            assign dot = OW'($signed(total));
        end else begin : g_fabric
            // one tree of every partial product: bit k of weight i adds x_i << k; the sign bit
            // of a signed weight subtracts it, as ~(x_i << k) + 1, the +1s summing to SIMD
            localparam int TW = SW + $clog2(WB) + 1;
            logic [SIMD*WB*PW-1:0] parts;
            for (genvar i = 0; i < SIMD; i++) begin : g_lane
                logic [XV-1:0] xv;
                af_value #(.B(IB), .KIND(IKIND), .VW(XV)) u_x (.code(x[i*IB +: IB]), .value(xv));
                for (genvar k = 0; k < WB; k++) begin : g_bit
                    logic [PW-1:0] t;
                    assign t = w[i*WB + k] ? PW'($signed(xv)) << k : '0;
                    if (WKIND == 1 && k == WB - 1) begin : g_sign
                        assign parts[(i*WB + k)*PW +: PW] = ~t;
                    end else begin : g_plain
                        assign parts[(i*WB + k)*PW +: PW] = t;
                    end
                end
            end
            logic [TW-1:0] total;
            af_addtree #(.N(SIMD * WB), .IW(PW), .OW(TW), .SIGNED(1)) u_sum (
                .in(parts), .sum(total)
            );
            assign dot = OW'($signed(total) + (WKIND == 1 ? SIMD : 0));
        end
    endgenerate
`endif
endmodule
