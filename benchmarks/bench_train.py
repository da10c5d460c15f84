#!/usr/bin/env python3
"""Training recipes side by side on Fashion-MNIST: float, naive w1a2r4 QAT, the recipe.

Three models of one topology (``resnet_small_28``: three basic-block stages of 16/32/64
channels), each trained for the same ``--epochs`` on the 60,000 training images and scored
on all 10,000 test images:

- ``float``: the float twin (``alveoflow.qnn.float_twin.FloatResNet``), AdamW, cosine;
  this is also the recipe's float phase (trained once, used by both rows);
- ``naive_qat``: w1a2r4 trained directly with the project's earlier recipe
  (``examples/train.py``: AdamW at 0.01, cosine, percentile-initialised scales);
- ``recipe``: w1a2r4 with ``float-then-qat`` (``alveoflow.train.recipe``): initialised from
  the float model, MSE-initialised learned scales, distilled from the float model,
  BatchNorm re-estimated. Its QAT phase has the same epoch count; the float phase it
  starts from is the ``float`` row, so its training cost is the sum of both rows' times.

The recipe's model is then compiled (``model.to_alveo(backend="sim")``) and all 10,000 test
images run through the built module: the JSON counts the images whose prediction differs
from the PyTorch model's and the largest logit difference. No augmentation, batch 128, seed 0.

    PYTHONPATH=. python benchmarks/bench_train.py --epochs 1 \\
        --json benchmarks/results/bench_train.json

Prints one JSON document (also written to ``--json``); ``--markdown`` adds the table.
Times are wall-clock seconds on this machine under whatever else it runs (the load average
is recorded); compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

MODEL = "resnet_small_28"
BITS = "w1a2r4"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("out/bench_train"), help="run folders")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--markdown", action="store_true", help="print the table too")
    parser.add_argument("--data-root", default=None, help="folder with Fashion-MNIST IDX files")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2,000 train / 1,000 test images"
    )
    return parser.parse_args(argv)


def load(args: argparse.Namespace) -> tuple[Any, Any]:
    from torch.utils.data import Subset

    from alveoflow.data import fashion_mnist_datasets

    train_data, test_data = fashion_mnist_datasets(args.data_root, augment=False, scale=1.0)
    if args.quick:
        return Subset(train_data, range(2000)), Subset(test_data, range(1000))
    return train_data, test_data


def qat_config(args: argparse.Namespace, out: Path, **changes: Any) -> Any:
    from alveoflow.train import TrainConfig

    base = dict(
        epochs=args.epochs,
        batch_size=128,
        optimizer="adamw",
        weight_decay=0.0,
        threads=args.threads,
        device="cpu",
        stats_batch_size=8,
        out_dir=str(out),
        overwrite=True,
        progress=False,
        seed=0,
    )
    return TrainConfig(**{**base, **changes})


def train_naive(args: argparse.Namespace, data: tuple[Any, Any]) -> dict[str, Any]:
    from alveoflow.qnn import build_model
    from alveoflow.train import train

    torch.manual_seed(0)
    model = build_model(MODEL, bits=BITS)
    start = time.perf_counter()
    result = train(model, data[0], data[1], qat_config(args, args.out / "naive", lr=0.01))
    return {
        "top1": result.final["val_acc"],
        "train_seconds": time.perf_counter() - start,
        "history": result.history,
        "settings": "AdamW lr 0.01, cosine, percentile-initialised scales, no teacher",
    }


def train_recipe(args: argparse.Namespace, data: tuple[Any, Any]) -> tuple[Any, dict, dict]:
    """The recipe (float phase included): returns (model, float row, recipe row)."""
    from alveoflow.qnn import build_model
    from alveoflow.train.recipe import QAT_DEFAULTS, RecipeConfig, run_recipe

    torch.manual_seed(0)
    model = build_model(MODEL, bits=BITS, scale_init="mse")
    recipe = RecipeConfig()
    cfg = qat_config(args, args.out / "recipe", **QAT_DEFAULTS)
    start = time.perf_counter()
    result = run_recipe(model, data[0], data[1], data[0], cfg, recipe)
    total = time.perf_counter() - start
    float_seconds = _float_seconds(args.out / "recipe")
    float_row = {
        "top1": result.float_val_acc,
        "train_seconds": float_seconds,
        "settings": f"AdamW lr {recipe.float_lr}, weight decay {recipe.float_weight_decay}, cosine",
    }
    recipe_row = {
        "top1": result.final_val_acc,
        "top1_before_bn_reestimation": result.qat.final["val_acc"],
        "train_seconds": total - float_seconds,
        "train_seconds_with_float_phase": total,
        "history": result.qat.history,
        "settings": {
            **recipe.to_dict(),
            "qat_lr": cfg.lr,
            "distill_alpha": cfg.distill_alpha,
            "distill_temperature": cfg.distill_temperature,
        },
    }
    return model, float_row, recipe_row


def _float_seconds(run: Path) -> float:
    from alveoflow.train.metrics import read_csv

    return float(sum(row["seconds"] for row in read_csv(run / "float" / "metrics.csv")))


def compile_and_compare(model: Any, test_data: Any, build_dir: Path) -> dict[str, Any]:
    """Predictions and logits of the built module vs PyTorch on every test image."""
    from alveoflow.data import stack_batch

    images, labels = stack_batch(test_data, list(range(len(test_data))))
    model.eval()
    start = time.perf_counter()
    accel = model.to_alveo(backend="sim", build_dir=build_dir)
    compile_seconds = time.perf_counter() - start
    chunks = [images[i : i + 500] for i in range(0, len(images), 500)]
    with torch.no_grad():
        reference = torch.cat([_logits(model(chunk)) for chunk in chunks])
    built = torch.cat([accel_logits(accel, chunk) for chunk in chunks])
    differ = int((built.argmax(1) != reference.argmax(1)).sum())
    return {
        "backend": "sim",
        "images": len(images),
        "predictions_differing": differ,
        "max_abs_logit_difference": float((built - reference).abs().max()),
        "top1_built": float((built.argmax(1) == labels).float().mean()),
        "compile_seconds": compile_seconds,
    }


def _logits(output: Any) -> torch.Tensor:
    return output.value if hasattr(output, "value") else output


def accel_logits(accel: Any, pixels: torch.Tensor) -> torch.Tensor:
    """The built module's logits for float NCHW 0..255 pixels (uint8 NHWC where the build
    takes only that form)."""
    from alveoflow.errors import ConfigError

    try:
        return accel(pixels)
    except ConfigError as err:
        if "uint8" not in str(err):
            raise
        return accel(pixels.permute(0, 2, 3, 1).round().to(torch.uint8).contiguous())


def conditions(args: argparse.Namespace, data: tuple[Any, Any]) -> dict[str, Any]:
    return {
        "model": MODEL,
        "bits": BITS,
        "epochs": args.epochs,
        "batch_size": 128,
        "train_images": len(data[0]),
        "test_images": len(data[1]),
        "augmentation": False,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "load_average_at_start": os.getloadavg()[0],
    }


def markdown(report: dict[str, Any]) -> str:
    rows = [
        ("float small ResNet", report["float"]),
        (f"{BITS}, naive QAT", report["naive_qat"]),
        (f"{BITS}, float-then-qat", report["recipe"]),
    ]
    lines = [
        "| model | top-1 (10,000 test images) | training time |",
        "|---|---|---|",
    ]
    for name, row in rows:
        lines.append(f"| {name} | {100 * row['top1']:.2f}% | {row['train_seconds']:.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load(args)
    report: dict[str, Any] = {"conditions": conditions(args, data)}
    model, report["float"], report["recipe"] = train_recipe(args, data)
    report["naive_qat"] = train_naive(args, data)
    report["gap_to_float_points"] = {
        "naive_qat": 100 * (report["float"]["top1"] - report["naive_qat"]["top1"]),
        "recipe": 100 * (report["float"]["top1"] - report["recipe"]["top1"]),
    }
    report["recipe_compile"] = compile_and_compare(model, data[1], args.out / "recipe_build")
    report["conditions"]["load_average_at_end"] = os.getloadavg()[0]
    text = json.dumps(report, indent=1, default=float)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.markdown:
        print(markdown(report))
    ok = report["recipe_compile"]["predictions_differing"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
