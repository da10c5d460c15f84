// af_label_select -- alveoflow.compiler.ir.hw.LabelSelect: the indices of the K largest of NL
// scores per image, best first, ties to the lower index.
// in0: NL/PE words per image of PE scores (IB bits, kind IKIND: 0 unsigned, 1 signed), score
// i in lane i % PE of word i / PE; out0: K words of 32 bits per image (the index, zero-
// extended). The PE scores of a word are inserted one after the other in the same cycle
// (af_topk_insert chain). A finished list moves to an output buffer, so the next image's scores
// are taken while the K indices leave; one word per cycle on both sides.
module af_label_select #(
    parameter int NL = 10,
    parameter int K = 1,
    parameter int PE = 1,
    parameter int IB = 8,
    parameter int IKIND = 1
) (
    input  logic              ap_clk,
    input  logic              ap_rst_n,
    input  logic [PE*IB-1:0]  in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    output logic [31:0]       out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
    localparam int NW = NL / PE;
    localparam int VW = IB + 1;
    localparam int XW = $clog2(NL + 1);
    localparam int WCW = NW > 1 ? $clog2(NW) : 1;
    localparam int KCW = K > 1 ? $clog2(K) : 1;

    logic [WCW-1:0] word;
    logic [K*VW-1:0] best;
    logic [K*XW-1:0] idx, out_idx;
    logic [K-1:0] valid;
    logic busy;                 // out_idx holds a list still being sent
    logic [KCW-1:0] sent;
    logic en;                   // the output slice takes a word

    wire last_word = word == WCW'(NW - 1);
    assign in0_tready = !last_word || !busy;
    wire take = in0_tvalid && in0_tready;

    // insertion chain over the PE scores of the word
    logic [(PE+1)*K*VW-1:0] chain_best;
    logic [(PE+1)*K*XW-1:0] chain_idx;
    logic [(PE+1)*K-1:0] chain_valid;
    assign chain_best[0 +: K*VW] = best;
    assign chain_idx[0 +: K*XW] = idx;
    assign chain_valid[0 +: K] = valid;
    generate
        for (genvar p = 0; p < PE; p++) begin : g_score
            logic [VW-1:0] v;
            af_value #(.B(IB), .KIND(IKIND), .VW(VW)) u_v (.code(in0_tdata[p*IB +: IB]), .value(v));
            af_topk_insert #(.K(K), .VW(VW), .XW(XW)) u_ins (
                .best_in(chain_best[p*K*VW +: K*VW]), .idx_in(chain_idx[p*K*XW +: K*XW]),
                .valid_in(chain_valid[p*K +: K]), .score(v),
                .index(XW'(word) * XW'(PE) + XW'(p)),
                .best_out(chain_best[(p+1)*K*VW +: K*VW]),
                .idx_out(chain_idx[(p+1)*K*XW +: K*XW]),
                .valid_out(chain_valid[(p+1)*K +: K])
            );
        end
    endgenerate

    wire send = busy && en;
    wire sent_last = sent == KCW'(K - 1);
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            word <= '0;
            valid <= '0;
            busy <= 1'b0;
            sent <= '0;
        end else begin
            if (take) begin
                word <= last_word ? '0 : word + 1'b1;
                valid <= last_word ? '0 : chain_valid[PE*K +: K];
            end
            if (send) sent <= sent_last ? '0 : sent + 1'b1;
            if (take && last_word) busy <= 1'b1;
            else if (send && sent_last) busy <= 1'b0;
        end
    end
    always_ff @(posedge ap_clk) begin
        if (take) begin
            best <= chain_best[PE*K*VW +: K*VW];
            idx <= chain_idx[PE*K*XW +: K*XW];
        end
        if (take && last_word) out_idx <= chain_idx[PE*K*XW +: K*XW];
    end

    af_skid #(.W(32)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(32'(out_idx[sent*XW +: XW])), .in_tvalid(busy), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
