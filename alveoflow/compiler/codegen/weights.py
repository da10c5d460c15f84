"""Export the parameters of a design: per-IP weight/threshold headers and the FC weights.

``export_files(design)`` -> ``{name: content}`` and ``{name: layers}`` for every
``<ip>_params.h`` and the FC weight files of the design; ``export_weights(build_dir, out)``
copies them from a build directory (each file checked against the manifest's hash) and
returns rows ``(file, bytes, layers)``; ``format_table`` prints those rows. Existing files in
``out`` are never overwritten unless ``force`` is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from alveoflow.compiler import buildfmt
from alveoflow.compiler.codegen.emit import FC_CSV, FC_NPY, emit
from alveoflow.compiler.ir import Graph, hw
from alveoflow.compiler.physical import Design
from alveoflow.errors import ConfigError

Row = tuple[str, int, str]
PARAM_KINDS = (hw.MVAU, hw.VVAU, hw.Thresholding, hw.SlidingWindow)


def _held(graph: Graph, nodes: list[str]) -> str:
    held = [
        n
        for n in nodes
        if isinstance(graph.node(n).op, PARAM_KINDS)
        and graph.node(n).weights
        and not getattr(graph.node(n).op, "external_weights", False)
    ]
    return ", ".join(held) or "-"


def _selection(info: dict, graph: Graph) -> tuple[dict[str, str], dict[str, str]]:
    """(export name -> build file, export name -> layers) of a design summary."""
    sources, layers = {}, {}
    for ip in info["ips"]:
        name = f"{ip['name']}_params.h"
        sources[name] = f"hls/params/{name}"
        layers[name] = _held(graph, ip["nodes"])
    if info["fc"] is not None:
        for key in (FC_NPY, FC_CSV):
            name = Path(key).name
            sources[name] = key
            layers[name] = f"{info['fc']['node']} {tuple(info['fc']['shape'])} int8"
    return sources, layers


def export_files(design: Design) -> tuple[dict[str, str | bytes], dict[str, str]]:
    files = emit(design)
    info = json.loads(str(files["design.json"]))
    sources, layers = _selection(info, design.graph)
    return {name: files[rel] for name, rel in sources.items()}, layers


def export_weights(build_dir: str | Path, out_dir: str | Path, force: bool = False) -> list[Row]:
    manifest = buildfmt.read_manifest(build_dir)
    graph = buildfmt.load_build_graph(manifest)
    info = json.loads(buildfmt.verified(manifest, "design.json").read_text())
    sources, layers = _selection(info, graph)
    files = {name: buildfmt.verified(manifest, rel).read_bytes() for name, rel in sources.items()}
    return write_rows(files, layers, out_dir, force)


def write_rows(
    files: Mapping[str, str | bytes],
    layers: Mapping[str, str],
    out_dir: str | Path,
    force: bool = False,
) -> list[Row]:
    root = Path(out_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create --out {root}: {err.strerror}") from None
    taken = sorted(name for name in files if (root / name).exists())
    if taken and not force:
        raise ConfigError(
            f"{root} already holds {', '.join(taken[:4])}; choose an empty folder or pass --force"
        )
    rows = []
    for name in sorted(files):
        data = files[name]
        blob = data.encode() if isinstance(data, str) else data
        (root / name).write_bytes(blob)
        rows.append((str(root / name), len(blob), layers[name]))
    return rows


def format_table(rows: list[Row], width: int = 60) -> str:
    head = f"{'file':<40} {'bytes':>12}  layers"
    lines = [head, "-" * len(head)]
    for path, size, held in rows:
        text = held if len(held) <= width else held[: width - 3] + "..."
        lines.append(f"{Path(path).name:<40} {size:>12,}  {text}")
    lines.append(f"{len(rows)} files, {sum(r[1] for r in rows):,} bytes")
    return "\n".join(lines)
