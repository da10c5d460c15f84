"""``manifest.json`` of a build directory, as written by ``alveoflow compile``.

Format 1 (read back by ``alveoflow.runtime.manifest``)::

    {"format": 1, "alveoflow_version": str,
     "model": {"name": str, "metadata": {ONNX metadata_props}},
     "input": {"name", "shape", "dtype": "float32" | "uint8", "layout": "NCHW" | "NHWC" | "NC"},
     "outputs": [{"name", "shape", "dtype", "kind": "logits" | "topk"}],  (runtime's manifest_io)
     "nodes": [{"name", "kind", "in_shape", "out_shape", "idt", "wdt", "odt", "macs"}],
     "hashes": {"graph": sha256 of graph.json + graph.npz, "source": sha256 of the ONNX file}}

Shapes have batch 1 first. ``node_summary`` also feeds the CLI's per-layer table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow import __version__
from alveoflow.compiler.ir import Graph, Node, QType, hw, save_graph
from alveoflow.runtime.backends.alveo.layout import manifest_io, write_card_files

FORMAT = 1


def node_macs(node: Node) -> int:
    """Multiply-accumulates per frame of an MVAU/VVAU (0 for other ops)."""
    op, out = node.op, node.outputs[0]
    pixels = int(np.prod(out.shape[1:-1], dtype=np.int64))
    if isinstance(op, hw.MVAU):
        return op.mw * op.mh * pixels
    if isinstance(op, hw.VVAU):
        return op.channels * op.kernel_elems * pixels
    return 0


def _type_name(value: Any) -> str | None:
    return value.name if isinstance(value, QType) else None


def node_summary(graph: Graph, node: Node) -> dict[str, Any]:
    op = node.op
    inputs = graph.input_infos(node)
    params = {f: getattr(op, f, None) for f in ("idt", "wdt", "odt", "dt")}
    idt = params["idt"] or params["dt"] or (inputs[0].qtype if inputs else None)
    return {
        "name": node.name,
        "kind": op.kind,
        "in_shape": list(inputs[0].shape) if inputs else [],
        "out_shape": list(node.outputs[0].shape),
        "idt": _type_name(idt),
        "wdt": _type_name(params["wdt"]),
        "odt": _type_name(params["odt"] or node.outputs[0].qtype),
        "macs": node_macs(node),
    }


def weight_bits(graph: Graph) -> int:
    """Bits of all MVAU/VVAU weights."""
    total = 0
    for node in graph.nodes:
        if isinstance(node.op, hw.MVAU | hw.VVAU):
            total += int(node.weights["weights"].size) * node.op.wdt.bits
    return total


def sha256_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def build_manifest(graph: Graph, graph_hash: str, source_hash: str) -> dict[str, Any]:
    """The manifest of a lowered ``graph`` (see the module docstring)."""
    metadata = dict(graph.meta.get("metadata", {}))
    name = metadata.get("alveoflow.model") or Path(str(graph.meta.get("source", "model"))).stem
    return {
        "format": FORMAT,
        "alveoflow_version": __version__,
        "model": {"name": name, "metadata": metadata},
        **manifest_io(graph),  # the runtime's own reading of the graph's boundary
        "nodes": [node_summary(graph, n) for n in graph.nodes],
        "hashes": {"graph": graph_hash, "source": source_hash},
    }


def write_build(graph: Graph, folder: Path, source: Path) -> dict:
    """Write graph.json/graph.npz/manifest.json into ``folder``; returns the manifest."""
    save_graph(graph, folder, stem="graph")
    graph_hash = sha256_files([folder / "graph.json", folder / "graph.npz"])
    manifest = build_manifest(graph, graph_hash, sha256_files([source]))
    # How the kernel's buffers are linked (banks, FC weights in PLRAM): what the card driver
    # and the emulated card read; the link stage (``alveoflow build``) uses the same section.
    manifest["card"] = write_card_files(folder, graph)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
