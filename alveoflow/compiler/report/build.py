"""``report.json``: what a design is estimated to do and cost, per layer and per SLR.

``build_report(design, plan, fifo_result, platform)`` prices the ``Design``
(``estimate.estimate_design``) and returns a JSON-able dict:

- ``estimate``: ``fps``, ``latency_ms`` (batch 1), ``clock_mhz``, ``ii_cycles``, ``bottleneck``,
  ``throughput`` per batch size, ``resources.total`` and ``resources.per_slr`` (one entry per
  SLR with the same keys, the ``fraction`` of that SLR, its ``budget`` and ``limit``),
  ``within_limits``, ``sll`` (wires used and budget per SLR boundary, the split units).
- ``layers``: per node ``cycles``, ``folding``, ``mem_style``, ``mac_style`` (the MAC unit's
  ``alveo::mul_style``, ``-`` for other nodes), ``lanes``, ``slr`` (the node's own SLR),
  ``unit_split`` (its residual block spans several SLRs), resources.
- ``floorplan``: the SLR ``walk``, ``units`` (unit -> SLR of its first node), ``unit_slrs``
  (unit -> SLRs in stream order), ``split_units``, ``nodes`` (node -> SLR).
- ``fifos``: depth and width of every stream FIFO of the design.
- ``plan``: the folding plan itself.

``plan_and_report(graph, build_dir, ...)`` runs the build steps from folding to the report
(``compiler.pipeline``) and writes ``folding_plan.json`` and ``report.json`` into
``build_dir`` (for experiments on lowered graphs; ``alveoflow compile`` writes whole builds).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from alveoflow.compiler.estimate.model import GraphEstimate, estimate_design
from alveoflow.compiler.fifo import FifoResult
from alveoflow.compiler.folding import FoldingPlan
from alveoflow.compiler.ir import Graph
from alveoflow.compiler.physical import DMA, Design
from alveoflow.hw.platforms import RESOURCE_KEYS, Platform

REPORT_VERSION = 2
log = logging.getLogger(__name__)


def _round(d: dict[str, float], nd: int = 1) -> dict[str, float]:
    return {k: round(float(v), nd) for k, v in d.items()}


def per_slr(est: GraphEstimate, design: Design, platform: Platform) -> list[dict[str, Any]]:
    usage = [dict.fromkeys(RESOURCE_KEYS, 0.0) for _ in range(platform.num_slrs)]
    for _unit, pieces in est.per_node().items():
        for name, cost in pieces:
            slr = design.node_slrs.get(name, design.io_slr)
            for k, v in cost.as_dict().items():
                usage[slr][k] += v
    rows = []
    for i, used in enumerate(usage):
        infra = platform.slr_infrastructure(i).as_dict()
        avail = platform.slrs[i].as_dict()
        budget = platform.budget(i).as_dict()
        total = {k: used[k] + infra[k] for k in RESOURCE_KEYS}
        rows.append(
            {
                "slr": i,
                **_round(used),
                "platform_infrastructure": _round(infra),
                "fraction": {
                    k: round(total[k] / avail[k], 4) if avail[k] else 0.0 for k in RESOURCE_KEYS
                },
                "limit": {k: float(getattr(platform.limits, k)) for k in RESOURCE_KEYS},
                "budget": _round(budget),
                "within_limits": all(used[k] <= budget[k] + 1e-6 for k in RESOURCE_KEYS),
            }
        )
    return rows


def build_report(
    design: Design, plan: FoldingPlan, fifo_result: FifoResult | None, platform: Platform
) -> dict[str, Any]:
    """The report dict of ``design`` (see module docstring)."""
    est = estimate_design(design)
    slrs = per_slr(est, design, platform)
    clock = design.clock_mhz
    sll = _sll(design, plan, platform)
    estimate: dict[str, Any] = {
        "fps": round(est.fps(clock), 1),
        "latency_ms": round(fifo_result.latency_ms, 4) if fifo_result else None,
        "clock_mhz": clock,
        "ii_cycles": est.ii,
        "bottleneck": est.bottleneck,
        "throughput": {
            str(b): _round(v, 3) for b, v in (fifo_result.batches if fifo_result else {}).items()
        },
        "resources": {
            "total": _round(est.total().as_dict()),
            "per_slr": slrs,
            "budget_total": _round(platform.total_budget().as_dict()),
        },
        "within_limits": all(s["within_limits"] for s in slrs) and sll["within_budget"],
        "sll": sll,
        "lanes": sum(n.lanes for n in est.nodes),
        "breakdown": {k: _round(v.as_dict()) for k, v in est.breakdown().items()},
    }
    return {
        "version": REPORT_VERSION,
        "model": str(design.graph.meta.get("model", "graph")),
        "platform": platform.to_dict(),
        "estimate": estimate,
        "layers": _layers(est, design, plan),
        "fifos": _fifos(design),
        "floorplan": {
            "walk": plan.walk,
            "units": plan.slr,
            "unit_slrs": plan.unit_slrs or {u: [s] for u, s in plan.slr.items()},
            "split_units": plan.split_units,
            "nodes": {r.name: design.node_slrs.get(r.name, design.io_slr) for r in est.nodes},
            "ips": {ip.name: ip.slr for ip in design.ips},
        },
        "plan": plan.to_dict(),
    }


def _layers(est: GraphEstimate, design: Design, plan: FoldingPlan) -> list[dict[str, Any]]:
    out = []
    for row in est.nodes:
        if row.cycles == 0 and row.cost.lut == 0:
            continue
        out.append(
            {
                "name": row.name,
                "kind": row.kind,
                "unit": row.unit,
                "slr": design.node_slrs.get(row.name, design.io_slr),
                "ip": design.ip_of(row.name),
                "unit_split": plan.is_split(row.unit),
                "cycles": row.cycles,
                "folding": plan.folding.get(row.name, {}),
                "mem_style": row.mem_style,
                "pack": row.pack,
                "mac_style": row.mac_style,
                "lanes": row.lanes,
                "resources": _round(row.cost.as_dict()),
            }
        )
    return out


def _fifos(design: Design) -> list[dict[str, Any]]:
    return [
        {
            "tensor": s.tensor,
            "consumer": s.dst,
            "depth": s.depth,
            "width_bits": s.src_width,
            "kind": s.kind,
        }
        for s in design.streams
    ]


def _sll(design: Design, plan: FoldingPlan, platform: Platform) -> dict[str, Any]:
    """SLR-crossing wires per boundary: every stream between nodes in different SLRs,
    ``width + 2`` on each boundary it crosses (inside a split block, main and bypass)."""
    used = [0] * max(platform.num_slrs - 1, 0)
    for s in design.streams:
        a = design.node_slrs.get(s.src, design.io_slr) if s.src != DMA else design.io_slr
        b = design.node_slrs.get(s.dst, design.io_slr) if s.dst != DMA else design.io_slr
        for boundary in range(min(a, b), max(a, b)):
            used[boundary] += s.src_width + 2
    budget = list(platform.sll_per_boundary)
    return {
        "used": used,
        "budget": budget,
        "within_budget": all(u <= b for u, b in zip(used, budget, strict=False)),
        "split_units": list(plan.split_units),
    }


def plan_and_report(
    graph: Graph,
    build_dir: str | Path,
    platform: str = "u250",
    target_fps: float | str = "max",
    clock_mhz: float = 250.0,
    overrides: dict[str, dict[str, Any]] | None = None,
    limits: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Fold, size FIFOs, build the design and report it for a lowered ``graph`` (the
    pipeline's steps ``fold`` .. ``estimate``); writes ``folding_plan.json`` and
    ``report.json`` into ``build_dir`` and returns the report (``timing_s``: seconds taken)."""
    from alveoflow.compiler import pipeline
    from alveoflow.compiler.config import BuildConfig, parse_target

    out = Path(build_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = BuildConfig(
        platform=platform,
        clock_mhz=clock_mhz,
        target_fps=parse_target(target_fps),
        limits=dict(limits or {}),
        overrides=dict(overrides or {}),
    )
    t0 = time.perf_counter()
    plan = pipeline.fold(graph, config)
    t1 = time.perf_counter()
    plan, folded, fifo = pipeline.size_fifos(graph, plan, config)
    t2 = time.perf_counter()
    design = pipeline.physical_design(folded, plan, fifo, config)
    report = pipeline.estimate(design, plan, fifo, config)
    report["timing_s"] = {"plan": round(t1 - t0, 3), "fifo": round(t2 - t1, 3)}
    plan.save(out / "folding_plan.json")
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report
