"""``synth_build(build_dir)``: Yosys figures per IP of a build, written to ``synth/synth.json``.

Per IP, one of two ways (``method``):

- ``rtl`` (the build has generated RTL, ``rtl/rtl.json``): each IP's module synthesised
  whole, and the network top with its IPs as black boxes (``rtl.rtl_jobs``), whose figures
  (the FIFOs and converters on streams between IPs, the DMA ends) are ``kernel``;
- ``ops`` (a build without RTL): the sum of the out-of-context syntheses of the IP's parts
  (``parts.design_parts``: its ops, the FIFOs and converters of the streams it reads), each
  configuration once; ``kernel`` is the DMA ends.

And out of context per op configuration (``ops``: each node's Yosys figures beside its
estimate; ``per_op=False`` skips them where the IPs come from RTL). Runs are parallel and
cached, and by default each distinct dot product is synthesised once (``runner.KEEP``;
``flat=True`` flattens everything, as the calibration sweeps do).

``synth.json`` (a tool output in its own folder, not a build file: not in the manifest,
written atomically)::

    {"tool": "Yosys 0.23 ...", "flow": "synth_xilinx -family xcup ...", "counting": "...",
     "ips": {ip: {lut, ff, carry, bram36, uram, dsp}}, "kernel": {...}, "kernel_is": "...",
     "total": {...ips + kernel...}, "method": "rtl" | "ops",
     "estimate": {ip: {lut, ff, bram36, uram, dsp}, "kernel": {...}} (the same design priced
     by ``estimate_design`` and split as the figures are),
     "ops": {node: {ip, config, label, ...Yosys counts, "estimate": {...}}},
     "seconds_per_ip": {ip: Yosys seconds}, "missing": [nodes without an RTL module],
     "design": {file: sha256 of the build file it was made from}, "seconds", "jobs", "exact"}

The figures are Yosys' (``hw.rtl.yosys``' counting), not Vivado's; how far Vivado's differ is
unknown until someone runs it on the same RTL.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alveoflow.compiler.estimate.model import GraphEstimate, estimate_design
from alveoflow.compiler.estimate.resources import Cost
from alveoflow.compiler.physical import Design
from alveoflow.compiler.synth.design import design_of_build
from alveoflow.compiler.synth.parts import Part, config_key, design_parts
from alveoflow.compiler.synth.rtl import LINKS, rtl_jobs
from alveoflow.compiler.synth.runner import (
    KEEP,
    Counts,
    Job,
    Measured,
    flow,
    instance_job,
    run_jobs,
)
from alveoflow.hw.rtl import tools, yosys

SYNTH_DIR = "synth"
SYNTH_JSON = "synth.json"
KERNEL = "kernel"  # what is in no IP
DESIGN_FILES = ("graph.json", "folding_plan.json", "report.json")
KERNEL_IS = {
    "rtl": "the network top without its IPs: FIFOs and converters between IPs, DMA ends",
    "ops": "the DMA ends",
}
NOTE = (
    "Yosys' counts (LUT functions, FFs, CARRY8 sites, BRAM36, URAM, DSP48E2), not Vivado's; "
    "how far Vivado's differ is unknown until someone runs Vivado on the same RTL."
)


def _zero() -> Counts:
    return dict.fromkeys(yosys.KEYS, 0.0)


def _add(into: Counts, counts: Mapping[str, float]) -> None:
    for k in yosys.KEYS:
        into[k] += counts[k]


def _rounded(cost: Cost) -> dict[str, float]:
    return {k: round(v, 1) for k, v in cost.as_dict().items()}


def estimate_split(design: Design, est: GraphEstimate, method: str) -> dict[str, dict]:
    """The estimate of each IP, split as the Yosys figures are: its nodes, the FIFOs and
    converters it holds (``rtl``: those of streams inside it and the converters it owns;
    ``ops``: every stream it reads); the rest under ``kernel``."""
    owner = {n: ip.name for ip in design.ips for n in ip.nodes}
    streams = {f"{s.tensor}->{s.dst}": s for s in design.streams}
    sums: dict[str, Cost] = {ip.name: Cost() for ip in design.ips}
    sums[KERNEL] = Cost()
    for n in est.nodes:
        key = owner.get(n.name, KERNEL)
        sums[key] = sums[key] + n.cost
    for item in est.infra:
        s = streams.get(item.label)
        key = owner.get(item.node, KERNEL) if s is not None else KERNEL
        if s is not None and method == "rtl":
            inside = s.kind == "internal" if item.kind == "fifo" else s.dwc == "ip"
            key = key if inside else KERNEL
        sums[key] = sums[key] + item.cost
    return {k: _rounded(c) for k, c in sums.items()}


def _op_jobs(
    parts: list[Part], work: Path, timeout: float, exact: bool, sizes: dict, keep: Sequence[str]
) -> dict[str, Job]:
    """Configuration -> its job (the first part of a configuration stands for the rest)."""
    jobs: dict[str, Job] = {}
    for p in parts:
        key = config_key(p.inst, exact)
        if key not in jobs:
            jobs[key] = instance_job(key, p.inst, work, timeout, sizes.get(p.name, 0.0), keep)
    return jobs


def _sum_parts(parts: list[Part], measured: Mapping[str, Measured]) -> dict[str, Counts]:
    figures: dict[str, Counts] = {}
    for part in parts:
        _add(figures.setdefault(part.ip or KERNEL, _zero()), measured[part.name].counts)
    return figures


def _ops_section(
    parts: list[Part], measured: Mapping[str, Measured], est: GraphEstimate, exact: bool
) -> dict[str, Any]:
    costs = {n.name: n.cost for n in est.nodes}
    out: dict[str, Any] = {}
    for p in parts:
        if p.kind != "op":
            continue
        key = config_key(p.inst, exact)
        m = measured[p.name]
        out[p.name] = {
            "ip": p.ip,
            "config": key,
            "label": p.inst.label,
            **m.counts,
            "seconds": round(m.seconds, 2),
            "cached": m.cached,
            "estimate": _rounded(costs.get(p.name, Cost())),
        }
    return out


def synth_build(
    build_dir: str | os.PathLike[str],
    jobs: int | None = None,
    exact: bool = False,
    use_cache: bool = True,
    timeout: float = 3600.0,
    progress: bool = True,
    per_op: bool = True,
    flat: bool = False,
) -> dict[str, Any]:
    """Synthesise the design of ``build_dir`` with Yosys and write ``synth/synth.json``
    (see the module docstring); returns its contents. ``flat`` flattens the dot products too
    (``runner.KEEP``: by default each distinct one is synthesised once)."""
    root = Path(build_dir)
    keep: tuple[str, ...] = () if flat else KEEP
    exe = tools.require_tool("yosys")
    design, manifest = design_of_build(root)
    start = time.perf_counter()
    jobs = jobs or os.cpu_count() or 1
    est = estimate_design(design)
    (root / SYNTH_DIR).mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=root / SYNTH_DIR))
    method = "ops"
    ip_sizes = {k: v["lut"] for k, v in estimate_split(design, est, "rtl").items()}
    rtl = rtl_jobs(manifest, work, timeout, ip_sizes, keep)
    parts, missing = design_parts(design)
    node_sizes = {n.name: n.cost.lut for n in est.nodes}
    if rtl is not None:
        method = "rtl"
        parts = [p for p in parts if p.kind == "op"] if per_op else []
    op_jobs = _op_jobs(parts, work, timeout, exact, node_sizes, keep)
    done = run_jobs([*(rtl or {}).values(), *op_jobs.values()], jobs, use_cache, progress)
    shutil.rmtree(work, ignore_errors=True)  # kept on failure: the failed run's log is there
    by_part = {p.name: done[op_jobs[config_key(p.inst, exact)].key] for p in parts}
    if rtl is not None:
        figures = {name: dict(done[job.key].counts) for name, job in rtl.items()}
        figures[KERNEL] = figures.pop(LINKS)
        seconds = {name: round(done[job.key].seconds, 1) for name, job in rtl.items()}
    else:
        figures = _sum_parts(parts, by_part)
        seconds = {}
    result = _result(design, figures, method, estimate_split(design, est, method), exe, keep)
    result.update(ops=_ops_section(parts, by_part, est, exact), missing=missing)
    result.update(seconds_per_ip=seconds, design={r: manifest.files[r] for r in DESIGN_FILES})
    result.update(seconds=round(time.perf_counter() - start, 1), jobs=jobs, exact=exact)
    write_json(root / SYNTH_DIR / SYNTH_JSON, result)
    return result


def _result(
    design: Design,
    figures: dict[str, Counts],
    method: str,
    estimate: dict[str, dict],
    exe: str,
    keep: Sequence[str],
) -> dict[str, Any]:
    ips = {ip.name: figures.get(ip.name, _zero()) for ip in design.ips}
    kernel = figures.get(KERNEL, _zero())
    total = _zero()
    for counts in [*ips.values(), kernel]:
        _add(total, counts)
    return {
        "tool": tools.tool_version(exe),
        "flow": flow(keep).replace("\n", "; "),
        "counting": "alveoflow.hw.rtl.yosys: " + NOTE,
        "method": method,
        "ips": ips,
        "kernel": kernel,
        "kernel_is": KERNEL_IS[method],
        "total": total,
        "estimate": estimate,
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
