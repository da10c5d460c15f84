// af_topk_insert -- insert (score, index) into a list of K entries sorted by descending
// score (combinational). The new entry goes below every entry with an equal score: it always
// has a higher index than those already seen, and ties go to the lower index.
// Scores are VW-bit two's complement; entry k at bits [k*VW, ...) / [k*XW, ...); valid[k]
// marks filled entries (the filled ones come first).
module af_topk_insert #(
    parameter int K = 1,
    parameter int VW = 8,
    parameter int XW = 8
) (
    input  logic [K*VW-1:0] best_in,
    input  logic [K*XW-1:0] idx_in,
    input  logic [K-1:0]    valid_in,
    input  logic [VW-1:0]   score,
    input  logic [XW-1:0]   index,
    output logic [K*VW-1:0] best_out,
    output logic [K*XW-1:0] idx_out,
    output logic [K-1:0]    valid_out
);
    logic [K-1:0] below;  // below[k]: the new entry ranks above entry k
    generate
        for (genvar k = 0; k < K; k++) begin : g_entry
            assign below[k] = !valid_in[k] || $signed(score) > $signed(best_in[k*VW +: VW]);
            if (k == 0) begin : g_head
                assign best_out[0 +: VW] = below[0] ? score : best_in[0 +: VW];
                assign idx_out[0 +: XW] = below[0] ? index : idx_in[0 +: XW];
                assign valid_out[0] = below[0] ? 1'b1 : valid_in[0];
            end else begin : g_rest
                wire shift = below[k - 1];  // an entry above moved down into this one
                assign best_out[k*VW +: VW] = !below[k] ? best_in[k*VW +: VW]
                                            : (shift ? best_in[(k-1)*VW +: VW] : score);
                assign idx_out[k*XW +: XW] = !below[k] ? idx_in[k*XW +: XW]
                                           : (shift ? idx_in[(k-1)*XW +: XW] : index);
                assign valid_out[k] = !below[k] ? valid_in[k]
                                    : (shift ? valid_in[k - 1] : 1'b1);
            end
        end
    endgenerate
endmodule
