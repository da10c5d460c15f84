"""Yosys synthesis of a build's design: per IP, and out of context per op configuration.

- ``design``: ``design_of_build``, the build's ``Design`` rebuilt and checked;
- ``parts``: every op, FIFO, converter and DMA end as an ``hw.rtl`` instance, and what one
  op configuration is;
- ``runner``: Yosys runs, parallel and cached;
- ``build``: ``synth_build(build_dir)`` -> ``BUILD/synth/synth.json`` (per IP Yosys figures
  beside the estimate of the same IPs); ``read_synth``.

Yosys' figures are not Vivado's: how far they differ is unknown until someone runs Vivado.
"""

from alveoflow.compiler.synth.build import SYNTH_DIR, SYNTH_JSON, read_synth, synth_build

__all__ = ["SYNTH_DIR", "SYNTH_JSON", "read_synth", "synth_build"]
