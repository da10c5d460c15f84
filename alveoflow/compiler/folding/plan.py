"""``FoldingPlan``: the folding search's result, a plain JSON-serialisable record.

A plan names, for every hardware node, its folding fields (``pe``/``simd``/``mmv``), for
every MAC unit and sliding window its memory style (``lut``/``bram``/``uram``/``external``)
and packing, and for every floorplanning unit its SLR. ``apply_plan(graph, plan)`` sets the
folding on a graph; the plan is keyed by node names, which never change.
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
        return self.slr.get(node_unit, 0)


def apply_plan(graph: Graph, plan: FoldingPlan) -> Graph:
    """``graph`` with the plan's folding applied (results unchanged, speed and cost set)."""
    return refold(graph, plan.folding)
