"""The RTL library: hand-written SystemVerilog for every hardware op, and its tool runners.

``*.sv`` (docs/rtl.md): one module per op (``af_mvau``, ``af_vvau``, ``af_thresholding``,
``af_swg``, ``af_maxpool``, ``af_sumpool``, ``af_sumpool_global``, ``af_add_streams``,
``af_duplicate``, ``af_label_select``), stream plumbing (``af_dwc``, ``af_fifo``) and the DMA
ends (``af_dma_in``, ``af_dma_out``), in the subset that Verilator 5 and Yosys 0.23 both read;
AXI-Stream valid/ready on every port, ``ap_clk`` and a synchronous active-low ``ap_rst_n``;
the HLS library's stream word formats, and weights from ``$readmemh`` files packed from the
same data as the HLS headers.

Python (importable without the tools; each runner raises ``ToolchainError`` when its tool is
missing):

- ``ops``: an IR op with its folding -> ``RtlUnit`` (``Instance`` + stream formats);
- ``instance``: ``Instance``, the ``af_top`` wrapper, ``instantiate`` for generated tops;
- ``verilator``: cached model builds and runs with random back-pressure; ``sim``: tensors
  in, tensors out;
- ``yosys``: out-of-context ``synth_xilinx -family xcup`` and its cell counts;
- ``sweeps``: per-primitive Yosys sweeps -> ``calibration.json``;
- ``memh``, ``words``: parameter files and stream words; ``tools``: where the tools are.
"""
