"""RTL benchmarks: Verilator on the test nets and the real QuantResNet50, Yosys on its blocks.

The network is QuantResNet50 (w1a2r4 v1.0, 224x224, U250, --target-fps max), built by
``yosys_build`` (both sections use the same build).

Verilator section (functions ``verilator_*``, flag ``--verilator``; writes
``benchmarks/results/bench_rtl.json``):

- ``verilator_net``: each net of ``tests/test_rtlsim.py`` (mlp, cnn, depthwise, resnet18
  small), built with ``alveoflow.testing.write_build(..., plan=True)``, through
  ``RtlSimBackend`` with a fresh model cache (cold: the model is really compiled, and the
  first model also compiles the Verilator runtime objects): Verilator build seconds, run
  seconds for ``NET_FRAMES`` frames, cycles per frame against the estimate's ``ii_cycles``,
  simulated cycles per second, bit-exact against ``run_graph`` on the card graph;
- ``verilator_resnet50``: the whole network top on one 224x224 image (``mode`` "network"):
  the backend pads it to ``min_frames`` frames (default 4) for a steady state, so the run
  simulates that many frames (``frames_simulated``); with ``--min-frames 1`` only the
  latency is measured. Build and run wall seconds, their total against the 900 s goal (FINN's
  RTL simulation of ResNet-50 takes more than 7 hours), bit-exact, cycles against the
  estimate. A network model that cannot be built or run is replaced by every IP alone
  (``verilator_resnet50_blocks``: ``simulate_blocks``, ``mode`` "blocks", per-block cycles
  against the estimate); ``--blocks`` runs that too, after the network (``resnet50_blocks``).

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

Neither flag runs both; ``--quick`` runs the Verilator section on the test nets only.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_rtl.py --verilator [--quick] [--blocks]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_rtl.py --yosys [--jobs 2] [--per-op]
"""

from __future__ import annotations

import argparse
import json
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
VERILATOR_GOAL_S = 900.0
FINN_RESNET50_S = 7 * 3600.0  # FINN's rtlsim of ResNet-50: more than 7 hours
NET_FRAMES = 4  # the backend's steady state needs 3 intervals
NET_BUILDS = CACHE / "bench_rtl_nets"
MODELS = CACHE / "bench_rtl_verilator"  # emptied at every run: cold builds
NETS = {
    "mlp": ("lowered_mlp", {"layers": (64, 32, 32, 10)}),
    "cnn": ("lowered_cnn", {"input_size": 16, "channels": (8, 16)}),
    "depthwise": ("lowered_depthwise", {"input_size": 16, "blocks": ((16, 1), (32, 2))}),
    "resnet18-small": (
        "lowered_resnet",
        {"depth": 18, "input_size": 32, "width": 0.125, "num_classes": 10},
    ),
}


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
    from alveoflow.compiler.synth.rtl import read_rtl_json, synthesis_library
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
        lib = [Path(tmp) / rel for rel in synthesis_library(info)]
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


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _frames(build: Path, n: int, seed: int = 0) -> Any:
    """``n`` random frames of the card input, in its storage dtype (as tests/test_rtlsim)."""
    import numpy as np

    from alveoflow.runtime.build import open_build

    info = open_build(build).plan.card_graph.inputs[0]
    q = info.qtype
    rng = np.random.default_rng(seed)
    shape = (n, *info.shape[1:])
    return rng.integers(q.min, q.max + 1, shape).astype(np.int8 if q.signed else np.uint8)


