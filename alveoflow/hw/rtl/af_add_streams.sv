// af_add_streams -- alveoflow.compiler.ir.hw.AddStreams: out = clamp(a + b + OFFSET, min, max)
// of the output type (saturating), lane by lane.
// PE lanes per word on each stream: in0 (a) IB0-bit elements of kind IKIND0, in1 (b) IB1/IKIND1,
// out0 OB/OKIND (0 unsigned, 1 signed; bipolar inputs are not residual streams). A word moves
// when both inputs have one; one word per cycle.
module af_add_streams #(
    parameter int PE = 1,
    parameter int IB0 = 4,
    parameter int IKIND0 = 0,
    parameter int IB1 = 4,
    parameter int IKIND1 = 0,
    parameter int OB = 4,
    parameter int OKIND = 0,
    parameter int OFFSET = 0
) (
    input  logic              ap_clk,
    input  logic              ap_rst_n,
    input  logic [PE*IB0-1:0] in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    input  logic [PE*IB1-1:0] in1_tdata,
    input  logic              in1_tvalid,
    output logic              in1_tready,
    output logic [PE*OB-1:0]  out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
    localparam int SW = 36;  // a + b + OFFSET of 32-bit OFFSET and <= 32-bit operands
    localparam logic [SW-1:0] OMIN = OKIND == 1 ? ~((SW'(1) << (OB - 1)) - 1) : '0;
    localparam logic [SW-1:0] OMAX = OKIND == 1 ? (SW'(1) << (OB - 1)) - 1 : (SW'(1) << OB) - 1;

    logic en;
    wire take = en && in0_tvalid && in1_tvalid;
    assign in0_tready = en && in1_tvalid;
    assign in1_tready = en && in0_tvalid;

    logic [PE*OB-1:0] sat, o;
    logic o_valid;
    generate
        for (genvar p = 0; p < PE; p++) begin : g_lane
            logic [SW-1:0] a, b, s;
            af_value #(.B(IB0), .KIND(IKIND0), .VW(SW)) u_a (
                .code(in0_tdata[p*IB0 +: IB0]), .value(a)
            );
            af_value #(.B(IB1), .KIND(IKIND1), .VW(SW)) u_b (
                .code(in1_tdata[p*IB1 +: IB1]), .value(b)
            );
            assign s = a + b + SW'(OFFSET);
            assign sat[p*OB +: OB] = $signed(s) < $signed(OMIN) ? OB'(OMIN)
                                   : ($signed(s) > $signed(OMAX) ? OB'(OMAX) : OB'(s));
        end
    endgenerate

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) o_valid <= 1'b0;
        else if (en) o_valid <= take;
    end
    always_ff @(posedge ap_clk) if (take) o <= sat;

    af_skid #(.W(PE * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(o), .in_tvalid(o_valid), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
