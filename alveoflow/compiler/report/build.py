"""``report.json``: what a folded design is estimated to do and cost, per layer and per SLR.

``build_report(graph, plan, fifo_result, platform)`` returns a JSON-able dict:

- ``estimate``: ``fps``, ``latency_ms`` (batch 1), ``clock_mhz``, ``ii_cycles``, ``bottleneck``,
  ``throughput`` per batch size, ``resources.total`` and ``resources.per_slr`` (one entry per
  SLR with the same keys, the ``fraction`` of that SLR, its ``budget`` and ``limit``),
  ``within_limits``, ``sll`` (wires used and budget per SLR boundary, the split units).
- ``layers``: per node ``cycles``, ``folding``, ``mem_style``, ``mac_style`` (the MAC unit's
  ``alveo::mul_style``, ``-`` for other nodes), ``lanes``, ``slr`` (the node's own SLR),
  ``unit_split`` (its residual block spans several SLRs), resources.
- ``floorplan``: the SLR ``walk``, ``units`` (unit -> SLR of its first node), ``unit_slrs``
  (unit -> SLRs in stream order), ``split_units``, ``nodes`` (node -> SLR).
- ``fifos``: depth and width of every stream FIFO.
- ``plan``: the folding plan itself.

``plan_and_report(graph, build_dir, ...)`` plans, sizes FIFOs and writes ``folding_plan.json``
and ``report.json`` into ``build_dir`` (what ``alveoflow compile`` calls).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from alveoflow.compiler.estimate.model import GraphEstimate, estimate_graph, tensor_widths
from alveoflow.compiler.fifo import FifoResult, size_fifos
from alveoflow.compiler.folding import FoldingPlan, apply_plan, plan_folding
from alveoflow.compiler.ir import Graph
from alveoflow.hw.platforms import RESOURCE_KEYS, Platform, load_platform

REPORT_VERSION = 1
REPLAN_ROUNDS = 2
log = logging.getLogger(__name__)


def _round(d: dict[str, float], nd: int = 1) -> dict[str, float]:
    return {k: round(float(v), nd) for k, v in d.items()}


def design_estimate(graph: Graph, plan: FoldingPlan, fifo: FifoResult | None) -> GraphEstimate:
    """The folded graph priced with the plan's memory styles and the sized FIFOs."""
    styles = {k: (str(v["style"]), int(v["pack"])) for k, v in plan.mem_styles.items()}
    depths = fifo.depths if fifo is not None else None
    return estimate_graph(graph, styles, depths, mac_styles=plan.mac_styles)


def per_slr(est: GraphEstimate, plan: FoldingPlan, platform: Platform) -> list[dict[str, Any]]:
    usage = [dict.fromkeys(RESOURCE_KEYS, 0.0) for _ in range(platform.num_slrs)]
    for unit, pieces in est.per_node().items():
        for name, cost in pieces:
            slr = _node_slr(plan, name, unit, platform)
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


def _node_slr(plan: FoldingPlan, node: str, unit: str, platform: Platform) -> int:
    if node in plan.node_slrs:
        return plan.node_slrs[node]
    return plan.slr.get(unit, platform.io_slr)


def build_report(
    graph: Graph, plan: FoldingPlan, fifo_result: FifoResult | None, platform: Platform
) -> dict[str, Any]:
    """The report dict (see module docstring). ``graph`` may be folded or not."""
    folded = apply_plan(graph, plan)
    est = design_estimate(folded, plan, fifo_result)
    slrs = per_slr(est, plan, platform)
    clock = plan.clock_mhz
    sll = _sll(folded, plan, platform)
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
        "model": str(graph.meta.get("model", "graph")),
        "platform": platform.to_dict(),
        "estimate": estimate,
        "layers": _layers(folded, est, plan, platform),
        "fifos": _fifos(folded, fifo_result),
        "floorplan": {
            "walk": plan.walk,
            "units": plan.slr,
            "unit_slrs": plan.unit_slrs or {u: [s] for u, s in plan.slr.items()},
            "split_units": plan.split_units,
            "nodes": {r.name: _node_slr(plan, r.name, r.unit, platform) for r in est.nodes},
        },
        "plan": plan.to_dict(),
    }


def _layers(
    graph: Graph, est: GraphEstimate, plan: FoldingPlan, platform: Platform
) -> list[dict[str, Any]]:
    out = []
    for row in est.nodes:
        if row.cycles == 0 and row.cost.lut == 0:
            continue
        out.append(
            {
                "name": row.name,
                "kind": row.kind,
                "unit": row.unit,
                "slr": _node_slr(plan, row.name, row.unit, platform),
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


def _fifos(graph: Graph, fifo: FifoResult | None) -> list[dict[str, Any]]:
    if fifo is None:
        return []
    widths = tensor_widths(graph)
    return [
        {"tensor": t, "consumer": c, "depth": d, "width_bits": widths.get(t, 0)}
        for (t, c), d in sorted(fifo.depths.items())
    ]


def _sll(graph: Graph, plan: FoldingPlan, platform: Platform) -> dict[str, Any]:
    """SLR-crossing wires per boundary: every stream between nodes in different SLRs,
    ``width + 2`` on each boundary it crosses (inside a split block, main and bypass)."""
    from alveoflow.compiler.estimate.model import unit_of

    widths = tensor_widths(graph)
    used = [0] * max(platform.num_slrs - 1, 0)
    for node in graph.nodes:
        for t in node.inputs:
            prod = graph.producer(t)
            if prod is None:
                continue
            a = _node_slr(plan, prod.name, unit_of(prod), platform)
            b = _node_slr(plan, node.name, unit_of(node), platform)
            for boundary in range(min(a, b), max(a, b)):
                used[boundary] += (widths.get(t, 0) or 64) + 2
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
    """Plan the folding, size the FIFOs, write ``folding_plan.json`` and ``report.json``
    into ``build_dir``; returns the report dict (its ``timing_s`` says how long each took)."""
    out = Path(build_dir)
    out.mkdir(parents=True, exist_ok=True)
    plat = load_platform(platform, limits)
    t0 = time.perf_counter()
    log.info("planning folding for %s (target %s FPS)", plat.name, target_fps)
    plan = plan_folding(graph, plat, target_fps, clock_mhz, overrides)
    t1 = time.perf_counter()
    log.info("sizing FIFOs with the dataflow model")
    folded = apply_plan(graph, plan)
    fifo = size_fifos(folded, clock_mhz)
    t2 = time.perf_counter()
    report = build_report(folded, plan, fifo, plat)
    for _ in range(REPLAN_ROUNDS):  # the sized FIFOs cost resources too: plan again with them
        if report["estimate"]["within_limits"]:
            break
        log.info("FIFOs push the design over a limit: planning again with their cost")
        plan = plan_folding(graph, plat, target_fps, clock_mhz, overrides, fifo_depths=fifo.depths)
        folded = apply_plan(graph, plan)
        fifo = size_fifos(folded, clock_mhz)
        report = build_report(folded, plan, fifo, plat)
    t2 = time.perf_counter()
    report["timing_s"] = {"plan": round(t1 - t0, 3), "fifo": round(t2 - t1, 3)}
    plan.save(out / "folding_plan.json")
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report
