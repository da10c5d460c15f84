"""What the benchmark scripts share: the real QuantResNet50, the machine's conditions, and
where results go.

- ``resnet50_onnx(size)``: QuantResNet50 (w1a2 v1.0, random weights, BatchNorm calibrated on
  random pixels, seeded) exported by ``alveoflow.export.to_qonnx`` with UINT8 pixel input,
  cached in ``benchmarks/.cache/`` so several scripts measure the same file;
- ``conditions()``: cores, 1-minute load averages, versions, date: every result carries them,
  because this machine is shared and timings depend on its load;
- ``save(name, result)``: prints the JSON and writes ``benchmarks/results/<name>.json`` (the
  README's figures are read from these files).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = HERE / ".cache"


def resnet50_onnx(size: int = 224, seed: int = 0) -> Path:
    """The calibrated QuantResNet50 as QONNX (see the module docstring)."""
    import torch

    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

    path = CACHE / f"resnet50_{size}_seed{seed}.onnx"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = calibrate_bn(build_model("resnet50", input_size=size), batches=2, batch_size=2)
    tmp = path.with_suffix(".tmp.onnx")
    to_qonnx(model, tmp, (1, 3, size, size), "UINT8")
    tmp.replace(path)
    return path


def conditions() -> dict[str, Any]:
    """The machine and its load, as measured now."""
    import numpy
    import torch

    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "machine": platform.machine(),
    }


def save(name: str, result: dict[str, Any]) -> Path:
    """Print ``result`` as JSON and write it to ``benchmarks/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, sort_keys=False)
    print(text)
    path = RESULTS / f"{name}.json"
    path.write_text(text + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return path
