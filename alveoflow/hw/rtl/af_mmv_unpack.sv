// af_mmv_unpack -- NF words of MMV*W bits per group (an MVAU's MMV output: pixel m in slice
// [m*W, ...)) -> MMV per-pixel vectors of NF W-bit words, pixel after pixel (HLS
// af::mmv_unpack). Two banks of NF words: a group leaves, one word per cycle, once all its
// NF words are in, while the next group fills the other bank.
module af_mmv_unpack #(
    parameter int W = 8,
    parameter int NF = 1,
    parameter int MMV = 2
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic [MMV*W-1:0] in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [W-1:0]     out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
    localparam int NFW = NF > 1 ? $clog2(NF) : 1;
    localparam int MW = $clog2(MMV);
    (* ram_style = "distributed" *) logic [MMV*W-1:0] mem [0:2*NF-1];  // bank b at b*NF
    logic [1:0] full;
    logic wbank, rbank, room;
    logic [NFW-1:0] wnf, rnf;
    logic [MW-1:0] rm;
    wire push = in0_tvalid && in0_tready;
    wire pop = full[rbank] && room;
    wire rnf_last = rnf == NFW'(NF - 1);
    wire group_done = pop && rnf_last && rm == MW'(MMV - 1);
    wire wnf_last = wnf == NFW'(NF - 1);
    logic [MMV*W-1:0] word;

    assign in0_tready = !full[wbank];
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            full <= '0;
            wbank <= 1'b0;
            rbank <= 1'b0;
            wnf <= '0;
            rnf <= '0;
            rm <= '0;
        end else begin
            if (push) begin
                wnf <= wnf_last ? '0 : wnf + 1'b1;
                if (wnf_last) wbank <= !wbank;
            end
            if (pop) begin
                rnf <= rnf_last ? '0 : rnf + 1'b1;
                if (rnf_last) rm <= rm == MW'(MMV - 1) ? '0 : rm + 1'b1;
                if (group_done) rbank <= !rbank;
            end
            for (int b = 0; b < 2; b++) begin
                if (push && wnf_last && wbank == b[0]) full[b] <= 1'b1;
                else if (group_done && rbank == b[0]) full[b] <= 1'b0;
            end
        end
    end
    always_ff @(posedge ap_clk) if (push) mem[(wbank ? NF : 0) + wnf] <= in0_tdata;
    assign word = mem[(rbank ? NF : 0) + rnf];

    af_skid #(.W(W)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(word[rm*W +: W]), .in_tvalid(full[rbank]), .in_tready(room),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
