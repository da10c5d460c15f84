"""Host-side throughput around the card for the real QuantResNet50 build, on one core.

The build: ``common.resnet50_onnx(224)`` (QuantResNet50 w1a2r4 v1.0, calibrated, exported
with UINT8 pixel input) compiled by ``compiler.pipeline.build`` with ``plan=False`` (the host
work does not depend on the folding), kept in ``benchmarks/.cache/bench_host_build``. What
``AlveoModule`` does around a card call is timed stage by stage, at batch ``--batch``
(default 100), in images per second, with the card's outputs replaced by fixed random arrays
of the card's output shapes and dtypes (the card itself is not run):

- ``codes``: the fast path, uint8 (N, 224, 224, 3) NHWC pixels -> ``inputs.to_card`` (range
  check) -> ``pack_input`` into a preallocated card buffer -> ``unpack_outputs`` (top-5 as
  int64, logits dequantised to float32);
- ``dropin``: the model's own input, float32 (N, 3, 224, 224) NCHW pixel values 0..255 (what
  ``model(x)`` takes) -> whole-number and range checks, NCHW -> NHWC, uint8 -> the same pack
  and unpack;
- ``host_topk``: top-5 ranked on the host from float logits (N, 1000).

Targets: codes >= 10,000 images/s (the host never limits a 6,000 FPS card), dropin >= 2,000.
Writes ``benchmarks/results/bench_host.json`` with the machine's conditions.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_host.py
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import CACHE, conditions, resnet50_onnx, save  # noqa: E402

from alveoflow.runtime.build import Build  # noqa: E402

BUILD = CACHE / "bench_host_build"


def host_build(folder: Path = BUILD) -> Build:
    """The QuantResNet50 build (compiled once, then reused)."""
    from alveoflow.compiler.buildfmt import is_build
    from alveoflow.compiler.config import BuildConfig
    from alveoflow.compiler.pipeline import build
    from alveoflow.runtime.build import open_build

    if not is_build(folder):
        build(resnet50_onnx(224), BuildConfig.from_mapping({"plan": False}), folder)
    return open_build(folder)


def card_outputs(build: Build, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random card outputs of the build's shapes and storage dtypes."""
    out = {}
    for stage in build.plan.outputs:
        shape = (n, *stage.card.shape[1:])
        if stage.kind == "topk":
            out[stage.card.name] = rng.integers(0, 1000, size=shape).astype(stage.card_dtype)
        else:
            out[stage.card.name] = rng.integers(-5000, 5000, size=shape).astype(stage.card_dtype)
    return out


def host_pass(build: Build, x: torch.Tensor, buf: np.ndarray, card: dict) -> None:
    """What the module does around one card call, card excluded."""
    from alveoflow.runtime.inputs import InputSpec, to_card
    from alveoflow.runtime.packing import pack_input, unpack_outputs

    arr = to_card(x.numpy(), InputSpec.of(build))
    pack_input(arr, build.plan.input, out=buf[: arr.shape[0]])
    unpack_outputs(card, build.plan)


def rate(fn: Callable[[], object], n: int, min_time: float) -> float:
    """Images per second of ``fn`` (``n`` images a call), over at least ``min_time`` s."""
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and count >= 3:
            return n * count / elapsed


def main() -> None:
    from alveoflow.runtime.packing import topk_indices

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng, n = np.random.default_rng(0), args.batch
    build = host_build()
    pixels = rng.integers(0, 256, size=(n, 224, 224, 3), dtype=np.uint8)
    inputs = {
        "codes": torch.from_numpy(pixels),
        "dropin": torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))).float(),
    }
    buf = np.empty((n, *build.plan.input.card.shape[1:]), build.plan.input.card_dtype)
    card = card_outputs(build, n, rng)
    result: dict[str, object] = {
        "network": "QuantResNet50 w1a2r4 v1.0, 224x224 (common.resnet50_onnx), plan=False",
        "batch": n,
        "threads": torch.get_num_threads(),
        "conditions": conditions(),
    }
    for name, x in inputs.items():
        ips = rate(lambda x=x: host_pass(build, x, buf, card), n, args.min_time)
        result[f"{name}_images_per_s"] = round(ips, 1)
    logits = rng.standard_normal((n, 1000)).astype(np.float32)
    result["host_topk5_images_per_s"] = round(rate(lambda: topk_indices(logits, 5), n, 1.0), 1)
    result["codes_vs_target_10000"] = round(result["codes_images_per_s"] / 10000, 2)  # type: ignore[operator]
    result["dropin_vs_target_2000"] = round(result["dropin_images_per_s"] / 2000, 2)  # type: ignore[operator]
    save("bench_host", result)


if __name__ == "__main__":
    main()
