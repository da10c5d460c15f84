"""``synth_build(build_dir)``: Yosys figures per IP of a build, written to ``synth/synth.json``.

Two ways to an IP's figures, chosen per IP:

- ``rtl``: the build has RTL sources (``BUILD/rtl/*.sv``, from ``--hw rtl`` code generation)
  defining the IP's top module (``IP.top``, ``af_<ip>``): Yosys synthesises that module
  (flattened, its ``$readmemh`` paths relative to ``rtl/``, which is copied to a scratch
  folder first).
- ``ops``: otherwise the sum of the out-of-context syntheses of its parts
  (``parts.design_parts``: every op with the design's choices, every FIFO and converter),
  each op configuration synthesised once (``parts.config_key``).

``synth.json`` (a tool output in its own folder, not a build file: not in the manifest,
written atomically)::

    {"tool": "Yosys 0.23 ...", "flow": "synth_xilinx -family xcup ...", "counting": "...",
     "ips": {ip: {lut, ff, carry, bram36, uram, dsp}}, "kernel": {...DMA ends...},
     "total": {...ips + kernel...}, "method": {ip: "rtl" | "ops"},
     "estimate": {ip: {lut, ff, bram36, uram, dsp}, "kernel": {...}} (the same design priced
     by ``estimate_design``), "parts": {ip: [{name, kind, config}]},
     "configs": {key: {label, module, seconds, cached, nodes, ...counts}},
     "missing": [nodes without an RTL module], "design": {file: sha256}, "seconds", "jobs"}

The figures are Yosys' (``hw.rtl.yosys``' counting), not Vivado's; how far Vivado's differ is
unknown until someone runs it on the same RTL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alveoflow.compiler.estimate.model import estimate_design
from alveoflow.compiler.estimate.resources import Cost
from alveoflow.compiler.physical import Design
from alveoflow.compiler.synth.design import design_of_build
from alveoflow.compiler.synth.parts import Part, config_key, design_parts
from alveoflow.compiler.synth.runner import Measured, synth_configs, synth_sources
from alveoflow.hw.rtl import tools, yosys

SYNTH_DIR = "synth"
SYNTH_JSON = "synth.json"
KERNEL = "kernel"  # the DMA ends: in no IP
DESIGN_FILES = ("graph.json", "folding_plan.json", "report.json")
NOTE = (
    "Yosys' counts (LUT functions, FFs, CARRY8 sites, BRAM36, URAM, DSP48E2), not Vivado's; "
    "how far Vivado's differ is unknown until someone runs Vivado on the same RTL."
)
_MODULE = re.compile(r"^\s*module\s+(\w+)", re.MULTILINE)


def _zero() -> dict[str, float]:
    return dict.fromkeys(yosys.KEYS, 0.0)


def _add(into: dict[str, float], counts: Mapping[str, float]) -> None:
    for k in yosys.KEYS:
        into[k] += counts[k]


def rtl_tops(build_dir: Path) -> dict[str, Path]:
    """Module name -> file of every module the build's generated RTL defines."""
    folder = build_dir / "rtl"
    if not folder.is_dir():
        return {}
    tops: dict[str, Path] = {}
    for path in sorted(folder.glob("*.sv")):
        for name in _MODULE.findall(path.read_text()):
            tops[name] = path
    return tops


def _estimate_per_ip(design: Design) -> dict[str, dict[str, float]]:
    """The estimate of each IP: its nodes with the FIFOs and converters they read; what
    belongs to no IP (the DMA engines) under ``kernel``."""
    owner = {n: ip.name for ip in design.ips for n in ip.nodes}
    sums: dict[str, Cost] = {ip.name: Cost() for ip in design.ips}
    sums[KERNEL] = Cost()
    for pieces in estimate_design(design).per_node().values():
        for name, cost in pieces:
            key = owner.get(name, KERNEL)
            sums[key] = sums[key] + cost
    return {k: {f: round(v, 1) for f, v in c.as_dict().items()} for k, c in sums.items()}


def _expected_sizes(design: Design, parts: list[Part], exact: bool) -> dict[str, float]:
    """Configuration -> estimated LUTs of its op (Yosys' time grows with it)."""
    luts = {n.name: n.cost.lut for n in estimate_design(design).nodes}
    return {config_key(p.inst, exact): luts.get(p.name, 0.0) for p in parts}


