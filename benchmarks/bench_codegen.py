"""Code generation and cppsim on the real QuantResNet50, hardware folding; prints JSON.

One run on this machine, all figures from the same process:

- ``build_s`` and ``steps_s``: ``compiler.pipeline.build`` of QuantResNet50
  (``common.resnet50_onnx``: ``qnn.build_model("resnet50")``, ``calibrate_bn``,
  ``export.to_qonnx``) with the default ``BuildConfig``, written to a build directory;
- ``cppsim_compile_s``: ``CppSimBackend(build)`` with the hardware folding (the build's own
  sources, what Vitis would synthesise), g++ of every unit (``units_compiled``; 0 when the
  object cache was warm);
- ``cppsim_image_s`` / ``cppsim_image_cpu_s``: one 224x224 image through cppsim (wall and
  CPU seconds; every IP and every dataflow call a concurrent process over the design's FIFO
  depths), ``sim_image_s`` / ``sim_image_cpu_s``: the bit-exact ``sim`` backend on the same
  image, timed alternately with cppsim (``--repeats`` pairs; medians), and their ratio;
- ``equal``: the outputs and every IP output stream of cppsim equal ``sim``'s;
- ``deadlock``: false, or the message when the design's own FIFO depths deadlock. Then the
  run is repeated with every design FIFO ``fifo_scale`` times deeper (2, 4, 8, ...: the
  smallest that completes), so the timing is still measured; ``fifo_scale`` says which.

Usage: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_codegen.py [--size 224]
[--repeats 3] [--jobs 2] [--keep DIR]``. Writes ``benchmarks/results/bench_codegen.json``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import conditions, resnet50_onnx, save

from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.pipeline import build
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import DeviceError
from alveoflow.runtime.backends.cppsim.backend import CppSimBackend
from alveoflow.runtime.backends.cppsim.runinfo import design_fifos
from alveoflow.runtime.backends.sim import SimBackend
from alveoflow.runtime.build import open_build

GOAL_S = 10.0  # issue 13: one image through cppsim with the hardware folding


def timed(fn: Any) -> tuple[Any, float, float]:
    """fn()'s result, wall seconds, CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def runnable_backend(out: Path, x: np.ndarray, jobs: int) -> tuple[CppSimBackend, dict[str, Any]]:
    """The backend on the design's FIFO depths, or, when they deadlock, on the smallest power
    of two times them that completes (reported)."""
    backend = CppSimBackend(out, jobs=jobs)
    info: dict[str, Any] = {"deadlock": False, "fifo_scale": 1}
    try:
        backend.run(x)
        return backend, info
    except DeviceError as err:
        if "deadlock" not in str(err):
            raise
        info["deadlock"] = str(err)
    planned = design_fifos(backend.info)
    for scale in (2, 4, 8, 16, 32):
        depths = {name: depth * scale for name, depth in planned.items()}
        scaled = CppSimBackend(out, jobs=jobs, fifo_depths=depths)
        try:
            scaled.run(x)
        except DeviceError:
            continue
        info["fifo_scale"] = scale
        return scaled, info
    raise DeviceError("cppsim deadlocks even with every FIFO 32 times deeper")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", default=None, help="build directory to use (default: a temp dir)")
    args = ap.parse_args()

    onnx = resnet50_onnx(args.size)
    out = Path(args.keep or tempfile.mkdtemp(prefix="bench_codegen_"))
    steps: dict[str, float] = {}
    _, build_s, _ = timed(
        lambda: build(onnx, BuildConfig(), out, progress=lambda s, t: steps.update({s: t}))
    )
    card = open_build(out).plan.card_graph
    info = card.inputs[0]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (1, *info.shape[1:]), dtype=np.uint8)

    (backend, fifo_info), compile_s, _ = timed(lambda: runnable_backend(out, x, args.jobs))
    sim = SimBackend(card, device="cpu")
    pairs = []
    for _ in range(args.repeats):  # alternately, so both see the same machine load
        cpp_out, cpp_s, cpp_cpu = timed(lambda: backend.run(x))
        sim_out, sim_s, sim_cpu = timed(lambda: sim.run(x))
        pairs.append((cpp_s, cpp_cpu, sim_s, sim_cpu))
    med = [statistics.median(p[i] for p in pairs) for i in range(4)]
    ref = run_graph(card, {info.name: x}, keep_intermediates=True)
    taps = backend.run_taps(x)
    equal = all(np.array_equal(v.reshape(ref[k].shape), ref[k]) for k, v in taps.items())
    equal = equal and all(np.array_equal(v, sim_out[k]) for k, v in cpp_out.items())
    record = backend.last_run or {}
    top = sorted(record.get("processes", []), key=lambda p: -p["seconds"])[:5]
    save(
        "bench_codegen",
        {
            "model": "QuantResNet50 (w1a2, calibrated, random weights)",
            "input_size": args.size,
            "folding": backend.folding,
            "ips": len(backend.info["ips"]),
            "build_s": round(build_s, 2),
            "steps_s": {k: round(v, 2) for k, v in steps.items()},
            "cppsim_compile_s": round(compile_s, 2),
            "units_compiled": backend.report.compiled,
            "jobs": args.jobs,
            "deadlock": fifo_info["deadlock"],
            "fifo_scale": fifo_info["fifo_scale"],
            "cppsim_image_s": round(med[0], 3),
            "cppsim_image_cpu_s": round(med[1], 3),
            "sim_image_s": round(med[2], 3),
            "sim_image_cpu_s": round(med[3], 3),
            "cppsim_over_sim": round(med[0] / med[2], 3),
            "goal_s": GOAL_S,
            "goal_met": med[0] <= GOAL_S,
            "repeats": args.repeats,
            "equal": bool(equal),
            "taps": len(taps),
            "processes": len(record.get("processes", [])),
            "fifos": len(record.get("fifos", [])),
            "switches": record.get("switches"),
            "slowest_processes": [{"name": p["name"], "s": round(p["seconds"], 3)} for p in top],
            "conditions": conditions(),
            "build_dir": str(out) if args.keep else None,
        },
    )
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
