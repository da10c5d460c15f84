"""``emit(design) -> {relative path: text or bytes}`` (the files of a build that the
``Design`` renders to) and ``write_tree``.

The emitted tree (all paths relative, no absolute path inside any file):

- ``hls/include/``: a copy of the HLS template library (``alveo*.hpp``) and ``af_glue.hpp``,
  so the directory builds on any machine with Vitis;
- ``hls/src/<ip>.cpp|.h``, ``hls/params/<ip>_params.h``: one IP per residual block (plus
  ``stem``, ``tail``), ``hls/src/inoutdma.cpp|.h``: the kernel top with the DMA;
- ``hls/cppsim/network.cpp``: the C-simulation harness (C ABI, used by the cppsim backend);
- ``weights/fc_weights.npy|.csv``: the external FC weights (int8, row-major);
- Tcl, kernel.xml, link cfg, floorplan and Makefile (``scripts``);
- ``design.json``: the design as generated (IPs, ports, streams, DMA, kernel arguments, taps,
  sources);
- optionally ``cppsim/csim/``: the C++ of the same network refolded for fast C simulation.

The same design gives byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.codegen.render import TEMPLATES, design_view, links, render_sources, taps
from alveoflow.compiler.codegen.scripts import render_scripts
from alveoflow.compiler.physical import Design
from alveoflow.hw.hls import INCLUDE_DIR

Files = dict[str, str | bytes]
FC_NPY = "weights/fc_weights.npy"
FC_CSV = "weights/fc_weights.csv"
CSIM_ROOT = "cppsim/csim"


def emit(design: Design, csim: Design | None = None) -> Files:
    """Every generated file of ``design``; with ``csim`` (the same network refolded for fast
    C simulation, ``codegen.csim``) also its C++ sources under ``cppsim/csim/``."""
    files: Files = {}
    files.update(emit_sources(design))
    files.update(render_scripts(design))
    fc = fc_weights(design)
    if fc is not None:
        files[FC_NPY] = pack.npy_bytes(fc)
        files[FC_CSV] = pack.fc_csv(fc)
    if csim is not None:
        files.update({f"{CSIM_ROOT}/{k}": v for k, v in emit_sources(csim).items()})
    return files


def emit_sources(design: Design) -> Files:
    """The C++ of ``design`` (library copy, IPs, DMA top, cppsim harness) and ``design.json``."""
    files: Files = {}
    for header in sorted(INCLUDE_DIR.glob("*.hpp")):
        files[f"hls/include/{header.name}"] = header.read_text()
    files["hls/include/af_glue.hpp"] = (TEMPLATES / "af_glue.hpp").read_text()
    files.update(render_sources(design))
    files["design.json"] = json.dumps(summary(design), indent=1, sort_keys=True) + "\n"
    return files


def fc_weights(design: Design) -> np.ndarray | None:
    """The external FC weights (int8, (classes, features)) of ``design``, if any."""
    if design.fc is None:
        return None
    node = design.graph.node(design.fc.node)
    return np.asarray(node.weights["weights"]).astype(np.int8)


def summary(d: Design) -> dict[str, Any]:
    """``design.json``: the design as the cppsim backend and the tests read it."""
    view = design_view(d)

    def port(p: Any) -> dict[str, Any]:
        return {"name": p.name, "tensor": p.tensor, "lanes": p.lanes, "width": p.width}

    def end(e: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "arg",
            "role",
            "tensor",
            "lanes",
            "frame_elems",
            "frame_bytes",
            "storage_bits",
            "shape",
        )
        out = {k: e[k] for k in keys}
        out.update(qtype=e["qtype"].name)
        return out

    return {
        "format": 2,
        "kernel": d.kernel,
        "clock_mhz": d.clock_mhz,
        "part": d.part,
        "shell": d.shell,
        "hw": d.hw,
        "kernel_args": [a.to_dict() for a in d.kernel_args],
        "ips": [
            {
                "name": ip.name,
                "top": ip.top,
                "slr": ip.slr,
                "block": ip.block,
                "nodes": list(ip.nodes),
                "inputs": [port(p) for p in ip.inputs],
                "outputs": [port(p) for p in ip.outputs],
                "fc_port": ip.fc_port,
            }
            for ip in d.ips
        ],
        "streams": [
            {
                "name": s.name,
                "tensor": s.tensor,
                "src": s.src,
                "dst": s.dst,
                "src_ip": s.src_ip,
                "dst_ip": s.dst_ip,
                "kind": s.kind,
                "depth": s.depth,
                "src_lanes": s.src_lanes,
                "dst_lanes": s.dst_lanes,
                "dwc": s.dwc,
                "slices": s.slices,
            }
            for s in d.streams
        ],
        "links": [s.name for s in links(d)],
        "dma": {"input": end(view["dma_in"]), "outputs": [end(o) for o in view["dma_outs"]]},
        "fc": None
        if d.fc is None
        else {
            "node": d.fc.node,
            "shape": list(d.fc.shape),
            "npy": FC_NPY,
            "csv": FC_CSV,
            "memory": d.fc.memory,
            "mem_w": d.fc.mem_w,
        },
        "taps": [
            {k: t[k] for k in ("tensor", "frame_elems", "shape", "qtype")} | {"ip": t["src"]}
            for t in taps(d)
        ],
        "cppsim": {
            "sources": ["hls/cppsim/network.cpp", "hls/src/inoutdma.cpp"]
            + [f"hls/src/{ip.name}.cpp" for ip in d.ips],
            "include_dirs": ["hls/include"],
            # quoted includes only (g++ -iquote): an IP named like a system header
            # ("features", "signal") must not shadow it
            "quote_dirs": ["hls/src", "hls/params"],
        },
    }


def write_tree(files: Mapping[str, str | bytes], out_dir: str | Path) -> list[Path]:
    """Write ``files`` under ``out_dir``; a file whose content is unchanged is left alone
    (its mtime too, so make and the cppsim cache see no change). Returns the paths written."""
    root = Path(out_dir)
    written = []
    for rel in sorted(files):
        data = files[rel]
        blob = data.encode() if isinstance(data, str) else data
        path = root / rel
        if path.is_file() and path.read_bytes() == blob:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
        written.append(path)
    return written
