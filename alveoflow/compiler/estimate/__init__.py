"""Cycle and resource models of hardware ops, and the whole-graph estimate.

- ``cycles``: cycles per frame of every hw op as a function of its folding;
- ``ops`` / ``resources``: LUT, FF, BRAM, URAM, DSP per op, with memory style and packing;
- ``model.estimate_graph``: per node and per floorplanning unit, with stream infrastructure;
- ``reference``: the reference design's folding and its calibration against published figures.
"""

from alveoflow.compiler.estimate.cycles import node_cycles, op_cycles
from alveoflow.compiler.estimate.model import GraphEstimate, estimate_graph, unit_of
from alveoflow.compiler.estimate.resources import MEM_STYLES, Cost

__all__ = [
    "MEM_STYLES",
    "Cost",
    "GraphEstimate",
    "estimate_graph",
    "node_cycles",
    "op_cycles",
    "unit_of",
]
