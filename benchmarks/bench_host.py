"""Host-side throughput of the runtime's stages (card excluded), on one core; prints JSON.

Measures, at batch 100 (``--batch``), images per second of the work ``AlveoModule`` does
around the card for a 1000-class ImageNet-shaped build:

- ``pixels``: uint8 (N, 224, 224, 3) NHWC -> tensor check -> pack into a card input buffer
  -> unpack the card's top-5 (uint32) and dequantise its int32 logits;
- ``float``: the same with float32 (N, 3, 224, 224) NCHW input that must be quantised;
- ``host_topk``: top-5 ranked on the host from the float logits (when the card's top-k is
  not enough).

The card's outputs are fixed random arrays (the card itself is not emulated). Targets: pixels
>= 10,000 images/s (so the host never limits a 6,000 FPS card), float >= 2,000 images/s.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_host.py
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from alveoflow.runtime.packing import HostPlan, host_plan, pack_input, topk_indices, unpack_outputs  # noqa: E402
from alveoflow.testing import lowered_cnn, lowered_resnet  # noqa: E402


def _card_outputs(plan: HostPlan, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for stage in plan.outputs:
        shape = (n, *stage.card.shape[1:])
        if stage.kind == "topk":
            out[stage.card.name] = rng.integers(0, 1000, size=shape).astype(np.uint32)
        else:
            out[stage.card.name] = rng.integers(-5000, 5000, size=shape).astype(stage.card_dtype)
    return out


def _host_pass(plan: HostPlan, x: torch.Tensor, buf: np.ndarray, card: dict) -> None:
    arr = np.ascontiguousarray(x.detach().cpu().numpy())
    pack_input(arr, plan.input, out=buf[: arr.shape[0]])
    unpack_outputs(card, plan)


def _rate(fn, n: int, min_time: float) -> float:
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and count >= 3:
            return n * count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n = args.batch

    pixel_plan = host_plan(lowered_resnet(depth=18, width=0.125, input_size=224))
    float_plan = host_plan(lowered_cnn(input_size=224, channels=(8,), num_classes=1000))
    results = {"batch": n, "threads": torch.get_num_threads()}
    for name, plan in (("pixels", pixel_plan), ("float", float_plan)):
        shape = (n, *plan.input.user.shape[1:])
        if name == "pixels":
            x = torch.from_numpy(rng.integers(0, 256, size=shape, dtype=np.uint8))
        else:
            x = torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))
        buf = np.empty((n, *plan.input.card.shape[1:]), plan.input.card_dtype)
        card = _card_outputs(plan, n, rng)
        results[f"{name}_images_per_s"] = round(
            _rate(lambda p=plan, x=x, b=buf, c=card: _host_pass(p, x, b, c), n, args.min_time), 1
        )
    logits = rng.standard_normal((n, 1000)).astype(np.float32)
    results["host_topk5_images_per_s"] = round(
        _rate(lambda: topk_indices(logits, 5), n, args.min_time), 1
    )
    results["pixels_vs_target_10000"] = round(results["pixels_images_per_s"] / 10000, 2)
    results["float_vs_target_2000"] = round(results["float_images_per_s"] / 2000, 2)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
