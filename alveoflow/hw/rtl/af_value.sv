// af_value -- the value of one stream element, as a VW-bit two's complement number.
//
// Element kinds (parameter KIND everywhere in the library; the IR's QType):
//   0 = unsigned B-bit code (UINTB), 1 = signed two's complement (INTB),
//   2 = bipolar (B = 1: code 1 is +1, code 0 is -1).
// VW must be at least B + 1 (unsigned and signed) or 2 (bipolar).
module af_value #(
    parameter int B = 1,
    parameter int KIND = 0,
    parameter int VW = 2
) (
    input  logic [B-1:0]  code,
    output logic [VW-1:0] value
);
    generate
        if (KIND == 2) begin : g_bipolar
            assign value = code[0] ? VW'(1) : {VW{1'b1}};
        end else if (KIND == 1) begin : g_signed
            assign value = VW'($signed(code));
        end else begin : g_unsigned
            assign value = VW'(code);
        end
    endgenerate
endmodule
