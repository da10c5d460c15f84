"""The content of ``manifest.json`` (the format itself is ``compiler.buildfmt``).

``build_manifest(graph, design, config, source)`` returns the manifest of a build: the model
name and ONNX metadata, the ``BuildConfig``, the graph's input and outputs as the host sees
them (``manifest_io``, from ``compiler.boundary``), a per-node summary (``node_summary``,
also the CLI's per-layer table), the source model's hash, and the ``card`` section written
from the ``Design``: the kernel name, its arguments in call order (named as in
``kernel.xml``), the FC weights file, the buffer capacity and no xclbin (``alveoflow build``
records one once it is linked). ``BuildWriter.commit`` adds the format and the file hashes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from alveoflow import __version__
from alveoflow.compiler.boundary import host_plan
from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.ir import Graph, Node, QType, hw
from alveoflow.compiler.ir.serialize import graph_to_files
from alveoflow.errors import ConfigError

KERNEL_XML = "vivado/kernel.xml"
FC_WEIGHTS = "weights/fc_weights.npy"


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
        "block": node.block,
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


def manifest_io(graph: Graph) -> dict[str, Any]:
    """``{"input": ..., "outputs": [...]}`` of the manifest for ``graph``."""
    plan = host_plan(graph)
    user = plan.input.user
    outputs = []
    for stage in plan.outputs:
        if stage.kind == "codes":
            raise ConfigError(f"output {stage.name} is neither logits nor top-k")
        info = graph.tensor(stage.name)
        dtype = "float32" if stage.kind == "logits" else "int64"
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


def source_hash(source: Any) -> str:
    """SHA-256 of the model a build was made from (file, ONNX proto, or lowered graph)."""
    if isinstance(source, Graph):
        text, npz = graph_to_files(source)
        return hashlib.sha256(text.encode() + npz).hexdigest()
    if isinstance(source, onnx.ModelProto):
        return hashlib.sha256(source.SerializeToString()).hexdigest()
    digest = hashlib.sha256()
    with open(Path(os.fspath(source)), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_section(design: Any, config: BuildConfig) -> dict[str, Any]:
    """How the host calls the kernel of ``design`` (see the module docstring)."""
    return {
        "kernel": design.kernel,
        "compute_unit": f"{design.kernel}_1",
        "kernel_args": [a.to_dict() for a in design.kernel_args],
        "kernel_xml": KERNEL_XML,
        "fc_weights_file": FC_WEIGHTS if design.fc is not None else None,
        "max_batch": config.max_batch,
        "platform": design.platform,
        "xclbin": None,
    }


def build_manifest(graph: Graph, design: Any, config: BuildConfig, source: Any) -> dict[str, Any]:
    """The manifest of a build (see the module docstring)."""
    metadata = dict(graph.meta.get("metadata", {}))
    name = metadata.get("alveoflow.model") or Path(str(graph.meta.get("source", "model"))).stem
    manifest: dict[str, Any] = {
        "alveoflow_version": __version__,
        "model": {"name": name, "metadata": metadata},
        "config": config.to_dict(),
        **manifest_io(graph),
        "nodes": [node_summary(graph, n) for n in graph.nodes],
        "hashes": {"source": source_hash(source)},
    }
    if design is not None:
        manifest["card"] = card_section(design, config)
    return manifest
