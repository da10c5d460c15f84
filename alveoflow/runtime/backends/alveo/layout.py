"""Writing the card-facing part of a build directory.

``write_card_files(build_dir, graph, ...)`` writes the FC weights file (int8, (classes,
features), the layout the kernel reads from PLRAM/DDR) and returns the manifest ``card``
section that describes it (see ``runtime.manifest``). ``manifest_io(graph)`` returns the
manifest's ``input``/``outputs`` sections for a lowered graph. ``write_build(build_dir,
graph, card=True)`` writes a complete minimal build directory (graph, manifest, FC
weights): what tests and the emulated card use; the compiler writes the same fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.ir import Graph, save_graph
from alveoflow.errors import ConfigError
from alveoflow.runtime.manifest import MANIFEST_FORMAT
from alveoflow.runtime.packing import host_plan

DEFAULT_BANKS = {"input": "bank0", "output": "bank0", "fc_weights": "PLRAM0"}


def manifest_io(graph: Graph) -> dict[str, Any]:
    """``{"input": ..., "outputs": [...]}`` of the manifest for ``graph``."""
    plan = host_plan(graph)
    user = plan.input.user
    outputs = []
    for stage in plan.outputs:
        info = graph.tensor(stage.name)
        dtype = "float32" if stage.kind == "logits" else "int64"
        if stage.kind == "codes":
            raise ConfigError(f"output {stage.name} is neither logits nor top-k")
        outputs.append(
            {"name": stage.name, "shape": list(info.shape), "dtype": dtype, "kind": stage.kind}
        )
    layout = user.layout if user.layout in ("NCHW", "NHWC", "NC") else "NC"
    return {
        "input": {
            "name": user.name,
            "shape": list(user.shape),
            "dtype": plan.input.user_dtype.name,
            "layout": layout,
        },
        "outputs": outputs,
    }


def write_card_files(
    build_dir: str | Path,
    graph: Graph,
    *,
    xclbin: str = "alveoflow.xclbin",
    kernel: str = "alveoflow_1",
    banks: dict[str, str] | None = None,
    max_batch: int = 1000,
    args: list[str] | None = None,
) -> dict[str, Any]:
    """Write ``fc_weights.npy`` (when the graph keeps FC weights in card memory) and return
    the manifest ``card`` section."""
    plan = host_plan(graph)
    fc_file = None
    if plan.fc_node is not None:
        weights = np.asarray(graph.node(plan.fc_node).weights["weights"])
        if weights.min() < -128 or weights.max() > 127:
            raise ConfigError(f"{plan.fc_node}: FC weights do not fit int8")
        fc_file = "fc_weights.npy"
        np.save(Path(build_dir) / fc_file, weights.astype(np.int8))
    card: dict[str, Any] = {
        "xclbin": xclbin,
        "kernel": kernel,
        "banks": dict(banks or DEFAULT_BANKS),
        "fc_weights_file": fc_file,
        "max_batch": max_batch,
    }
    if args is not None:
        card["args"] = list(args)
    return card


def write_build(build_dir: str | Path, graph: Graph, card: bool = True, **card_opts: Any) -> Path:
    """A minimal build directory for ``graph``; returns its path."""
    folder = Path(build_dir)
    folder.mkdir(parents=True, exist_ok=True)
    save_graph(graph, folder)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        **manifest_io(graph),
        "nodes": [],
        "hashes": {},
    }
    if card:
        manifest["card"] = write_card_files(folder, graph, **card_opts)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder
