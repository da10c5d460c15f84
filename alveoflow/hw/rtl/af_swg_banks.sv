// af_swg_banks -- the line buffer of af_swg with MMV > 1 output pixels per word: G = MMV*SW
// banks by pixel column (column c in bank c mod G at entry c / G), so the MMV pixels of one
// output word (columns left + kx + m*SW, m < MMV) are read from MMV different banks at once.
//
// Writer: the input words in stream order (pixel columns of a row, CF words each; rows of the
// ring in turn, BUF_ROWS slots), one per `push`. Bank b's word (slot, q, cf) is at address
// (slot*NQ + q)*CF + cf.
// Reader (one word of the group per cycle with `en`): `slot` is the ring slot of the window
// row, `grp` the pixel group of the output row (its first column is grp*G - PL), `kx`, `cf`
// the window column and channel group. rdata (one cycle later, held while en is low) has
// pixel m's word in lane m; columns outside the image read garbage (af_swg pads them).
module af_swg_banks #(
    parameter int WW = 8,
    parameter int G = 2,
    parameter int MMV = 2,
    parameter int SW = 1,
    parameter int BD = 2,
    parameter int NQ = 1,
    parameter int CF = 1,
    parameter int BUF_ROWS = 2,
    parameter int ROWW = 1,
    parameter int PL = 0,
    parameter int RW = 4,
    parameter int GW = 4,
    parameter int GRW = 4,
    parameter int SLW = 4,
    parameter int KXW = 2,
    parameter int CFW = 1,
    parameter MEM = "block"
) (
    input  logic               ap_clk,
    input  logic               ap_rst_n,
    input  logic               en,
    input  logic               push,
    input  logic [WW-1:0]      wdata,
    input  logic [SLW-1:0]     slot,
    input  logic [GRW-1:0]     grp,
    input  logic [KXW-1:0]     kx,
    input  logic [CFW-1:0]     cf,
    output logic [MMV*WW-1:0]  rdata
);
    localparam int BAW = BD > 1 ? $clog2(BD) : 1;
    localparam int QW = $clog2(NQ + 2) + 2;           // bank entries, signed
    localparam int OFFQ = PL / G + 1;                 // makes kx - PL + OFFQ*G positive

    // ---- writer ----------------------------------------------------------------------------
    logic [GW-1:0] wbank;
    logic [QW-1:0] wq;
    logic [CFW-1:0] wcf;
    logic [SLW-1:0] wslot;
    logic [$clog2(ROWW + 1)-1:0] wcol;
    wire cf_last = wcf == CFW'(CF - 1);
    wire row_last = wcol == ROWW - 1;
    wire [BAW-1:0] waddr = BAW'((wslot * NQ + wq) * CF + wcf);
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            wbank <= '0;
            wq <= '0;
            wcf <= '0;
            wslot <= '0;
            wcol <= '0;
        end else if (push) begin
            wcol <= row_last ? '0 : wcol + 1'b1;
            wcf <= cf_last ? '0 : wcf + 1'b1;
            if (row_last) begin
                wbank <= '0;
                wq <= '0;
                wslot <= wslot == SLW'(BUF_ROWS - 1) ? '0 : wslot + 1'b1;
            end else if (cf_last) begin
                wbank <= wbank == GW'(G - 1) ? '0 : wbank + 1'b1;
                if (wbank == GW'(G - 1)) wq <= wq + 1'b1;
            end
        end
    end

    // ---- reader: bank of pixel 0, and the entry each bank serves ------------------------------
    wire [GW+KXW:0] shifted = (GW + KXW + 1)'(kx) + (GW + KXW + 1)'(OFFQ * G - PL);
    wire [GW-1:0] bank0 = GW'(shifted % G);
    wire signed [QW-1:0] qbase = QW'(grp) + QW'(shifted / G) - QW'(OFFQ);
    logic [GW-1:0] s1_bank0;
    logic [G*WW-1:0] bdata;
    always_ff @(posedge ap_clk) if (en) s1_bank0 <= bank0;

    generate
        for (genvar b = 0; b < G; b++) begin : g_bank
            // bank b serves column grp*G - PL + kx + (b - bank0) mod G: entry qbase or qbase+1
            wire signed [QW-1:0] q = qbase + QW'(b < bank0);
            wire [BAW-1:0] raddr = BAW'((slot * NQ + q) * CF + cf);
            if (MEM == "distributed") begin : g_lut
                (* ram_style = "distributed" *) logic [WW-1:0] mem [0:BD-1];
                always_ff @(posedge ap_clk) if (push && wbank == GW'(b)) mem[waddr] <= wdata;
                always_ff @(posedge ap_clk) if (en) bdata[b*WW +: WW] <= mem[raddr];
            end else begin : g_bram
                (* ram_style = "block" *) logic [WW-1:0] mem [0:BD-1];
                always_ff @(posedge ap_clk) if (push && wbank == GW'(b)) mem[waddr] <= wdata;
                always_ff @(posedge ap_clk) if (en) bdata[b*WW +: WW] <= mem[raddr];
            end
        end
        for (genvar m = 0; m < MMV; m++) begin : g_pixel
            wire [GW:0] sum = (GW + 1)'(s1_bank0) + (GW + 1)'(m * SW);
            wire [GW-1:0] bank = sum >= (GW + 1)'(G) ? GW'(sum - (GW + 1)'(G)) : GW'(sum);
            assign rdata[m*WW +: WW] = bdata[bank*WW +: WW];
        end
    endgenerate
endmodule
