"""Compile time and memory of QuantResNet50 versus its Brevitas -> QONNX export.

Prints one JSON object. Measured in one run on this machine:
- ``brevitas_export_s``: ``brevitas.export.export_qonnx`` of the calibrated model;
- ``to_qonnx_s``: alveoflow's export (Brevitas export + cleanup + annotation), which
  writes the file that is compiled;
- ``compile_s``: ``compile_qonnx`` + writing graph.json/graph.npz/manifest.json, in a fresh
  process (``compile_process_s`` adds interpreter start and imports);
- ``compile_peak_rss_mb``: peak resident memory of that process (Linux ``VmHWM``);
- ratios ``compile_over_export`` (bar: <= 2) and the pass timings.

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
from alveoflow.compiler.pipeline import compile_build
t1 = time.perf_counter()
result = compile_build(sys.argv[1], sys.argv[2], plan=False)  # folding: bench_folding.py
t2 = time.perf_counter()
# VmHWM: this process image's peak RSS (getrusage would include the parent's pages it was
# forked from, before exec).
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"import_s": t1 - t0, "compile_s": t2 - t1, "nodes": len(result.graph.nodes),
                  "peak_mb": int(hwm) / 1024,
                  "passes": {p.name: round(p.seconds, 3) for p in result.passes}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    import torch
    from brevitas.export import export_qonnx

    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

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
        (folder / "build").mkdir()
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
        "compile_s": round(child["compile_s"], 2),
        "compile_import_s": round(child["import_s"], 2),
        "compile_process_s": round(process_s, 2),
        "compile_peak_rss_mb": round(peak_mb, 1),
        "lowered_nodes": child["nodes"],
        "passes_s": child["passes"],
        "compile_over_export": round(child["compile_s"] / brevitas_s, 3),
        "compile_process_over_export": round(process_s / brevitas_s, 3),
        "peak_rss_under_2gb": peak_mb <= 2048,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
