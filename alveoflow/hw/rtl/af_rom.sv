// af_rom -- read-only parameter memory (weights, thresholds, biases) loaded by $readmemh.
//
// D words of W bits from FILE (one hexadecimal word per line, word 0 first; docs/rtl.md). The
// read is synchronous: q <= mem[addr] on every clock edge with en high, so q holds while en is
// low (a stalled pipeline keeps its operand).
// STYLE: "block" (BRAM), "ultra" (URAM), "distributed" (LUT ROM). The attributes are Vivado's
// (rom_style/ram_style); under Yosys (`YOSYS is defined by its reader) a LUT ROM is
// ram_style "logic", and a URAM ROM gets a dummy write port because Yosys 0.23 cannot
// initialise a URAM288; that port costs about one LUT and exists only in the Yosys netlist.
module af_rom #(
    parameter int W = 8,
    parameter int D = 2,
    parameter FILE = "rom.memh",
    parameter STYLE = "block"
) (
    input  logic                                 ap_clk,
    input  logic                                 en,
    input  logic [(D > 1 ? $clog2(D) : 1)-1:0]   addr,
    output logic [W-1:0]                         q
);
    generate
        if (STYLE == "ultra") begin : g_ultra
`ifdef YOSYS
            (* ram_style = "ultra" *) logic [W-1:0] mem [0:D-1];
            always_ff @(posedge ap_clk) begin
                if (en) q <= mem[addr];
                if (en && &addr) mem[addr] <= q;  // counting only: lets Yosys map URAM288
            end
`else
            (* ram_style = "ultra", rom_style = "ultra" *) logic [W-1:0] mem [0:D-1];
            initial $readmemh(FILE, mem);
            always_ff @(posedge ap_clk) if (en) q <= mem[addr];
`endif
        end else if (STYLE == "distributed") begin : g_lut
`ifdef YOSYS
            (* ram_style = "logic" *) logic [W-1:0] mem [0:D-1];
`else
            (* rom_style = "distributed" *) logic [W-1:0] mem [0:D-1];
`endif
            initial $readmemh(FILE, mem);
            always_ff @(posedge ap_clk) if (en) q <= mem[addr];
        end else begin : g_block
            (* ram_style = "block", rom_style = "block" *) logic [W-1:0] mem [0:D-1];
            initial $readmemh(FILE, mem);
            always_ff @(posedge ap_clk) if (en) q <= mem[addr];
        end
    endgenerate
endmodule
