"""The ``Design`` of a build directory, rebuilt from what the build recorded.

``design_of_build(build_dir) -> (Design, Manifest)``: the folded graph (``graph.json``,
checked against the manifest's hashes), the folding plan (``folding_plan.json``), the FIFO
depths as sized (``report.json`` ``fifos``) and the settings (``manifest.json`` ``config``)
go through the same ``physical.build_design`` the compiler ran, and the result is checked
against ``design.json`` (IP names and nodes) and ``report.json`` (every stream's depth), so a
build written by another version is refused with a ``ConfigError`` instead of being
synthesised as something else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from alveoflow.compiler import buildfmt
from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.folding import FoldingPlan
from alveoflow.compiler.physical import Design, Layout, build_design
from alveoflow.errors import ConfigError
from alveoflow.hw.platforms import load_platform

RECOMPILE = "recompile it with `alveoflow compile`"


def _json(manifest: buildfmt.Manifest, rel: str) -> Any:
    return json.loads(buildfmt.verified(manifest, rel).read_text())


def design_of_build(build_dir: str | os.PathLike[str]) -> tuple[Design, buildfmt.Manifest]:
    """The design ``alveoflow compile`` made for ``build_dir`` (see the module docstring)."""
    manifest = buildfmt.read_manifest(build_dir)
    root = Path(build_dir)
    for rel in ("folding_plan.json", "report.json", "design.json"):
        if rel not in manifest.files:
            raise ConfigError(f"{root} has no {rel}; {RECOMPILE}")
    graph = buildfmt.load_build_graph(manifest)
    plan = FoldingPlan.from_dict(_json(manifest, "folding_plan.json"))
    report = _json(manifest, "report.json")
    config = BuildConfig.from_mapping(dict(manifest.raw["config"]))
    platform = load_platform(config.platform, dict(config.limits) or None)
    depths = {(f["tensor"], f["consumer"]): int(f["depth"]) for f in report["fifos"]}
    layout = Layout.from_plan(plan, platform.part, config.hw.value)
    design = build_design(graph, layout, depths)
    _check_same(design, _json(manifest, "design.json"), depths, root)
    return design, manifest


def _check_same(
    design: Design, recorded: dict[str, Any], depths: dict[tuple[str, str], int], root: Path
) -> None:
    ips = {ip.name: list(ip.nodes) for ip in design.ips}
    written = {ip["name"]: list(ip["nodes"]) for ip in recorded["ips"]}
    if ips != written:
        raise ConfigError(f"{root}: the design rebuilt from the build has other IPs; {RECOMPILE}")
    for s in design.streams:
        if depths.get((s.tensor, s.dst), s.depth) != s.depth:
            raise ConfigError(f"{root}: stream {s.name} has another FIFO depth; {RECOMPILE}")
