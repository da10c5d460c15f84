// af_lanes_recode -- LANES IB-bit elements of kind IKIND (0 unsigned, 1 signed, 2 bipolar)
// as OB-bit two's complement or unsigned codes of the same values (combinational; the values
// must fit OB bits).
module af_lanes_recode #(
    parameter int LANES = 1,
    parameter int IB = 4,
    parameter int IKIND = 0,
    parameter int OB = 4
) (
    input  logic [LANES*IB-1:0] x,
    output logic [LANES*OB-1:0] y
);
    localparam int VW = (IB + 1 > OB ? IB + 1 : OB) + 1;
    generate
        for (genvar l = 0; l < LANES; l++) begin : g_lane
            logic [VW-1:0] v;
            af_value #(.B(IB), .KIND(IKIND), .VW(VW)) u_v (.code(x[l*IB +: IB]), .value(v));
            assign y[l*OB +: OB] = OB'(v);
        end
    endgenerate
endmodule
