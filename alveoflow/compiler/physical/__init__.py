"""The physical design: the one description of the hardware a build makes.

- ``policy``: the rules shared by the design, the estimate and the code generators;
- ``partition``: which card nodes form each IP;
- ``design``: the frozen ``Design`` (IPs, streams, converters, FIFOs, DMA ends, kernel args);
- ``build``: ``build_design(graph, layout, depths)``.
"""

from alveoflow.compiler.physical.build import Layout, build_design
from alveoflow.compiler.physical.design import (
    DMA,
    IP,
    Design,
    DmaEnd,
    FcWeights,
    KernelArg,
    Port,
    Stream,
)

__all__ = [
    "DMA",
    "IP",
    "Design",
    "DmaEnd",
    "FcWeights",
    "KernelArg",
    "Layout",
    "Port",
    "Stream",
    "build_design",
]
