"""The main job (``make demo``): the whole mission on real data, in about ten minutes on 2 cores.

1. Train the small w1a2r4 quantised ResNet (``resnet_small_28``) on Fashion-MNIST (the Debian
   package ``dataset-fashion-mnist``, offline) with the ``float-then-qat`` recipe
   (``alveoflow.train.recipe``: one epoch of its float twin, then one epoch of
   quantisation-aware training initialised from and distilled from it, then BatchNorm
   re-estimation); ``--recipe qat`` trains the quantised model directly (one epoch, faster).
2. ``model.to_alveo()``: export to QONNX, compile to the integer dataflow graph, plan it.
3. Run the whole test set through the generated C++ (``cppsim``) and through an emulated card
   (the PYNQ host path with buffers, banks and kernel calls), and count the images whose
   prediction differs from the quantised PyTorch model's (it must be 0).
4. Compile QuantResNet50 for the U250 and print its estimated FPS, latency and resources next
   to the reference design's published figures.
5. Write ``OUT/index.html`` (training curves, the comparison, links to the compile reports).

``python -m alveoflow.demo --help`` lists the options; ``--quick`` is a smoke run for tests.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

# ResNet50-PYNQ on the U250 (shared/reference/resnet50_u250.md, section 5): measured figures.
REFERENCE = {
    "fps_batch1000": 2703.0,
    "fps_theory": 4429.0,  # 56,448-cycle interval at 250 MHz
    "latency_ms_batch1": 1.9,
    "lut": 1_027_000,
    "bram36": 1935,
    "uram": 109,
    "dsp": 1611,
}


@dataclass
class Steps:
    """Prints each step with its wall time; keeps the timings for the summary."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        print(f"\n== {title}", flush=True)
        start = time.perf_counter()
        yield
        took = time.perf_counter() - start
        self.seconds[title] = took
        print(f"   done in {took:.1f} s", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m alveoflow.demo",
        description="Train, compile and run a quantised ResNet on Fashion-MNIST; estimate "
        "QuantResNet50 on the U250.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (per phase)")
    parser.add_argument(
        "--recipe",
        choices=("float-then-qat", "qat"),
        default="float-then-qat",
        help="float-then-qat: float twin, then distilled QAT (see docs/training.md); "
        "qat: quantisation-aware training only",
    )
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="skip training: load this checkpoint"
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for training")
    parser.add_argument("--data-root", default=None, help="folder with Fashion-MNIST IDX files")
    parser.add_argument(
        "--cppsim-images",
        type=int,
        default=500,
        help="test images also run through the generated C++ (about 0.1 s each on 2 cores; "
        "the bit-exact simulator and the emulated card take the whole test set)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2,000 training images, 500 test images, ResNet-50 at 64x64",
    )
    return parser.parse_args(argv)


def train_small(args: argparse.Namespace, run_dir: Path) -> tuple[Any, Any]:
    """Train ``resnet_small_28`` with ``args.recipe`` (or load ``--checkpoint``); returns
    (model in eval mode, test data set). The run folder is the demo's own: it is replaced."""
    from torch.utils.data import Subset

    from alveoflow.data import fashion_mnist_datasets
    from alveoflow.qnn import QuantResNet, build_model
    from alveoflow.train import TrainConfig, train
    from alveoflow.train.recipe import QAT_DEFAULTS, RecipeConfig, run_recipe

    train_data, test_data = fashion_mnist_datasets(args.data_root, augment=False, scale=1.0)
    if args.quick:
        train_data = Subset(train_data, range(2000))
        test_data = Subset(test_data, range(500))
    if args.checkpoint is not None:
        return QuantResNet.from_checkpoint(args.checkpoint).eval(), test_data
    torch.manual_seed(0)
    common = dict(
        epochs=args.epochs,
        batch_size=128,
        threads=args.threads,
        out_dir=str(run_dir),
        overwrite=True,
    )
    if args.recipe == "qat":  # the recipe of examples/train.py
        model = build_model("resnet_small_28")
        config = TrainConfig(
            lr=0.01, optimizer="adamw", weight_decay=0.0, stats_batch_size=8, **common
        )
        train(model, train_data, test_data, config)
        return model.eval(), test_data
    model = build_model("resnet_small_28", scale_init="mse")
    config = TrainConfig(**QAT_DEFAULTS, **common)
    result = run_recipe(model, train_data, test_data, train_data, config, RecipeConfig())
    print(
        f"   float twin: {result.float_val_acc:.2%}; w1a2r4 after QAT "
        f"{result.qat.final['val_acc']:.2%}, after BatchNorm re-estimation "
        f"{result.final_val_acc:.2%}"
    )
    return model.eval(), test_data