def _bit_exact(build: Path, x: Any, got: dict[str, Any]) -> dict[str, Any]:
    """``got`` against ``run_graph`` on the card graph, and the reference's seconds."""
    import numpy as np

    from alveoflow.compiler.semantics.executor import run_graph
    from alveoflow.runtime.build import open_build

    card = open_build(build).plan.card_graph
    start = time.perf_counter()
    want = run_graph(card, {card.inputs[0].name: x})
    seconds = time.perf_counter() - start
    same = {
        k: bool(np.array_equal(v, np.asarray(want[k]).reshape(v.shape))) for k, v in got.items()
    }
    return {"bit_exact": all(same.values()), "per_output": same, "sim_s": round(seconds, 1)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def verilator_run(build: Path, x: Any, cache: Path, min_frames: int) -> dict[str, Any]:
    """Open ``RtlSimBackend`` (Verilator build) and run ``x``: times, cycles, bit-exactness."""
    from alveoflow.runtime.backends.rtlsim.backend import RtlSimBackend
    from alveoflow.runtime.build import open_build

    had_runtime = any(cache.glob("runtime-*"))
    start = time.perf_counter()
    backend = RtlSimBackend(
        build, open_build(build).plan.card_graph, cache_dir=cache, min_frames=min_frames
    )
    open_s = time.perf_counter() - start
    start = time.perf_counter()
    got = backend.run(x)
    run_s = time.perf_counter() - start
    run = backend.last_run
    model_s = backend.model.build_seconds
    return {
        "cold": model_s > 0,
        "compiled_verilator_runtime": model_s > 0 and not had_runtime,
        "verilator_build_s": round(model_s, 1),
        "backend_open_s": round(open_s, 1),
        "frames_requested": run["frames_requested"],
        "frames_simulated": run["frames"],
        "run_s": round(run_s, 3),
        "model_run_s": run["sim_seconds"],
        "cycles": run["cycles"],
        "cycles_per_second": round(run["cycles"] / run_s, 1),
        "cycles_per_second_model": run["cycles_per_second"],
        "cycles_per_frame": run["cycles_per_frame"],
        "ii_cycles_estimate": backend.ii,
        "cycles_per_frame_over_estimate": _ratio(run["cycles_per_frame"], backend.ii),
        "within_5pct": run["estimate"]["within_5pct"],
        "latency_cycles": run["latency_cycles"],
        "latency_cycles_estimate": None if backend.latency is None else round(backend.latency),
        "latency_over_estimate": _ratio(run["latency_cycles"], backend.latency),
        "diagnosis": run["diagnosis"],
        "fifos": _fifo_summary(run["fifos"]),
        **_bit_exact(build, x, got),
    }


def _fifo_summary(fifos: dict[str, dict[str, int]]) -> dict[str, int]:
    """How many FIFOs, how many reached their depth, how many held a word at all."""
    full = sum(f["peak"] >= f["depth"] for f in fifos.values())
    return {"count": len(fifos), "filled": full, "used": sum(f["peak"] > 0 for f in fifos.values())}


def verilator_net(name: str, cache: Path) -> dict[str, Any]:
    """One test net of tests/test_rtlsim.py: built with the planner, then a cold run."""
    import alveoflow.testing as T

    maker, kwargs = NETS[name]
    start = time.perf_counter()
    build = T.write_build(
        _fresh(NET_BUILDS / name), getattr(T, maker)(**kwargs), plan=True, csim_variant=False
    )
    compile_s = time.perf_counter() - start
    out = {"net": f"{maker}({kwargs})", "compile_s": round(compile_s, 1)}
    return out | verilator_run(build, _frames(build, NET_FRAMES), cache, NET_FRAMES)


def verilator_resnet50(min_frames: int, cache: Path) -> dict[str, Any]:
    """The whole QuantResNet50 on one image: the network model (every IP alone if that
    model cannot be built or run)."""
    build = yosys_build()
    x = _frames(build, 1, seed=1)
    out: dict[str, Any] = {"build": str(build), "image": "one random 224x224 UINT8 image"}
    try:
        return out | {"mode": "network"} | _resnet_network(build, x, min_frames, cache)
    except Exception as err:  # noqa: BLE001 - recorded, then the block mode runs
        out["network_error"] = f"{type(err).__name__}: {str(err)[:2000]}"
    return out | verilator_resnet50_blocks(build, x, cache)


def _resnet_network(build: Path, x: Any, min_frames: int, cache: Path) -> dict[str, Any]:
    result = verilator_run(build, x, cache, min_frames)
    result["frame_intervals"] = json.loads((build / "rtlsim" / "run.json").read_text())[
        "frame_intervals"
    ]
    total = result["backend_open_s"] + result["run_s"]
    steady = result["cycles_per_frame"] is not None
    return result | {
        "what_ran": (
            f"the network top (afn_top) on {result['frames_simulated']} frames: the image "
            f"padded with copies (the backend's min_frames={min_frames})"
            + ("" if steady else "; one frame gives the latency only, no steady state")
        ),
        "total_s": round(total, 1),
        "goal_s": VERILATOR_GOAL_S,
        "within_goal": total <= VERILATOR_GOAL_S,
        "finn_s_more_than": FINN_RESNET50_S,
    }


def _block(r: Any) -> dict[str, Any]:
    return {
        "bit_exact": r.bit_exact,
        "cycles_per_frame": r.cycles_per_frame,
        "estimate": r.estimate,
        "over_estimate": _ratio(r.cycles_per_frame, r.estimate),
        "within_5pct": r.within,
        "latency_cycles": r.latency_cycles,
        "verilator_build_s": round(r.build_seconds, 1),
        "run_s": r.run_seconds,
        "cycles_per_second": round(r.cycles / r.run_seconds, 1) if r.run_seconds else None,
    }


def verilator_resnet50_blocks(build: Path, x: Any, cache: Path) -> dict[str, Any]:
    """Every IP alone on the reference's tensors (``simulate_blocks``, ``NET_FRAMES`` copies
    of the image): per block bit-exactness and cycles per frame against its estimate."""
    import numpy as np

    from alveoflow.runtime.backends.rtlsim.blocks import simulate_blocks

    start = time.perf_counter()
    results = simulate_blocks(build, np.concatenate([x] * NET_FRAMES), cache_dir=cache)
    wall = time.perf_counter() - start
    per = {name: _block(r) for name, r in results.items()}
    run_s = sum(r.run_seconds for r in results.values())
    slowest = max(per, key=lambda ip: per[ip]["cycles_per_frame"] or 0.0)
    return {
        "mode": "blocks",
        "what_ran": f"every IP alone on the reference's tensors, {NET_FRAMES} copies of the image",
        "wall_s": round(wall, 1),
        "verilator_build_s_sum": round(sum(r.build_seconds for r in results.values()), 1),
        "verilator_builds_at_a_time": os.cpu_count(),
        "run_s_sum": round(run_s, 1),
        "goal_s": VERILATOR_GOAL_S,
        "within_goal": wall <= VERILATOR_GOAL_S,
        "bit_exact": all(r.bit_exact for r in results.values()),
        "blocks_within_5pct": f"{sum(bool(r.within) for r in results.values())}/{len(results)}",
        "slowest_block": slowest,
        "blocks": per,
    }


def verilator_section(quick: bool, min_frames: int, blocks: bool) -> dict[str, Any]:
    cache = _fresh(MODELS)
    section: dict[str, Any] = {"model_cache": str(cache), "frames_per_net": NET_FRAMES}
    section["nets"] = {name: verilator_net(name, cache) for name in NETS}
    if not quick:
        section["resnet50"] = verilator_resnet50(min_frames, cache)
    if not quick and blocks and section["resnet50"]["mode"] == "network":
        build = yosys_build()
        section["resnet50_blocks"] = verilator_resnet50_blocks(build, _frames(build, 1, 1), cache)
    return section


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


def _verilator_main(args: argparse.Namespace) -> None:
    from alveoflow.hw.rtl import tools

    before = conditions()
    result: dict[str, Any] = {"network": "QuantResNet50 w1a2r4 v1.0, 224x224, u250, target max"}
    result["verilator_version"] = tools.tool_version(tools.require_tool("verilator", None))
    result["verilator"] = verilator_section(args.quick, args.min_frames, args.blocks)
    result["conditions"] = {"before": before, "after": conditions()}
    save("bench_rtl", result)


def _yosys_main(args: argparse.Namespace) -> None:
    before = conditions()
    result = {"network": "QuantResNet50 w1a2r4 v1.0, 224x224, u250, target max"}
    result["yosys"] = yosys_section(args.jobs, args.per_op, args.flat_too)
    result["conditions"] = {"before": before, "after": conditions()}
    save("bench_synth_resnet50", result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verilator", action="store_true", help="run the Verilator section")
    parser.add_argument("--yosys", action="store_true", help="run the Yosys section")
    parser.add_argument("--quick", action="store_true", help="Verilator: the test nets only")
    parser.add_argument("--blocks", action="store_true", help="ResNet-50: every IP alone too")
    parser.add_argument("--min-frames", type=int, default=4, help="ResNet-50: frames simulated")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--per-op", action="store_true", help="also every op configuration")
    parser.add_argument("--flat-too", action="store_true", help="time the flattened flow too")
    args = parser.parse_args()
    both = not (args.verilator or args.yosys)
    if args.verilator or both:
        _verilator_main(args)
    if args.yosys or both:
        _yosys_main(args)


if __name__ == "__main__":
    main()
