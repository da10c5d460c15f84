"""An opened build directory: manifest + lowered graph + host/card split, checked together.

``open_build(build_dir)`` reads ``manifest.json`` (validated by ``compiler.buildfmt``) and
the lowered graph (its files hash-checked against the manifest), splits the graph into host
and card parts (``compiler.boundary.host_plan``) and checks that the manifest's input and
outputs describe the same tensors as the graph. A mismatch is a ``ConfigError`` asking to
recompile. The runtime only reads build directories.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alveoflow.compiler.boundary import HostPlan, host_plan
from alveoflow.compiler.buildfmt import Manifest, load_build_graph, read_manifest
from alveoflow.compiler.ir import Graph
from alveoflow.errors import ConfigError


@dataclass(frozen=True)
class Build:
    """Everything the runtime needs from a build directory."""

    dir: Path
    manifest: Manifest
    graph: Graph
    plan: HostPlan


def open_build(build_dir: str | os.PathLike[str]) -> Build:
    folder = Path(build_dir)
    manifest = read_manifest(folder)
    graph = load_build_graph(manifest)
    plan = host_plan(graph)
    check_consistent(manifest, plan)
    return Build(folder, manifest, graph, plan)


def check_consistent(manifest: Manifest, plan: HostPlan) -> None:
    """The manifest's input/outputs must be the graph's (name, per-frame shape, dtype)."""
    where = manifest.path
    user = plan.input.user
    spec = manifest.input
    if spec.name != user.name or tuple(spec.shape[1:]) != tuple(user.shape[1:]):
        raise ConfigError(
            f"{where}: input {spec.name}{list(spec.shape)} does not match the graph's "
            f"{user.name}{list(user.shape)}; recompile the build"
        )
    if np.dtype(spec.dtype) != plan.input.user_dtype:
        raise ConfigError(
            f"{where}: input dtype {spec.dtype} but the graph takes {plan.input.user_dtype}"
        )
    graph_outs = {o.name: o for o in plan.outputs}
    for out in manifest.outputs:
        stage = graph_outs.get(out.name)
        if stage is None:
            raise ConfigError(
                f"{where}: output {out.name!r} is not a graph output {sorted(graph_outs)}"
            )
        if stage.kind != out.kind:
            raise ConfigError(f"{where}: output {out.name} is {out.kind}, graph says {stage.kind}")
