// af_swg -- sliding-window generator (alveoflow.compiler.ir.hw.SlidingWindow), with padding
// and a pad value per channel.
//
// Input: per image IH x IW pixels (rows top to bottom), CF = CH/SIMD words of SIMD channels
// per pixel (B-bit elements). Output: for every output pixel (row-major) its KH x KW window,
// one word per (window position, channel group):
//   DEPTHWISE = 0: order (ky, kx, cf), cf innermost (the MVAU's column order);
//   DEPTHWISE = 1: order (cf, ky, kx), kx innermost (af_vvau and the pools).
// OH = (IH + PT + PB - KH) / SH + 1, likewise OW. Window position (ky, kx) of output (oh, ow)
// reads pixel (oh*SH - PT + ky, ow*SW - PL + kx); outside the image, channel c reads
// PAD[c*B +: B] (PAD holds CH values). Padding must be smaller than the kernel.
//
// Line buffer: BUF_ROWS rows of IW*CF words (MEM: "block" or "distributed"), a ring indexed by
// the input row count. Reading and writing overlap: an output pixel is emitted as soon as the
// last input word its window needs has arrived, and an input word is accepted as soon as the
// word it replaces is no longer needed (pixel granularity on the oldest row), so one image
// streams through in about max(input words, output words) cycles, and the next image's rows
// enter while the last rows of this one are still being emitted. BUF_ROWS >= KH and > SH;
// KH + SH (the default) keeps the writer from waiting on the reader in steady state.
module af_swg #(
    parameter int IH = 4,
    parameter int IW = 4,
    parameter int CH = 2,
    parameter int SIMD = 1,
    parameter int KH = 3,
    parameter int KW = 3,
    parameter int SH = 1,
    parameter int SW = 1,
    parameter int PT = 0,
    parameter int PL = 0,
    parameter int PB = 0,
    parameter int PR = 0,
    parameter int B = 2,
    parameter int DEPTHWISE = 0,
    parameter logic [CH*B-1:0] PAD = '0,
    parameter int BUF_ROWS = KH + SH,
    parameter MEM = "block",
    parameter int MMV = 1
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    input  logic [SIMD*B-1:0]   in0_tdata,
    input  logic                in0_tvalid,
    output logic                in0_tready,
    output logic [MMV*SIMD*B-1:0] out0_tdata,
    output logic                out0_tvalid,
    input  logic                out0_tready
);
    localparam int CF = CH / SIMD;
    localparam int WW = SIMD * B;
    localparam int OH = (IH + PT + PB - KH) / SH + 1;
    localparam int OW = (IW + PL + PR - KW) / SW + 1;
    localparam int ROWW = IW * CF;                    // words per image row
    localparam int DEPTH = BUF_ROWS * ROWW;
    localparam int AW = $clog2(DEPTH);
    localparam int CW = $clog2(ROWW + 1) + 1;         // word column, signed
    localparam int RW = $clog2(IH + KH + BUF_ROWS + 2) + 2;  // rows and row offsets, signed
    localparam int XW = $clog2(IW + KW + PL + 2) + 2;        // pixel columns, signed
    localparam int SLW = $clog2(BUF_ROWS + SH + 1) + 1;
    localparam int IMG_STEP = IH % BUF_ROWS;          // ring slot advance per image
    localparam int NW = CW + XW + 1;                  // word counts within a row, signed
    localparam int G = MMV * SW;                      // banks (MMV > 1)
    localparam int NQ = (IW + G - 1) / G;             // bank entries per row and channel group
    localparam int BD = BUF_ROWS * NQ * CF;           // words per bank
    localparam int BAW = BD > 1 ? $clog2(BD) : 1;
    localparam int GW = $clog2(G + 1) + 1;
    localparam int GRW = $clog2(OW / MMV + 1) + 1;    // output pixel groups in a row

    logic en;

    // ---- line buffer ---------------------------------------------------------------------------
    logic [AW-1:0] waddr, raddr;
    logic [MMV*WW-1:0] rdata;                         // MMV = 1: the word; else lane m = pixel m
    wire push = in0_tvalid && in0_tready;
    generate
        if (MMV == 1 && MEM == "distributed") begin : g_lut
            (* ram_style = "distributed" *) logic [WW-1:0] mem [0:DEPTH-1];
            always_ff @(posedge ap_clk) if (push) mem[waddr] <= in0_tdata;
            always_ff @(posedge ap_clk) if (en) rdata <= mem[raddr];
        end else if (MMV == 1) begin : g_bram
            (* ram_style = "block" *) logic [WW-1:0] mem [0:DEPTH-1];
            always_ff @(posedge ap_clk) if (push) mem[waddr] <= in0_tdata;
            always_ff @(posedge ap_clk) if (en) rdata <= mem[raddr];
        end
    endgenerate

    // ---- writer: ring position and how far it is ahead of the reader ---------------------------
    // ahead = (ring row being written) - (reader's oldest needed row), counted over images.
    logic [CW-1:0] wcol;                 // next word within the row being written
    logic signed [RW-1:0] ahead;
    wire wrow_done = push && wcol == CW'(ROWW - 1);

    // ---- reader position -------------------------------------------------------------------------
    logic signed [RW-1:0] top;           // oh*SH - PT: first window row (may be negative)
    logic signed [RW-1:0] top_c;         // max(top, 0): oldest row still needed
    logic signed [XW-1:0] left;          // ow*SW - PL
    logic [$clog2(OH + 1)-1:0] oh;
    logic [$clog2(OW + 1)-1:0] ow;        // first output pixel of the group
    logic [GRW-1:0] grp;                  // ow / MMV
    logic [$clog2(KH + 1)-1:0] ky;
    logic [$clog2(KW + 1)-1:0] kx;
    logic [$clog2(CF + 1)-1:0] cf;
    logic [SLW-1:0] top_slot, img_slot;  // ring rows of top_c and of the image's row 0

    wire signed [RW-1:0] next_top = top + RW'(SH);
    wire signed [RW-1:0] next_top_c = next_top > 0 ? next_top : '0;

    // the window's last needed input word has arrived?
    wire signed [RW-1:0] r_need = (top + RW'(KH - 1) < RW'(IH - 1)) ? top + RW'(KH - 1)
                                                                     : RW'(IH - 1);
    localparam int REACH = (MMV - 1) * SW + KW - 1;  // the group's last column - left
    wire signed [XW-1:0] c_need = (left + XW'(REACH) < XW'(IW - 1)) ? left + XW'(REACH)
                                                                      : XW'(IW - 1);
    wire signed [RW-1:0] need_off = r_need - top_c;
    wire signed [NW-1:0] cols_needed = (NW'(c_need) + NW'(1)) * NW'(CF);
    wire data_ok = (ahead > need_off)
                || (ahead == need_off && $signed({1'b0, wcol}) >= cols_needed);

    // the word the writer would overwrite is no longer needed? The oldest row's columns left
    // of this window are free only when the next output row starts below that row (with top
    // padding, several output rows share row 0).
    wire retiring = next_top_c > top_c || oh == OH - 1;
    wire signed [NW-1:0] col_free = (retiring && left > 0 ? NW'(left) : '0) * NW'(CF);
    assign in0_tready = (ahead < RW'(BUF_ROWS))
                     || (ahead == RW'(BUF_ROWS) && $signed({1'b0, wcol}) < col_free);

    // ---- emission order ----------------------------------------------------------------------------
    wire take = en && data_ok;
    wire cf_end = cf == CF - 1;
    wire kx_end = kx == KW - 1;
    wire ky_end = ky == KH - 1;
    wire pix_end = cf_end && kx_end && ky_end;   // last word of this output pixel (group)
    wire row_end = pix_end && ow == OW - MMV;
    wire img_end = row_end && oh == OH - 1;

    // the next output row's oldest row, and how far the reader's ring position moves
    wire signed [RW-1:0] drop = img_end ? RW'(IH) - top_c : next_top_c - top_c;
    wire [SLW-1:0] slot_sum = top_slot + SLW'(next_top_c - top_c);
    wire [SLW-1:0] next_slot = slot_sum >= SLW'(BUF_ROWS) ? slot_sum - SLW'(BUF_ROWS) : slot_sum;
    wire [SLW-1:0] img_sum = img_slot + SLW'(IMG_STEP);
    wire [SLW-1:0] next_img = img_sum >= SLW'(BUF_ROWS) ? img_sum - SLW'(BUF_ROWS) : img_sum;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            waddr <= '0;
            wcol <= '0;
            ahead <= '0;
        end else begin
            if (push) begin
                waddr <= waddr == AW'(DEPTH - 1) ? '0 : waddr + 1'b1;
                wcol <= wrow_done ? '0 : wcol + 1'b1;
            end
            ahead <= ahead + (wrow_done ? RW'(1) : '0) - ((take && row_end) ? drop : '0);
        end
    end

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            oh <= '0; ow <= '0; grp <= '0; ky <= '0; kx <= '0; cf <= '0;
            top <= -RW'(PT);
            top_c <= '0;
            left <= -XW'(PL);
            top_slot <= '0;
            img_slot <= '0;
        end else if (take) begin
            if (DEPTHWISE != 0) begin  // (cf, ky, kx), kx innermost
                kx <= kx_end ? '0 : kx + 1'b1;
                if (kx_end) ky <= ky_end ? '0 : ky + 1'b1;
                if (kx_end && ky_end) cf <= cf_end ? '0 : cf + 1'b1;
            end else begin             // (ky, kx, cf), cf innermost
                cf <= cf_end ? '0 : cf + 1'b1;
                if (cf_end) kx <= kx_end ? '0 : kx + 1'b1;
                if (cf_end && kx_end) ky <= ky_end ? '0 : ky + 1'b1;
            end
            if (pix_end) begin
                ow <= row_end ? '0 : ow + MMV;
                grp <= row_end ? '0 : grp + 1'b1;
                left <= row_end ? -XW'(PL) : left + XW'(MMV * SW);
            end
            if (row_end) begin
                oh <= img_end ? '0 : oh + 1'b1;
                top <= img_end ? -RW'(PT) : next_top;
                top_c <= img_end ? '0 : next_top_c;
                top_slot <= img_end ? next_img : next_slot;
                if (img_end) img_slot <= next_img;
            end
        end
    end

    // ---- read address and padding of the word being taken ----------------------------------------
    wire signed [RW-1:0] r = top + RW'(ky);
    wire signed [XW-1:0] c = left + XW'(kx);
    wire row_in = r >= 0 && r < RW'(IH);
    logic [MMV-1:0] in_image;             // pixel m's column left + kx + m*SW is in the image
    generate
        for (genvar m = 0; m < MMV; m++) begin : g_in
            wire signed [XW-1:0] cm = c + XW'(m * SW);
            assign in_image[m] = row_in && cm >= 0 && cm < XW'(IW);
        end
    endgenerate
    wire [SLW-1:0] rel = SLW'(r - top_c);
    wire [SLW-1:0] slot_raw = top_slot + rel;
    wire [SLW-1:0] slot = slot_raw >= SLW'(BUF_ROWS) ? slot_raw - SLW'(BUF_ROWS) : slot_raw;
    assign raddr = AW'(slot * ROWW + AW'(c) * CF + cf);

    generate  // MMV > 1: the banked line buffer (module header above)
        if (MMV > 1) begin : g_banks
            af_swg_banks #(
                .WW(WW), .G(G), .MMV(MMV), .SW(SW), .BD(BD), .NQ(NQ), .CF(CF),
                .BUF_ROWS(BUF_ROWS), .ROWW(ROWW), .PL(PL), .RW(RW), .GW(GW), .GRW(GRW),
                .SLW(SLW), .KXW($clog2(KW + 1)), .CFW($clog2(CF + 1)), .MEM(MEM)
            ) u_banks (
                .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .en(en), .push(push),
                .wdata(in0_tdata), .slot(slot), .grp(grp), .kx(kx), .cf(cf), .rdata(rdata)
            );
        end
    endgenerate

    logic s1_valid;
    logic [MMV-1:0] s1_pad;
    logic [WW-1:0] s1_padword;
    logic [MMV*WW-1:0] words;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) s1_valid <= 1'b0;
        else if (en) s1_valid <= take;
    end
    always_ff @(posedge ap_clk) begin
        if (en) begin
            s1_pad <= ~in_image;
            s1_padword <= PAD[cf*WW +: WW];
        end
    end

    generate
        for (genvar m = 0; m < MMV; m++) begin : g_word
            assign words[m*WW +: WW] = s1_pad[m] ? s1_padword : rdata[m*WW +: WW];
        end
    endgenerate

    af_skid #(.W(MMV * WW)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(words), .in_tvalid(s1_valid), .in_tready(en),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
