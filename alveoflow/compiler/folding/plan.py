"""``FoldingPlan``: the folding search's result, a plain JSON-serialisable record.

A plan names, for every hardware node, its folding fields (``pe``/``simd``/``mmv``), for
every MAC unit and sliding window its memory style (``lut``/``bram``/``uram``/``external``)
and packing, for every MAC unit its multiply style (``mac_styles``: the ``alveo::mul_style``
the code generator sets as ``MUL``: ``lut``, ``dsp``, ``dsp_packed2`` or ``masked_sum``; plans
written before this field existed load with it empty, meaning the plain datapath), and for
every floorplanning unit its SLR.

Floorplan fields: ``slr`` maps each unit (residual block, layer, ``io``) to the SLR its first
node sits in (for a whole unit: its SLR); ``node_slrs`` maps every node to its SLR;
``unit_slrs`` lists each unit's SLRs in stream order (one entry when whole, several when the
planner split it at a node boundary); ``split_units`` names the split units; ``sll`` is the
SLR-crossing wires used per SLR boundary. Plans written before these fields existed load
with them empty: every node then sits in its unit's ``slr``.
``apply_plan(graph, plan)`` sets the folding on a graph; the plan is keyed by node names,
which never change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alveoflow.compiler.folding.apply import refold
from alveoflow.compiler.ir import Graph
from alveoflow.errors import ConfigError

PLAN_VERSION = 1


@dataclass(frozen=True)
class FoldingPlan:
    """Folding, memory styles and floorplan of one design, with the figures it was planned at."""

    platform: str
    shell: str
    clock_mhz: float
    target: str  # "max" or a number of frames per second, as text
    ii_cycles: int
    fps: float
    folding: dict[str, dict[str, int]]
    mem_styles: dict[str, dict[str, Any]]
    slr: dict[str, int]
    walk: list[int]
    units: list[str]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mac_styles: dict[str, str] = field(default_factory=dict)  # MAC unit -> alveo::mul_style
    node_slrs: dict[str, int] = field(default_factory=dict)  # node -> SLR
    unit_slrs: dict[str, list[int]] = field(default_factory=dict)  # unit -> SLRs, stream order
    split_units: list[str] = field(default_factory=list)  # units spanning several SLRs
    sll: list[int] = field(default_factory=list)  # SLR-crossing wires per boundary

    def to_dict(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.to_json())
        return p

    @staticmethod
    def from_dict(data: dict[str, Any]) -> FoldingPlan:
        data = dict(data)
        version = data.pop("version", PLAN_VERSION)
        if version != PLAN_VERSION:
            raise ConfigError(f"folding plan version {version} is not supported ({PLAN_VERSION})")
        try:
            return FoldingPlan(**data)
        except TypeError as err:
            raise ConfigError(f"malformed folding plan: {err}") from None

    @staticmethod
    def load(path: str | Path) -> FoldingPlan:
        return FoldingPlan.from_dict(json.loads(Path(path).read_text()))

    def node_slr(self, node_unit: str) -> int:
        """The SLR of a unit (of its first node, if the unit is split)."""
        return self.slr.get(node_unit, 0)

    def slr_of_node(self, node: str, unit: str) -> int:
        """The SLR of node ``node`` of unit ``unit`` (the unit's SLR for older plans)."""
        return self.node_slrs.get(node, self.slr.get(unit, 0))

    def is_split(self, unit: str) -> bool:
        return len(self.unit_slrs.get(unit, ())) > 1


def apply_plan(graph: Graph, plan: FoldingPlan) -> Graph:
    """``graph`` with the plan's folding applied (results unchanged, speed and cost set)."""
    return refold(graph, plan.folding)
