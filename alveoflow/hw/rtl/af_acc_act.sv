// af_acc_act -- the back end shared by the MAC units (af_mvau, af_vvau) and af_thresholding:
// accumulate per-step partial sums over a fold, apply the activation, and present the result
// on an AXI-Stream output.
//
// The caller drives one step per cycle: `step` (valid), `first`/`last` (the step opens/closes
// an accumulation), `row` (the parameter row, e.g. the neuron fold nf: ROWS rows in PFILE) and
// LANES partial sums `dots` (AW-bit two's complement), all from its own registers, and
// advances only when `en` is high. Pipeline (every register moves only with en):
//   dots -> [d] -> acc (+= or =) -> [out] -> af_skid -> out0
// with the parameter row read from af_rom (PMEM style) as the accumulation closes. en is the
// output slice's registered ready, so a stalled output stops the whole unit. AF_FAST_DOT
// (fast whole-network simulation) computes the lanes with loops: same registers, results.
module af_acc_act #(
    parameter int LANES = 1,
    parameter int PE = 1,
    parameter int AW = 16,
    parameter ACT = "thresholds",
    parameter int NT = 1,
    parameter int TB = 16,
    parameter int BB = 16,
    parameter int OB = 4,
    parameter int OUT_OFFSET = 0,
    parameter int ROWS = 1,
    parameter PFILE = "params.memh",
    parameter PMEM = "distributed"
) (
    input  logic                                  ap_clk,
    input  logic                                  ap_rst_n,
    output logic                                  en,
    input  logic                                  step,
    input  logic                                  first,
    input  logic                                  last,
    input  logic [(ROWS > 1 ? $clog2(ROWS) : 1)-1:0] row,
    input  logic [LANES*AW-1:0]                   dots,
    output logic [LANES*OB-1:0]                   out0_tdata,
    output logic                                  out0_tvalid,
    input  logic                                  out0_tready
);
    localparam int RW = ROWS > 1 ? $clog2(ROWS) : 1;
    localparam int PW = ACT == "thresholds" ? PE * NT * TB : (ACT == "bias" ? PE * BB : 1);

    logic d_valid, d_first, d_last;
    logic [RW-1:0] d_row;
    logic [LANES*AW-1:0] d;
    logic acc_done;  // acc holds a finished accumulation
    logic [LANES*AW-1:0] acc;
    logic [PW-1:0] params;
    logic [LANES*OB-1:0] result, o;
    logic o_valid;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            d_valid <= 1'b0;
            acc_done <= 1'b0;
            o_valid <= 1'b0;
        end else if (en) begin
            d_valid <= step;
            acc_done <= d_valid && d_last;
            o_valid <= acc_done;
        end
    end

    always_ff @(posedge ap_clk) begin
        if (en) begin
            d <= dots;
            d_first <= first;
            d_last <= last;
            d_row <= row;
            if (acc_done) o <= result;
        end
    end

`ifdef AF_FAST_DOT
    // fast whole-network simulation (same results): the lanes as loops over an unpacked
    // accumulator array, the activation computed in place (af_act's rules)
    logic [AW-1:0] lane_acc [LANES];
    generate
        for (genvar l = 0; l < LANES; l++) begin : g_acc
            always_ff @(posedge ap_clk) begin
                if (en && d_valid) lane_acc[l] <= (d_first ? '0 : lane_acc[l]) + d[l*AW +: AW];
            end
        end
        if (ACT == "thresholds" || ACT == "bias") begin : g_params
            af_rom #(.W(PW), .D(ROWS), .FILE(PFILE), .STYLE(PMEM)) u_params (
                .ap_clk(ap_clk), .en(en), .addr(d_row), .q(params)
            );
        end else begin : g_no_params
            assign params = '0;
        end
    endgenerate
    always_comb begin
        for (int l = 0; l < LANES; l++) begin
            longint a, v;
            a = longint'($signed(lane_acc[l]));
            if (ACT == "thresholds") begin
                v = OUT_OFFSET;
                for (int j = 0; j < NT; j++)
                    v += longint'($signed(params[((l % PE)*NT + j)*TB +: TB])) <= a ? 1 : 0;
            end else if (ACT == "bias") begin
                v = a + longint'($signed(params[(l % PE)*BB +: BB]));
            end else begin
                v = a;
            end
            result[l*OB +: OB] = OB'(v);
        end
    end
`else
    generate
        for (genvar l = 0; l < LANES; l++) begin : g_acc
            always_ff @(posedge ap_clk) begin
                if (en && d_valid) begin
                    acc[l*AW +: AW] <= (d_first ? '0 : acc[l*AW +: AW]) + d[l*AW +: AW];
                end
            end
        end
        if (ACT == "thresholds" || ACT == "bias") begin : g_params
            af_rom #(.W(PW), .D(ROWS), .FILE(PFILE), .STYLE(PMEM)) u_params (
                .ap_clk(ap_clk), .en(en), .addr(d_row), .q(params)
            );
        end else begin : g_no_params
            assign params = '0;
        end
    endgenerate

    af_act #(
        .LANES(LANES), .PE(PE), .AW(AW), .ACT(ACT), .NT(NT), .TB(TB), .BB(BB), .OB(OB),
        .OUT_OFFSET(OUT_OFFSET), .PW(PW)
    ) u_act (.acc(acc), .params(params), .out(result));

`endif

    af_skid #(.W(LANES * OB)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(o), .in_tvalid(o_valid), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
