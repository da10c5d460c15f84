// af_concat -- alveoflow.compiler.ir.hw.ConcatStreams: for every pixel the CA elements of in0
// (a) then the CB elements of in1 (b), re-encoded as OB-bit elements (the values are kept:
// the output type holds both input types). PE lanes per word on every stream (PE divides CA
// and CB); one output word per cycle (HLS alveo::concat_streams).
module af_concat #(
    parameter int CA = 2,
    parameter int CB = 2,
    parameter int PE = 1,
    parameter int IB0 = 4,
    parameter int IKIND0 = 0,
    parameter int IB1 = 4,
    parameter int IKIND1 = 0,
    parameter int OB = 4
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
    localparam int WA = CA / PE;
    localparam int WORDS = (CA + CB) / PE;
    localparam int KW = $clog2(WORDS + 1);
    logic [KW-1:0] k;                       // word of the pixel
    logic room;
    wire from_a = k < KW'(WA);
    wire valid = from_a ? in0_tvalid : in1_tvalid;
    wire push = valid && room;
    logic [PE*OB-1:0] ya, yb;

    assign in0_tready = room && from_a;
    assign in1_tready = room && !from_a;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) k <= '0;
        else if (push) k <= k == KW'(WORDS - 1) ? '0 : k + 1'b1;
    end
    af_lanes_recode #(.LANES(PE), .IB(IB0), .IKIND(IKIND0), .OB(OB)) u_a (.x(in0_tdata), .y(ya));
    af_lanes_recode #(.LANES(PE), .IB(IB1), .IKIND(IKIND1), .OB(OB)) u_b (.x(in1_tdata), .y(yb));

    af_skid #(.W(PE * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(from_a ? ya : yb), .in_tvalid(valid), .in_tready(room),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
