// af_channel_mul -- alveoflow.compiler.ir.hw.ChannelMul (squeeze-and-excitation gate):
// out[p][c] = x[p][c] * g[c] for the PIXELS pixels of an image. in1 carries the gate (CH
// elements, GB bits of kind GKIND) and is read first, once per image (WPP = CH/PE words);
// in0 then carries the image (IB/IKIND), PE lanes per word; OB-bit products (the output type
// holds every product). One word per cycle, as HLS alveo::channel_mul.
module af_channel_mul #(
    parameter int CH = 2,
    parameter int PE = 1,
    parameter int PIXELS = 1,
    parameter int IB = 4,
    parameter int IKIND = 0,
    parameter int GB = 4,
    parameter int GKIND = 0,
    parameter int OB = 8
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic [PE*IB-1:0] in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    input  logic [PE*GB-1:0] in1_tdata,
    input  logic             in1_tvalid,
    output logic             in1_tready,
    output logic [PE*OB-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
    localparam int WPP = CH / PE;
    localparam int CW = WPP > 1 ? $clog2(WPP) : 1;
    localparam int PW = $clog2(PIXELS + 1);
    localparam int XV = IB + 2;
    localparam int GV = GB + 2;
    (* ram_style = "distributed" *) logic [PE*GB-1:0] gate [0:WPP-1];
    logic gated;                              // the image's gate is in
    logic [CW-1:0] cf;
    logic [PW-1:0] pixel;
    logic room;
    wire take_g = in1_tvalid && in1_tready;
    wire take_x = in0_tvalid && in0_tready;
    wire cf_end = cf == CW'(WPP - 1);
    logic [PE*OB-1:0] y;

    assign in1_tready = !gated;
    assign in0_tready = gated && room;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            gated <= 1'b0;
            cf <= '0;
            pixel <= '0;
        end else if (take_g || take_x) begin
            cf <= cf_end ? '0 : cf + 1'b1;
            if (take_g && cf_end) gated <= 1'b1;
            if (take_x && cf_end) begin
                pixel <= pixel == PW'(PIXELS - 1) ? '0 : pixel + 1'b1;
                if (pixel == PW'(PIXELS - 1)) gated <= 1'b0;
            end
        end
    end
    always_ff @(posedge ap_clk) if (take_g) gate[cf] <= in1_tdata;

    generate
        for (genvar p = 0; p < PE; p++) begin : g_lane
            logic [XV-1:0] xv;
            logic [GV-1:0] gv;
            logic [XV+GV-1:0] prod;
            af_value #(.B(IB), .KIND(IKIND), .VW(XV)) u_x (.code(in0_tdata[p*IB +: IB]), .value(xv));
            af_value #(.B(GB), .KIND(GKIND), .VW(GV)) u_g (.code(gate[cf][p*GB +: GB]), .value(gv));
            assign prod = $signed(xv) * $signed(gv);
            assign y[p*OB +: OB] = OB'(prod);
        end
    endgenerate

    af_skid #(.W(PE * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(y), .in_tvalid(gated && in0_tvalid), .in_tready(room),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