def _ops_figures(
    parts: list[Part], measured: Mapping[str, Measured], exact: bool
) -> tuple[dict[str, dict[str, float]], dict[str, list[dict[str, str]]]]:
    figures: dict[str, dict[str, float]] = {}
    listing: dict[str, list[dict[str, str]]] = {}
    for part in parts:
        owner = part.ip or KERNEL
        key = config_key(part.inst, exact)
        _add(figures.setdefault(owner, _zero()), measured[key].counts)
        listing.setdefault(owner, []).append({"name": part.name, "kind": part.kind, "config": key})
    return figures, listing


def _configs(
    parts: list[Part], measured: Mapping[str, Measured], exact: bool
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        key = config_key(part.inst, exact)
        if key not in out:
            m = measured[key]
            out[key] = {
                "label": part.inst.label,
                "module": part.inst.module,
                **m.counts,
                "seconds": round(m.seconds, 2),
                "cached": m.cached,
                "parts": [],
            }
        out[key]["parts"].append(part.name)
    return out


def _rtl_figures(
    build_dir: Path, design: Design, work: Path, exe: str, timeout: float
) -> dict[str, tuple[dict[str, float], float]]:
    """IP -> (Yosys figures, seconds) for every IP whose top the build's RTL defines."""
    tops = rtl_tops(build_dir)
    wanted = [ip for ip in design.ips if ip.top in tops]
    if not wanted:
        return {}
    folder = work / "rtl"
    shutil.copytree(build_dir / "rtl", folder)
    sources = sorted(folder.glob("*.sv"))
    out = {}
    for ip in wanted:
        m = synth_sources(ip.top, sources, folder, exe, timeout)
        out[ip.name] = (m.counts, m.seconds)
    return out


def synth_build(
    build_dir: str | os.PathLike[str],
    jobs: int | None = None,
    exact: bool = False,
    use_cache: bool = True,
    timeout: float = 3600.0,
    progress: bool = True,
) -> dict[str, Any]:
    """Synthesise the design of ``build_dir`` with Yosys and write ``synth/synth.json``
    (see the module docstring); returns its contents."""
    root = Path(build_dir)
    exe = tools.require_tool("yosys")
    design, manifest = design_of_build(root)
    start = time.perf_counter()
    jobs = jobs or os.cpu_count() or 1
    (root / SYNTH_DIR).mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=root / SYNTH_DIR))
    rtl = _rtl_figures(root, design, work, exe, timeout)
    parts, missing = design_parts(design)
    parts = [p for p in parts if p.ip not in rtl]
    instances = {config_key(p.inst, exact): p.inst for p in parts}
    order = _expected_sizes(design, parts, exact)
    measured = synth_configs(instances, work, jobs, use_cache, timeout, order, progress)
    shutil.rmtree(work, ignore_errors=True)  # kept on failure: the failed run's log is there
    figures, listing = _ops_figures(parts, measured, exact)
    for ip, (counts, _) in rtl.items():
        figures[ip] = dict(counts)
    result = _result(design, figures, listing, rtl, missing, exe)
    result["configs"] = _configs(parts, measured, exact)
    result["design"] = {rel: manifest.files[rel] for rel in DESIGN_FILES}
    result.update(seconds=round(time.perf_counter() - start, 1), jobs=jobs, exact=exact)
    write_json(root / SYNTH_DIR / SYNTH_JSON, result)
    return result


def _result(
    design: Design,
    figures: dict[str, dict[str, float]],
    listing: dict[str, list[dict[str, str]]],
    rtl: Mapping[str, tuple[dict[str, float], float]],
    missing: list[str],
    exe: str,
) -> dict[str, Any]:
    ips = {ip.name: figures.get(ip.name, _zero()) for ip in design.ips}
    kernel = figures.get(KERNEL, _zero())
    total = _zero()
    for counts in [*ips.values(), kernel]:
        _add(total, counts)
    return {
        "tool": tools.tool_version(exe),
        "flow": yosys.SYNTH,
        "counting": "alveoflow.hw.rtl.yosys: " + NOTE,
        "ips": ips,
        "kernel": kernel,
        "total": total,
        "method": {ip: "rtl" if ip in rtl else "ops" for ip in ips},
        "estimate": _estimate_per_ip(design),
        "parts": listing,
        "missing": missing,
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON at ``path`` atomically (a temporary file moved in)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_synth(build_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``synth/synth.json`` of ``build_dir``, or None when there is none."""
    path = Path(build_dir) / SYNTH_DIR / SYNTH_JSON
    return json.loads(path.read_text()) if path.is_file() else None
