"""Compile time and memory of QuantResNet50 versus its Brevitas -> QONNX export.

Prints one JSON object. Measured in one run on this machine:
- ``brevitas_export_s``: ``brevitas.export.export_qonnx`` of the calibrated model;
- ``to_qonnx_s``: alveoflow's export (Brevitas export + cleanup + annotation), which
  writes the file that is compiled;
- ``lower_s``: the build steps frontend .. legalize (the compiler proper: QONNX to the
  lowered integer graph), in a fresh process;
- ``build_s``: every step of ``alveoflow compile`` (``compiler.pipeline.build``: lowering,
  folding search, FIFO sizing, design, estimate, HLS emission and writing the build
  directory) in the same process, with each step's seconds (``steps_s``);
  ``build_process_s`` adds interpreter start and imports;
- ``build_peak_rss_mb``: peak resident memory of that process (Linux ``VmHWM``);
- ratios ``lower_over_export`` and ``build_over_export``; the machine's conditions.

Writes ``benchmarks/results/bench_compile.json``.
Usage: ``PYTHONPATH=. python benchmarks/bench_compile.py [--model resnet50] [--size 224]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.pipeline import build
t1 = time.perf_counter()
result = build(sys.argv[1], BuildConfig(), sys.argv[2])
t2 = time.perf_counter()
# VmHWM: this process image's peak RSS (getrusage would include the parent's pages it was
# forked from, before exec).
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
steps = {s.name: round(s.seconds, 3) for s in result.steps}
lower = sum(steps[k] for k in ("frontend", "streamline", "lower", "legalize"))
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "lower_s": lower,
                  "nodes": len(result.graph.nodes), "peak_mb": int(hwm) / 1024, "steps": steps,
                  "fps": result.report["estimate"]["fps"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    import torch
    from brevitas.export import export_qonnx
    from common import conditions, save

    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

    before = conditions()
    torch.manual_seed(0)
    options = {"input_size": args.size}
    model = calibrate_bn(build_model(args.model, **options), batches=2, batch_size=2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        x = torch.randint(0, 256, model.config.input_shape).float()
        start = time.perf_counter()
        export_qonnx(model, args=x, export_path=str(folder / "raw.onnx"), dynamo=False)
        brevitas_s = time.perf_counter() - start
        start = time.perf_counter()
        path = to_qonnx(model, folder / "model.onnx")
        to_qonnx_s = time.perf_counter() - start
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(folder / "build")],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        process_s = time.perf_counter() - start
        child = json.loads(out.stdout.strip().splitlines()[-1])
        peak_mb = child["peak_mb"]
        onnx_mb = path.stat().st_size / 1e6
    report = {
        "model": args.model,
        "input_size": args.size,
        "onnx_mb": round(onnx_mb, 1),
        "brevitas_export_s": round(brevitas_s, 2),
        "to_qonnx_s": round(to_qonnx_s, 2),
        "lower_s": round(child["lower_s"], 2),
        "build_s": round(child["build_s"], 2),
        "build_import_s": round(child["import_s"], 2),
        "build_process_s": round(process_s, 2),
        "build_peak_rss_mb": round(peak_mb, 1),
        "steps_s": child["steps"],
        "lowered_nodes": child["nodes"],
        "estimate_fps": child["fps"],
        "lower_over_export": round(child["lower_s"] / brevitas_s, 3),
        "build_over_export": round(child["build_s"] / brevitas_s, 3),
        "conditions": {"before": before, "after": conditions()},
    }
    save("bench_compile", report)


if __name__ == "__main__":
    main()
