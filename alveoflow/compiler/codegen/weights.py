"""Export the parameters of a design: per-IP weight/threshold headers and the FC weights.

``export_files(graph, plan, depths)`` -> ``{name: content}`` and ``{name: layers}`` for
every ``<ip>_params.h`` and the FC weight files of the generated design;
``export_weights(build_dir, out)`` writes them for a build directory and returns rows
``(file, bytes, layers)``; ``format_table`` prints those rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alveoflow.compiler.codegen.emit import FC_CSV, FC_NPY, emit
from alveoflow.compiler.ir import Graph, hw

Row = tuple[str, int, str]


def export_files(
    graph: Graph,
    plan: Mapping[str, Any] | None = None,
    depths: Mapping[tuple[str, str], int] | None = None,
) -> tuple[dict[str, str | bytes], dict[str, str]]:
    files = emit(graph, plan, depths)
    info = json.loads(str(files["codegen.json"]))
    out: dict[str, str | bytes] = {}
    layers: dict[str, str] = {}
    param_kinds = (hw.MVAU, hw.VVAU, hw.Thresholding, hw.SlidingWindow)
    for ip in info["ips"]:
        name = Path(ip["params"]).name
        out[name] = files[ip["params"]]
        held = [
            n
            for n in ip["nodes"]
            if isinstance(graph.node(n).op, param_kinds)
            and graph.node(n).weights
            and not getattr(graph.node(n).op, "external_weights", False)
        ]
        layers[name] = ", ".join(held) or "-"
    if info["fc"] is not None:
        for key in (FC_NPY, FC_CSV):
            name = Path(key).name
            out[name] = files[key]
            layers[name] = f"{info['fc']['node']} {tuple(info['fc']['shape'])} int8"
    return out, layers


def export_weights(build_dir: str | Path, out_dir: str | Path) -> list[Row]:
    from alveoflow.compiler.codegen.builddir import design_inputs

    graph, plan, depths = design_inputs(build_dir)
    files, layers = export_files(graph, plan, depths)
    return write_rows(files, layers, out_dir)


def write_rows(
    files: Mapping[str, str | bytes], layers: Mapping[str, str], out_dir: str | Path
) -> list[Row]:
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
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
