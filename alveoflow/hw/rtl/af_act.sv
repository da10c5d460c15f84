// af_act -- what follows an accumulator, for LANES lanes at once (combinational).
//
// Lane l (bits [l*AW, ...) of acc, [l*OB, ...) of out) uses the parameters of PE row
// l % PE (an MVAU's MMV pixels share the PE rows' parameters). ACT:
//   "thresholds": out = #{j : T[j] <= acc} + OUT_OFFSET; params holds PE rows of NT
//                 thresholds of TB bits (signed), threshold j of row p at bits
//                 [(p*NT + j)*TB, ...), ascending (the order does not matter to the count);
//   "bias"      : out = acc + bias; params holds PE biases of BB bits (signed);
//   "none"      : out = acc.
// Every result is stored in OB bits, wrapping (as the HLS library's set_lane).
module af_act #(
    parameter int LANES = 1,
    parameter int PE = 1,
    parameter int AW = 16,
    parameter ACT = "thresholds",
    parameter int NT = 1,
    parameter int TB = 16,
    parameter int BB = 16,
    parameter int OB = 4,
    parameter int OUT_OFFSET = 0,
    parameter int PW = 1
) (
    input  logic [LANES*AW-1:0] acc,
    input  logic [PW-1:0]       params,
    output logic [LANES*OB-1:0] out
);
    localparam int CNT = $clog2(NT + 1);
    generate
        for (genvar l = 0; l < LANES; l++) begin : g_lane
            localparam int P = l % PE;
            logic [AW-1:0] a;
            assign a = acc[l*AW +: AW];
            if (ACT == "thresholds") begin : g_thr
                logic [NT-1:0] hit;
                logic [CNT-1:0] count;
                for (genvar j = 0; j < NT; j++) begin : g_cmp
                    assign hit[j] = $signed(params[(P*NT + j)*TB +: TB]) <= $signed(a);
                end
                af_addtree #(.N(NT), .IW(1), .OW(CNT), .SIGNED(0)) u_count (
                    .in(hit), .sum(count)
                );
                assign out[l*OB +: OB] = OB'(32'(count) + OUT_OFFSET);
            end else if (ACT == "bias") begin : g_bias
                localparam int SW = (AW > BB ? AW : BB) + 1;
                logic [SW-1:0] s;
                assign s = SW'($signed(a)) + SW'($signed(params[P*BB +: BB]));
                assign out[l*OB +: OB] = OB'($signed(s));
            end else begin : g_none
                assign out[l*OB +: OB] = OB'($signed(a));  // sign-extends when OB > AW
            end
        end
    endgenerate
endmodule
