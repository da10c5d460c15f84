"""RTL code generation: the ``Design`` rendered as SystemVerilog over the RTL library.

``emit_rtl(design)`` returns the ``rtl/`` files of a build (``emit``): one module per IP
(``ipgen``, the same partition as the HLS IPs), the network top with the planned FIFO depths
and the DMA ends as AXI-Stream boundaries (``top``), the ``$readmemh`` parameter files, a
copy of the library and ``rtl/rtl.json`` for simulators. ``units`` maps each node to library
cells, ``netlist`` renders a module. Like the HLS generator it decides nothing about the
hardware: every stream, depth, width, converter and lane style is the design's.
"""

from alveoflow.compiler.codegen.rtl.emit import emit_rtl

__all__ = ["emit_rtl"]
