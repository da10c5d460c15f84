// af_scale_stream -- alveoflow.compiler.ir.hw.ScaleStream: out[c] = x[c] * factor[c], a
// constant positive integer per channel. PE lanes per word (CF = CH/PE words per pixel); IB-
// bit elements of kind IKIND in, OB-bit products out (the output type holds every product).
// Factors (PFILE, CF words of PE*FB bits, unsigned): word cf lane p is channel cf*PE + p's
// (the thresholds' layout). One word per cycle (HLS alveo::scale_stream).
module af_scale_stream #(
    parameter int CH = 2,
    parameter int PE = 1,
    parameter int IB = 4,
    parameter int IKIND = 0,
    parameter int FB = 4,
    parameter int OB = 8,
    parameter PMEM = "distributed",
    parameter PFILE = "params.memh"
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic [PE*IB-1:0] in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [PE*OB-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
    localparam int CF = CH / PE;
    localparam int CFW = CF > 1 ? $clog2(CF) : 1;
    localparam int XV = IB + 2;
    localparam int FV = FB + 1;
    logic en;
    logic [CFW-1:0] cf;
    logic s1_valid;
    logic [PE*IB-1:0] s1_x;
    logic [PE*FB-1:0] factors;
    logic [PE*OB-1:0] y;
    wire take = en && in0_tvalid;

    assign in0_tready = en;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            cf <= '0;
            s1_valid <= 1'b0;
        end else begin
            if (take) cf <= cf == CFW'(CF - 1) ? '0 : cf + 1'b1;
            if (en) s1_valid <= take;
        end
    end
    always_ff @(posedge ap_clk) if (en) s1_x <= in0_tdata;
    af_rom #(.W(PE * FB), .D(CF), .FILE(PFILE), .STYLE(PMEM)) u_factors (
        .ap_clk(ap_clk), .en(en), .addr(cf), .q(factors)
    );

    generate
        for (genvar p = 0; p < PE; p++) begin : g_lane
            logic [XV-1:0] xv;
            logic [XV+FV-1:0] prod;
            af_value #(.B(IB), .KIND(IKIND), .VW(XV)) u_x (.code(s1_x[p*IB +: IB]), .value(xv));
            assign prod = $signed(xv) * $signed({1'b0, factors[p*FB +: FB]});
            assign y[p*OB +: OB] = OB'(prod);
        end
    endgenerate

    af_skid #(.W(PE * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(y), .in_tvalid(s1_valid), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
