"""``emit(graph, plan, fifo_depths) -> {relative path: text or bytes}`` and ``write_tree``.

The emitted tree (all paths relative, no absolute path inside any file):

- ``hls/include/``: a copy of the HLS template library (``alveo*.hpp``) and ``af_glue.hpp``,
  so the directory builds on any machine with Vitis;
- ``hls/src/<ip>.cpp|.h``, ``hls/params/<ip>_params.h``: one IP per residual block (plus
  ``stem``, ``tail``), ``hls/src/inoutdma.cpp|.h``: the kernel top with the DMA;
- ``hls/cppsim/network.cpp``: the C-simulation harness (C ABI, used by the cppsim backend);
- ``weights/fc_weights.npy|.csv``: the external FC weights (int8, row-major);
- Tcl, kernel.xml, link cfg, floorplan and Makefile (``scripts``);
- ``codegen.json``: what was generated (IPs, ports, links, DMA, taps, sources).

The same graph, plan and depths give byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.codegen.design import Design, build_design
from alveoflow.compiler.codegen.render import TEMPLATES, render_sources, taps
from alveoflow.compiler.codegen.scripts import render_scripts
from alveoflow.compiler.ir import Graph
from alveoflow.hw.hls import INCLUDE_DIR

Files = dict[str, str | bytes]
FC_NPY = "weights/fc_weights.npy"
FC_CSV = "weights/fc_weights.csv"


def emit(
    graph: Graph,
    plan: Mapping[str, Any] | None = None,
    fifo_depths: Mapping[tuple[str, str], int] | None = None,
) -> Files:
    """Every generated file of the design of ``graph`` (folding read from its ops; ``plan``:
    a folding plan dict for SLRs, clock, shell; ``fifo_depths`` keyed (tensor, consumer))."""
    design = build_design(graph, plan, fifo_depths)
    files: Files = {}
    for header in sorted(INCLUDE_DIR.glob("*.hpp")):
        files[f"hls/include/{header.name}"] = header.read_text()
    files["hls/include/af_glue.hpp"] = (TEMPLATES / "af_glue.hpp").read_text()
    files.update(render_sources(design))
    files.update(render_scripts(design))
    if design.fc_weights is not None:
        files[FC_NPY] = pack.npy_bytes(design.fc_weights)
        files[FC_CSV] = pack.fc_csv(design.fc_weights)
    files["codegen.json"] = json.dumps(summary(design), indent=1, sort_keys=True) + "\n"
    return files


def summary(d: Design) -> dict[str, Any]:
    def port(p: Any) -> dict[str, Any]:
        return {
            "name": p.name,
            "tensor": p.tensor,
            "lanes": p.lanes,
            "width": p.width,
            "qtype": p.qtype.name,
        }

    def end(e: Any) -> dict[str, Any]:
        return {
            "arg": e.arg,
            "tensor": e.tensor,
            "qtype": e.qtype.name,
            "shape": list(e.shape),
            "frame_elems": e.frame_elems,
            "frame_bytes": e.frame_bytes,
            "lanes": e.lanes,
            "storage_bits": e.storage_bits,
        }

    return {
        "format": 1,
        "kernel": d.kernel,
        "clock_mhz": d.clock_mhz,
        "part": d.part,
        "shell": d.shell,
        "ips": [
            {
                "name": ip.name,
                "top": ip.top,
                "slr": d.slr[ip.name],
                "block": d.blocks.get(ip.name, ip.name),
                "nodes": [n.name for n in ip.nodes],
                "inputs": [port(p) for p in ip.inputs],
                "outputs": [port(p) for p in ip.outputs],
                "source": f"hls/src/{ip.name}.cpp",
                "params": f"hls/params/{ip.name}_params.h",
                "wmem_bits": ip.wmem_bits,
            }
            for ip in d.ips
        ],
        "links": [
            {
                "tensor": lk.tensor,
                "src": lk.src,
                "dst": lk.dst,
                "depth": lk.depth,
                "src_width": lk.src_width,
                "dst_width": lk.dst_width,
            }
            for lk in d.links
        ],
        "dma": {"input": end(d.dma_in), "outputs": [end(o) for o in d.dma_outs]},
        "fc": None
        if d.fc_node is None
        else {
            "node": d.fc_node,
            "shape": list(d.fc_weights.shape),  # type: ignore[union-attr]
            "npy": FC_NPY,
            "csv": FC_CSV,
            "memory": d.fc_memory,
            "mem_w": d.fc_mem_w,
        },
        "taps": [
            {
                "tensor": t["tensor"],
                "ip": t["src"],
                "frame_elems": t["frame_elems"],
                "shape": t["shape"],
                "qtype": t["qtype"],
            }
            for t in taps(d)
        ],
        "cppsim": {
            "sources": ["hls/cppsim/network.cpp", "hls/src/inoutdma.cpp"]
            + [f"hls/src/{ip.name}.cpp" for ip in d.ips],
            "include_dirs": ["hls/include", "hls/src", "hls/params"],
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