def test_arrays(test_data: Any) -> tuple[torch.Tensor, np.ndarray]:
    """All test images as one float NCHW tensor (0..255) and their labels."""
    from alveoflow.data import stack_batch

    images, labels = stack_batch(test_data, list(range(len(test_data))))
    return images, labels.numpy()


def in_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, size: int = 500):
    from tqdm import tqdm

    parts = [fn(x[i : i + size]) for i in tqdm(range(0, len(x), size), unit="batch", leave=False)]
    return torch.cat(parts)


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Float NCHW 0..255 -> what the card takes: uint8 NHWC."""
    return x.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).contiguous()


def run_on_backends(
    model: Any, images: torch.Tensor, build_dir: Path, cppsim_images: int
) -> dict[str, Any]:
    """PyTorch predictions vs the generated C++ (first ``cppsim_images``) and the emulated
    card (every image), image for image."""
    from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq
    from alveoflow.runtime.module import AlveoModule

    with torch.inference_mode():
        torch_pred = in_batches(lambda b: model(b).argmax(1), images).numpy()
    pixels = to_pixels(images)
    results: dict[str, Any] = {"torch": torch_pred}
    accel = model.to_alveo(backend="cppsim", build_dir=build_dir)
    results["cppsim"] = in_batches(lambda b: accel(b).argmax(1), pixels[:cppsim_images], 100)
    accel.close()
    api = EmulatedPynq(build_dir)
    with AlveoModule(build_dir, "emulated", card_api=api) as card:
        results["card"] = in_batches(lambda b: card.topk(b, 1)[:, 0], pixels, 100).numpy()
    results["card_transactions"] = sum(len(c.log) for c in api.cards)
    return results


def estimate_resnet50(out: Path, quick: bool) -> dict[str, Any]:
    """Export and compile QuantResNet50 (random weights, BatchNorm calibrated on random
    pixels) for the U250 at 250 MHz, target max; returns report.json."""
    from alveoflow.compiler.config import BuildConfig
    from alveoflow.compiler.pipeline import build as run_build
    from alveoflow.compiler.report.render import render_report
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

    size = 64 if quick else 224
    model = calibrate_bn(build_model("resnet50", input_size=size), batches=2, batch_size=1)
    onnx_path = out / "resnet50.onnx"
    to_qonnx(model, onnx_path, (1, 3, size, size), "UINT8")
    build = out / "resnet50_u250"
    run_build(onnx_path, BuildConfig(platform="u250", clock_mhz=250.0), build)
    render_report(build)
    return json.loads((build / "report.json").read_text())


def comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    est = report["estimate"]
    res = est["resources"]["total"]
    return [
        ("throughput (FPS)", f"{est['fps']:,.0f} (estimate)",
         f"{REFERENCE['fps_batch1000']:,.0f} measured, {REFERENCE['fps_theory']:,.0f} in theory"),
        ("batch-1 latency", f"{est['latency_ms']:.2f} ms (in fabric)",
         f"{REFERENCE['latency_ms_batch1']} ms measured (with host)"),
        ("LUT", f"{res['lut'] / 1e3:,.0f}k", f"{REFERENCE['lut'] / 1e3:,.0f}k"),
        ("BRAM36", f"{res['bram36']:,.0f}", f"{REFERENCE['bram36']:,}"),
        ("URAM", f"{res['uram']:,.0f}", f"{REFERENCE['uram']:,}"),
        ("DSP", f"{res['dsp']:,.0f}", f"{REFERENCE['dsp']:,}"),
    ]


def write_index(out: Path, summary: dict[str, Any], rows: list[tuple[str, str, str]]) -> Path:
    table = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in rows
    )
    facts = "".join(
        f"<li>{html.escape(k)}: <b>{html.escape(str(v))}</b></li>" for k, v in summary.items()
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>alveoflow demo</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:4px 12px}}
table{{border-collapse:collapse}}tr:nth-child(even){{background:#f3f3f3}}</style></head><body>
<h1>alveoflow: the main job</h1><ul>{facts}</ul>
<h2>Training (Fashion-MNIST, w1a2r4 small ResNet)</h2><img src="train/curves.png" width="640">
<h2>QuantResNet50 on the U250 vs ResNet50-PYNQ</h2>
<table><tr><th></th><th>alveoflow (estimate)</th><th>reference (published)</th></tr>{table}
</table><p><a href="resnet50_u250/report.html">full ResNet-50 compile report</a> ·
<a href="small_build/report.json">small network report.json</a></p></body></html>"""
    path = out / "index.html"
    path.write_text(page)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps()
    start = time.perf_counter()
    with steps.step("1/4 train a w1a2r4 ResNet on Fashion-MNIST (CPU)"):
        model, test_data = train_small(args, out / "train")
    with steps.step("2/4 compile it and run the test set on cppsim and an emulated card"):
        images, labels = test_arrays(test_data)
        preds = run_on_backends(model, images, out / "small_build", args.cppsim_images)
        accuracy = float(np.mean(preds["torch"] == labels))
        print(f"   test accuracy of the quantised PyTorch model: {accuracy:.2%}")
        n_cpp = len(preds["cppsim"])
        diff_cpp = int(np.sum(preds["cppsim"].numpy() != preds["torch"][:n_cpp]))
        diff_card = int(np.sum(preds["card"] != preds["torch"]))
        card_acc = float(np.mean(preds["card"] == labels))
        print(f"   generated C++ (cppsim): differs from PyTorch on {diff_cpp} of {n_cpp} images")
        print(f"   emulated card: differs from PyTorch on {diff_card} of {len(labels)} images "
              f"({preds['card_transactions']} card transactions); accuracy {card_acc:.2%}")
    with steps.step("3/4 compile QuantResNet50 for the U250 (250 MHz, target max)"):
        report = estimate_resnet50(out, args.quick)
        rows = comparison_rows(report)
        for name, ours, ref in rows:
            print(f"   {name:<18} {ours:<26} reference: {ref}")
    with steps.step("4/4 write the report"):
        summary = {
            "test accuracy (quantised PyTorch)": f"{accuracy:.2%}",
            f"images where cppsim != PyTorch (of {n_cpp})": diff_cpp,
            f"images where the emulated card != PyTorch (of {len(labels)})": diff_card,
            "QuantResNet50 U250 estimate": f"{report['estimate']['fps']:,.0f} FPS, "
            f"{report['estimate']['latency_ms']:.2f} ms at batch 1",
            "total time": f"{time.perf_counter() - start:.0f} s",
        }
        index = write_index(out, summary, rows)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print("\n" + "=" * 72)
    for key, value in summary.items():
        print(f"  {key:<54} {value}")
    print(f"  {'report':<54} {index}")
    print("=" * 72)
    ok = diff_cpp == 0 and diff_card == 0
    if not ok:
        print("FAILED: the accelerator disagrees with PyTorch on some images", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
