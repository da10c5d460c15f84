"""Throughput of the bit-exact reference executor vs a float32 PyTorch ResNet-50; prints JSON.

Runs the real QuantResNet50 (``common.resnet50_onnx``, compiled to its lowered graph; uint8
224x224 NHWC pixels) with
``run_graph`` at batch ``--batch`` (default 8) on the CPU, and in the same process a float32
ResNet-50 of the same shapes built by hand from ``torch.nn`` (conv/BN/ReLU bottlenecks with
the stride on the first 1x1 as in v1.0, max pool, global average pool, FC; eval mode,
default NCHW memory format, inference mode). Reports images/s of both and their ratio
(target: ``ratio >= 1.0``; the two are timed alternately and the ratio is the median over
the pairs, which keeps it meaningful on a shared, loaded machine; the 1-minute load
average before and after is reported too). Threads are left at torch's default: run it
with ``OMP_NUM_THREADS`` unset.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_sim.py [--batch 8] [--repeats 5]

Writes ``benchmarks/results/bench_sim.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import torch
from common import conditions, resnet50_onnx, save
from torch import nn

from alveoflow.compiler.pipeline import compile_qonnx
from alveoflow.compiler.semantics import run_graph


def _conv_bn(cin: int, cout: int, k: int, stride: int, relu: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)]
    layers.append(nn.BatchNorm2d(cout))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class _Bottleneck(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        cout = planes * 4
        self.branch = nn.Sequential(
            *_conv_bn(cin, planes, 1, stride, True),
            *_conv_bn(planes, planes, 3, 1, True),
            *_conv_bn(planes, cout, 1, 1, False),
        )
        proj = stride != 1 or cin != cout
        self.shortcut = nn.Sequential(*_conv_bn(cin, cout, 1, stride, False)) if proj else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(self.branch(x) + short)


def float_resnet50(num_classes: int = 1000) -> nn.Module:
    """A float32 ResNet-50 v1.0 with random weights (no torchvision)."""
    layers: list[nn.Module] = [*_conv_bn(3, 64, 7, 2, True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)):
        for i in range(blocks):
            layers.append(_Bottleneck(cin, planes, 2 if stage > 0 and i == 0 else 1))
            cin = planes * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers).eval()


def _interleaved(
    a: Callable[[], object], b: Callable[[], object], repeats: int
) -> tuple[float, float, float]:
    """Median seconds of ``a`` and of ``b``, timed alternately (so load changes hit both),
    and the median of the per-pair ratios time(b) / time(a)."""
    a()  # warm-up (and the executor's per-graph preparation)
    b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, out in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    ratios = [y / x for x, y in zip(ta, tb, strict=True)]
    return float(np.median(ta)), float(np.median(tb)), float(np.median(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    before = conditions()
    graph = compile_qonnx(resnet50_onnx()).graph
    pixels = rng.integers(0, 256, size=(args.batch, 224, 224, 3), dtype=np.uint8)
    model = float_resnet50()
    x = torch.from_numpy(rng.normal(size=(args.batch, 3, 224, 224)).astype(np.float32))

    def run_torch() -> None:
        with torch.inference_mode():
            model(x)

    load_before = os.getloadavg()[0]
    sim, ref, ratio = _interleaved(
        lambda: run_graph(graph, {graph.inputs[0].name: pixels}), run_torch, args.repeats
    )
    result = {
        "benchmark": "sim_executor_vs_float_torch_resnet50",
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "sim_images_per_s": round(args.batch / sim, 2),
        "torch_float32_images_per_s": round(args.batch / ref, 2),
        "ratio": round(ratio, 3),  # median over alternating pairs of torch time / sim time
        "target_ratio": 1.0,
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after
        "conditions": {"before": before, "after": conditions()},
    }
    save("bench_sim", result)


if __name__ == "__main__":
    main()
