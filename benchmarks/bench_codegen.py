"""Code generation and cppsim on the lowered ResNet-50 (folded by the planner): prints JSON.

Measures, in one run on this machine:
- ``codegen_s``: generating the hardware design of a build directory (load graph, apply the
  folding plan, emit, write; bar: <= 30 s);
- ``cppsim_compile_s``: ``CppSimBackend(build_dir)`` from a cold cache (C-sim folding emit +
  g++ of every unit, ``jobs`` in parallel), ``cppsim_cached_setup_s`` with a warm cache;
- ``cppsim_image_s``: one image through the compiled network (bar: <= 60 s; FINN's Python
  execution of its lowered ResNet-50 takes 46 s per image), ``sim_image_s`` the bit-exact
  reference on the same image, and ``equal``: every IP output stream equal to ``sim``.

Usage: ``PYTHONPATH=. python benchmarks/bench_codegen.py [--depth 50] [--size 224]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

FINN_PYTHON_EXEC_S = 46.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", default=None, help="build directory to use (default: a temp dir)")
    args = ap.parse_args()

    from alveoflow.compiler.codegen.builddir import generate
    from alveoflow.compiler.folding import apply_plan, plan_folding
    from alveoflow.compiler.ir import save_graph
    from alveoflow.runtime.backends.cppsim.backend import CppSimBackend
    from alveoflow.compiler.semantics.executor import run_graph
    from alveoflow.runtime.packing import host_plan
    from alveoflow.testing import lowered_resnet

    graph = lowered_resnet(depth=args.depth, input_size=args.size)
    out = Path(args.keep or tempfile.mkdtemp(prefix="bench_codegen_"))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    plan = plan_folding(graph, "u250", "max")
    save_graph(graph, out, stem="graph")
    plan.save(out / "folding_plan.json")
    t1 = time.perf_counter()
    files = generate(out)  # the hardware design: sources, headers, FC weights, scripts
    t2 = time.perf_counter()
    backend = CppSimBackend(out, jobs=args.jobs)  # C-sim folding: emit + compile (cold)
    cold = backend.report
    t3 = time.perf_counter()
    CppSimBackend(out, jobs=args.jobs).close()
    t4 = time.perf_counter()
    card = host_plan(apply_plan(graph, plan)).card_graph
    x = np.random.default_rng(0).integers(0, 256, (1, *card.inputs[0].shape[1:]), dtype=np.uint8)
    t5 = time.perf_counter()
    backend.run(x)
    t6 = time.perf_counter()
    ref = run_graph(card, {card.inputs[0].name: x}, keep_intermediates=True)
    t7 = time.perf_counter()
    taps = backend.run_taps(x)
    equal = all(np.array_equal(v.reshape(ref[k].shape), ref[k]) for k, v in taps.items())
    size = sum((out / f).stat().st_size for f in files)
    print(
        json.dumps(
            {
                "model": f"resnet{args.depth}",
                "input_size": args.size,
                "ips": len(backend.info["ips"]),
                "plan_s": round(t1 - t0, 2),
                "codegen_s": round(t2 - t1, 2),
                "files": len(files),
                "bytes": size,
                "cppsim_compile_s": round(t3 - t2, 2),
                "units_compiled": cold.compiled,
                "cppsim_cached_setup_s": round(t4 - t3, 2),
                "jobs": args.jobs,
                "cppsim_image_s": round(t6 - t5, 2),
                "sim_image_s": round(t7 - t6, 2),
                "cppsim_over_finn_python": round((t6 - t5) / FINN_PYTHON_EXEC_S, 3),
                "taps": len(taps),
                "equal": equal,
                "build_dir": str(out) if args.keep else None,
            },
            indent=1,
        )
    )
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
