"""RTL benchmarks on the real QuantResNet50 (w1a2r4 v1.0, 224x224, U250, --target-fps max).

Yosys section (functions ``yosys_*``, flag ``--yosys``; writes
``benchmarks/results/bench_synth_resnet50.json``):

- the build: ``common.resnet50_onnx(224)`` through ``compiler.pipeline.build``, kept in
  ``benchmarks/.cache/bench_rtl_build`` (compiled again when its copy of the RTL library is
  not the library's current text);
- ``yosys_largest_block``: the residual-block IP with the most estimated LUTs, its generated
  module (``rtl/afn_<ip>.sv``) synthesised whole by Yosys with no cache: wall and CPU
  seconds (goal: 600 s or less on this machine), Yosys' figures and the estimate's;
- ``yosys_per_ip``: ``alveoflow synth`` of the whole design (per IP from the generated RTL,
  cached runs reused): Yosys and the estimate per IP, the estimate's error per IP and in
  total, and which figures are measured and which estimated.

Every figure is Yosys' count (``synth_xilinx -family xcup``), not Vivado's: how far Vivado's
differ is unknown until someone runs Vivado on the same RTL.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_rtl.py --yosys [--jobs 2] [--per-op]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import CACHE, conditions, resnet50_onnx, save

BUILD = CACHE / "bench_rtl_build"
YOSYS_GOAL_S = 600.0


def _same_library(folder: Path) -> bool:
    """The build's copy of the RTL library is the library as it is now."""
    from alveoflow.hw.rtl.instance import library_files

    copy = folder / "rtl" / "lib"
    files = library_files()
    names = {p.name for p in copy.glob("*.sv")} if copy.is_dir() else set()
    if names != {p.name for p in files}:
        return False
    return all((copy / p.name).read_text() == p.read_text() for p in files)


def yosys_build(folder: Path = BUILD) -> Path:
    """The QuantResNet50 U250 build (compiled again when the RTL library changed)."""
    from alveoflow.compiler.buildfmt import is_build
    from alveoflow.compiler.config import BuildConfig
    from alveoflow.compiler.pipeline import build

    if is_build(folder) and _same_library(folder):
        return folder
    config = BuildConfig.from_mapping({"platform": "u250", "target_fps": "max"})
    build(resnet50_onnx(224), config, folder)
    return folder


def _largest_block(synth_estimate: dict[str, dict[str, float]], design: Any) -> str:
    blocks = [ip.name for ip in design.ips if design.graph.node(ip.nodes[0]).block]
    return max(blocks, key=lambda ip: synth_estimate[ip]["lut"])


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def yosys_largest_block(build: Path, flat: bool = False) -> dict[str, Any]:
    """Synthesise the largest block's module alone, uncached, and time it."""
    from alveoflow.compiler import buildfmt
    from alveoflow.compiler.estimate.model import estimate_design
    from alveoflow.compiler.synth.build import estimate_split
    from alveoflow.compiler.synth.design import design_of_build
    from alveoflow.compiler.synth.rtl import read_rtl_json
    from alveoflow.compiler.synth.runner import KEEP, flow, synth_sources

    design, manifest = design_of_build(build)
    est = estimate_split(design, estimate_design(design), "rtl")
    ip = _largest_block(est, design)
    info = read_rtl_json(buildfmt.read_manifest(build))
    assert info is not None
    module = next(i["module"] for i in info["ips"] if i["name"] == ip)
    keep = () if flat else KEEP
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(build / "rtl", Path(tmp) / "rtl")
        lib = [Path(tmp) / rel for rel in info["library"]]
        sources = [*lib, Path(tmp) / "rtl" / f"{module}.sv"]
        cpu0, wall0 = _child_cpu(), time.perf_counter()
        counts, _ = synth_sources(module, sources, Path(tmp) / info["mem_dir"], 3600.0, keep)
        wall, cpu = time.perf_counter() - wall0, _child_cpu() - cpu0
    return {
        "ip": ip,
        "nodes": len(design.ip(ip).nodes),
        "flow": flow(keep).replace("\n", "; "),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "goal_s": YOSYS_GOAL_S,
        "within_goal": wall <= YOSYS_GOAL_S,
        "yosys": counts,
        "estimate": est[ip],
        "lut_estimate_over_yosys": round(est[ip]["lut"] / counts["lut"], 3),
    }


def _errors(result: dict[str, Any]) -> dict[str, Any]:
    """Per IP and in total: estimate / Yosys - 1 for LUT, FF, BRAM36, URAM and DSP."""
    keys = ("lut", "ff", "bram36", "uram", "dsp")
    est, ips = result["estimate"], result["ips"]

    def off(e: float, y: float) -> float | None:
        return round(e / y - 1, 3) if y else None

    per_ip = {ip: {k: off(est[ip][k], y[k]) for k in keys} for ip, y in ips.items()}
    tot_y = {k: sum(y[k] for y in ips.values()) for k in keys}
    tot_e = {k: sum(est[ip][k] for ip in ips) for k in keys}
    luts = [abs(v["lut"]) for v in per_ip.values() if v["lut"] is not None]
    return {
        "per_ip": per_ip,
        "ips_total": {"yosys": tot_y, "estimate": tot_e},
        "ips_total_off": {k: off(tot_e[k], tot_y[k]) for k in keys},
        "lut_mean_abs_off": round(sum(luts) / len(luts), 3) if luts else None,
        "lut_max_abs_off": round(max(luts), 3) if luts else None,
    }


def yosys_per_ip(build: Path, jobs: int, per_op: bool) -> dict[str, Any]:
    """``alveoflow synth`` of the whole design, and the estimate's error per IP."""
    from alveoflow.compiler.synth import synth_build

    start = time.perf_counter()
    result = synth_build(build, jobs=jobs, per_op=per_op, progress=True)
    out = {
        "tool": result["tool"],
        "flow": result["flow"],
        "method": result["method"],
        "seconds": round(time.perf_counter() - start, 1),
        "ips": result["ips"],
        "kernel": result["kernel"],
        "kernel_is": result["kernel_is"],
        "total": result["total"],
        "estimate": result["estimate"],
        "seconds_per_ip": result["seconds_per_ip"],
        "errors": _errors(result),
        "missing": result["missing"],
        "measured_by_yosys": "ips, kernel, total (Yosys' cell counts of the generated RTL)",
        "estimated": "estimate (alveoflow's cost model, calibrated per primitive on Yosys)",
        "vivado": "not run: Vivado's counts will differ from Yosys' by an unknown amount",
    }
    if per_op:
        out["ops"] = result["ops"]
    return out


def yosys_section(jobs: int, per_op: bool, flat_too: bool) -> dict[str, Any]:
    build = yosys_build()
    section: dict[str, Any] = {"build": str(build), "jobs": jobs}
    section["largest_block"] = yosys_largest_block(build)
    if flat_too:
        section["largest_block_flat"] = yosys_largest_block(build, flat=True)
    section["per_ip"] = yosys_per_ip(build, jobs, per_op)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yosys", action="store_true", help="run the Yosys section")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--per-op", action="store_true", help="also every op configuration")
    parser.add_argument("--flat-too", action="store_true", help="time the flattened flow too")
    args = parser.parse_args()
    if args.yosys:
        before = conditions()
        result = {"network": "QuantResNet50 w1a2r4 v1.0, 224x224, u250, target max"}
        result["yosys"] = yosys_section(args.jobs, args.per_op, args.flat_too)
        result["conditions"] = {"before": before, "after": conditions()}
        save("bench_synth_resnet50", result)


if __name__ == "__main__":
    main()
