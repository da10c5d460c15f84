// af_upsample -- alveoflow.compiler.ir.hw.Upsample: nearest-neighbour upsampling of an
// H x W x CH image by integer factors FY, FX: out[y][x] = in[y / FY][x / FX]. PE channels
// per word (WPP = CH/PE words per pixel). As HLS alveo::upsample: an input row is read into
// a row buffer (W*WPP cycles), then written FY times with every pixel FX times
// (FY*W*FX*WPP cycles), one word per cycle, before the next row is read.
module af_upsample #(
    parameter int H = 2,
    parameter int W = 2,
    parameter int CH = 1,
    parameter int PE = 1,
    parameter int FY = 2,
    parameter int FX = 2,
    parameter int B = 4
) (
    input  logic            ap_clk,
    input  logic            ap_rst_n,
    input  logic [PE*B-1:0] in0_tdata,
    input  logic            in0_tvalid,
    output logic            in0_tready,
    output logic [PE*B-1:0] out0_tdata,
    output logic            out0_tvalid,
    input  logic            out0_tready
);
    localparam int WPP = CH / PE;
    localparam int ROWW = W * WPP;
    localparam int AW = ROWW > 1 ? $clog2(ROWW) : 1;
    (* ram_style = "distributed" *) logic [PE*B-1:0] row [0:ROWW-1];
    logic writing;                            // the buffered row is being written out
    logic [AW-1:0] rd;                        // reading: next buffer word
    logic [$clog2(WPP + 1)-1:0] wd;           // writing: word of the pixel
    logic [$clog2(W + 1)-1:0] x;              // input pixel column
    logic [$clog2(FX + 1)-1:0] fx;
    logic [$clog2(FY + 1)-1:0] fy;
    logic room;
    wire push = in0_tvalid && in0_tready;
    wire pop = writing && room;
    wire wd_end = wd == WPP - 1;
    wire fx_end = fx == FX - 1;
    wire x_end = x == W - 1;
    wire fy_end = fy == FY - 1;

    assign in0_tready = !writing;
    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            writing <= 1'b0;
            rd <= '0;
            wd <= '0;
            x <= '0;
            fx <= '0;
            fy <= '0;
        end else if (push) begin
            rd <= rd == AW'(ROWW - 1) ? '0 : rd + 1'b1;
            if (rd == AW'(ROWW - 1)) writing <= 1'b1;
        end else if (pop) begin
            wd <= wd_end ? '0 : wd + 1'b1;
            if (wd_end) fx <= fx_end ? '0 : fx + 1'b1;
            if (wd_end && fx_end) x <= x_end ? '0 : x + 1'b1;
            if (wd_end && fx_end && x_end) begin
                fy <= fy_end ? '0 : fy + 1'b1;
                if (fy_end) writing <= 1'b0;
            end
        end
    end
    always_ff @(posedge ap_clk) if (push) row[rd] <= in0_tdata;

    af_skid #(.W(PE * B)) u_out (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .in_tdata(row[x * WPP + wd]), .in_tvalid(writing), .in_tready(room),
        .out_tdata(out0_tdata), .out_tvalid(out0_tvalid), .out_tready(out0_tready)
    );
endmodule
