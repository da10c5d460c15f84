"""Code generation for a build directory written by ``alveoflow compile``.

``design_inputs(build_dir)`` reads ``graph.json``/``graph.npz`` (the lowered graph),
``folding_plan.json`` (optional: folding, SLRs, clock, shell) and ``report.json`` (optional:
sized FIFO depths) and returns the folded graph, the plan dict and the depths.
``generate(build_dir, platform)`` emits every file into the directory (``write_tree``) and
returns the emitted file names. Without a plan everything sits in SLR0 at 250 MHz with the
default FIFO depths, and the graph's own folding is used.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from alveoflow.compiler.codegen.emit import emit, write_tree
from alveoflow.compiler.ir import Graph, load_graph
from alveoflow.errors import ConfigError

log = logging.getLogger(__name__)
PLAN_FILE = "folding_plan.json"
REPORT_FILE = "report.json"


def design_inputs(
    build_dir: str | Path,
) -> tuple[Graph, dict[str, Any] | None, dict[tuple[str, str], int]]:
    root = Path(build_dir)
    if not (root / "graph.json").is_file():
        raise ConfigError(
            f"{root} is not a build directory (no graph.json); create one with "
            f"`alveoflow compile MODEL.onnx --out {root}`"
        )
    graph = load_graph(root)
    plan: dict[str, Any] | None = None
    if (root / PLAN_FILE).is_file():
        from alveoflow.compiler.folding import FoldingPlan, apply_plan

        plan = json.loads((root / PLAN_FILE).read_text())
        graph = apply_plan(graph, FoldingPlan.from_dict(dict(plan)))
    else:
        log.warning("%s has no %s: using the graph's folding, SLR0, 250 MHz", root, PLAN_FILE)
    depths: dict[tuple[str, str], int] = {}
    if (root / REPORT_FILE).is_file():
        report = json.loads((root / REPORT_FILE).read_text())
        for row in report.get("fifos", []):
            depths[(str(row["tensor"]), str(row["consumer"]))] = int(row["depth"])
    return graph, plan, depths


def generate(
    build_dir: str | Path, platform: str | None = None, clock_mhz: float | None = None
) -> list[str]:
    """Emit and write the design of ``build_dir``; returns the emitted file names."""
    graph, plan, depths = design_inputs(build_dir)
    plan = dict(plan or {})
    if platform is not None:
        from alveoflow.hw.platforms import load_platform

        plat = load_platform(platform)
        plan["part"] = plat.part
        if plan.get("platform") not in (None, platform):
            plan["shell"] = plat.default_shell
        plan.setdefault("shell", plat.default_shell)
    if clock_mhz is not None:
        plan["clock_mhz"] = clock_mhz
    files = emit(graph, plan, depths)
    write_tree(files, build_dir)
    return sorted(files)
