"""Graph <-> files: ``graph.json`` (structure, op parameters, metadata) and ``weights.npz``.

Round trip is exact: ``load_graph(save_graph(g, d))`` equals ``g`` node for node, weight for
weight. Op classes are found by name in ``OP_TYPES`` (every ``Op`` subclass registers itself),
so the module defining an op must be imported before loading (``alveoflow.compiler.ir`` imports
all op modules).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.ir.core import OP_TYPES, Graph, Node, Op, TensorInfo
from alveoflow.compiler.ir.qtype import QType
from alveoflow.errors import GraphError

FORMAT_VERSION = 1


def _encode(value: Any) -> Any:
    if isinstance(value, QType):
        return {"qtype": value.name}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"qtype"}:
        return QType.parse(value["qtype"])
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def op_to_dict(op: Op) -> dict[str, Any]:
    fields = {f.name: _encode(getattr(op, f.name)) for f in dataclasses.fields(op)}  # type: ignore[arg-type]
    return {"kind": op.kind, "params": fields}


def op_from_dict(data: dict[str, Any]) -> Op:
    kind = data["kind"]
    if kind not in OP_TYPES:
        raise GraphError(f"unknown op kind {kind!r} in graph file")
    params = {k: _decode(v) for k, v in data["params"].items()}
    return OP_TYPES[kind](**params)


def _tensor_to_dict(t: TensorInfo) -> dict[str, Any]:
    return {"name": t.name, "shape": list(t.shape), "qtype": t.qtype.name, "layout": t.layout}


def _tensor_from_dict(d: dict[str, Any]) -> TensorInfo:
    return TensorInfo(d["name"], tuple(d["shape"]), QType.parse(d["qtype"]), d["layout"])


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """The JSON-able structure of ``graph`` (weights excluded; see ``save_graph``)."""
    return {
        "format": FORMAT_VERSION,
        "inputs": [_tensor_to_dict(t) for t in graph.inputs],
        "outputs": list(graph.outputs),
        "meta": dict(graph.meta),
        "nodes": [
            {
                "name": n.name,
                **op_to_dict(n.op),
                "inputs": list(n.inputs),
                "outputs": [_tensor_to_dict(t) for t in n.outputs],
                "weights": sorted(n.weights),
                **({"block": n.block} if n.block else {}),
            }
            for n in graph.nodes
        ],
    }


def graph_to_files(graph: Graph) -> tuple[str, bytes]:
    """The text of ``graph.json`` and the bytes of ``graph.npz`` of ``graph``."""
    arrays = {f"{n.name}/{k}": np.asarray(v) for n in graph.nodes for k, v in n.weights.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return json.dumps(graph_to_dict(graph), indent=1, sort_keys=False), buf.getvalue()


def graph_from_files(text: str, npz: bytes) -> Graph:
    """Inverse of ``graph_to_files``; verifies the graph (shapes, types, order)."""
    data = json.loads(text)
    if data.get("format") != FORMAT_VERSION:
        raise GraphError(
            f"graph file has format {data.get('format')}, expected {FORMAT_VERSION}; recompile"
        )
    with np.load(io.BytesIO(npz), allow_pickle=False) as arrays:
        weights = {k: arrays[k] for k in arrays.files}
    inputs = [_tensor_from_dict(t) for t in data["inputs"]]
    known = {t.name: t for t in inputs}
    nodes = []
    for nd in data["nodes"]:
        node = Node.create(
            nd["name"],
            op_from_dict(nd),
            [known[t] for t in nd["inputs"]],
            [t["name"] for t in nd["outputs"]],
            {k: weights[f"{nd['name']}/{k}"] for k in nd["weights"]},
            nd.get("block", ""),
        )
        known.update((t.name, t) for t in node.outputs)
        nodes.append(node)
    return Graph.build(inputs, nodes, data["outputs"], data["meta"])


def save_graph(graph: Graph, directory: str | os.PathLike[str], stem: str = "graph") -> Path:
    """Write ``<stem>.json`` and ``<stem>.npz`` into ``directory`` atomically; returns the .json."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    text, npz = graph_to_files(graph)
    _atomic_write(out / f"{stem}.npz", npz)
    _atomic_write(out / f"{stem}.json", text.encode())
    return out / f"{stem}.json"


def load_graph(directory: str | os.PathLike[str], stem: str = "graph") -> Graph:
    """Read a graph written by ``save_graph``; verifies it (shapes, types, order)."""
    folder = Path(directory)
    try:
        text = (folder / f"{stem}.json").read_text()
        npz = (folder / f"{stem}.npz").read_bytes()
        return graph_from_files(text, npz)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise GraphError(f"cannot read graph from {folder}: {err}") from None


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file (permissions follow the umask)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
