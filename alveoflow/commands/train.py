"""``alveoflow train``: quantisation-aware training of a model of the ``alveoflow.qnn`` family.

Builds ``--model`` (or rebuilds the model a ``--resume`` checkpoint describes), loads
``--data`` (``fashion-mnist``, a folder with the Fashion-MNIST IDX files, or an ImageNet-style
folder with ``train/`` and ``val/`` class sub-folders), and calls :func:`alveoflow.train.train`.
The run folder gets ``metrics.csv``, ``curves.png``, ``last.pt`` and ``best.pt``; the
checkpoints load with ``QuantResNet.from_checkpoint`` and ``alveoflow export --checkpoint``.
Inputs are scaled to what the model expects: 0..255 pixels when its config says
``pixel_input``, otherwise [0, 1] floats normalised with the config's pixel mean and std.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset, Subset

from alveoflow.errors import ConfigError

FASHION_MNIST = "fashion-mnist"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="quantisation-aware training (Fashion-MNIST or an image folder)",
        description="Quantisation-aware training of an alveoflow.qnn model on Fashion-MNIST "
        "or an ImageNet-style folder. Writes metrics.csv, curves.png, last.pt and best.pt to "
        "--out; the checkpoints load with `alveoflow export --checkpoint`. Runs on one CPU, one "
        "GPU (mixed precision) or several GPUs with "
        "`torchrun --nproc-per-node N -m alveoflow.cli train ...`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """All ``train`` options (shared with ``examples/train.py``)."""
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", default="resnet_small_28", help="model name from alveoflow.qnn.MODELS"
    )
    model.add_argument("--bits", help="bit widths, e.g. w1a2r4 or w4a4 (model default if unset)")
    model.add_argument("--width", type=float, help="channel width multiplier (model default)")
    model.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="any other model config field, e.g. num_classes=10 (repeatable)",
    )
    model.add_argument("--teacher", metavar="CK", help="float teacher checkpoint to distil from")
    model.add_argument("--alpha", type=float, default=0.5, help="distillation loss weight")
    model.add_argument("--temperature", type=float, default=4.0, help="distillation temperature")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default=FASHION_MNIST,
        help="'fashion-mnist', a folder of its IDX files, or a folder with "
        "train/ and val/ class sub-folders",
    )
    data.add_argument("--limit-train", type=int, metavar="N", help="use the first N train samples")
    data.add_argument("--limit-val", type=int, metavar="N", help="use the first N val samples")
    data.add_argument("--no-augment", action="store_true", help="no random crop/flip")
    data.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--epochs", type=int, default=10)
    opt.add_argument("--batch-size", type=int, default=128, help="per process")
    opt.add_argument("--lr", type=float, default=0.1, help="peak learning rate")
    opt.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    opt.add_argument("--schedule", choices=("cosine", "step", "constant"), default="cosine")
    opt.add_argument("--warmup", type=float, default=0.0, help="warm-up epochs")
    opt.add_argument("--weight-decay", type=float, default=5e-4)
    opt.add_argument("--label-smoothing", type=float, default=0.0)
    opt.add_argument(
        "--stats-batch-size",
        type=int,
        default=0,
        metavar="N",
        help="initialise Brevitas activation scales before training with batches "
        "of N samples (fast on CPU); 0: during the first training steps",
    )
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder")
    run_group.add_argument("--resume", metavar="CK", help="checkpoint to resume from")
    run_group.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    run_group.add_argument("--no-amp", action="store_true", help="no mixed precision on GPU")
    run_group.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    run_group.add_argument("--seed", type=int, default=0)
    run_group.add_argument("--no-progress", action="store_true", help="no progress bars")


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.model_option:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--model-option needs KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    if args.bits:
        options["bits"] = args.bits
    if args.width is not None:
        options["width"] = args.width
    return options


def build_student(args: argparse.Namespace) -> Any:
    """The model to train: from ``--resume``'s config if given, else ``--model`` + options."""
    from alveoflow import qnn

    if args.resume:
        return qnn.load_checkpoint(args.resume)
    return qnn.build_model(args.model, **_model_options(args))


def input_scaling(model: Any) -> dict[str, Any]:
    """``scale``/``normalize`` keyword arguments matching the model's expected input."""
    from alveoflow.data.transforms import Normalize

    config = getattr(model, "config", None)
    if config is None or getattr(config, "pixel_input", False):
        return {"scale": 1.0 if config is not None else 1.0 / 255.0, "normalize": None}
    mean = [m / 255.0 for m in config.pixel_mean]
    std = [config.pixel_std / 255.0] * len(mean)
    return {"scale": 1.0 / 255.0, "normalize": Normalize(mean, std)}


def load_data(spec: str, model: Any, augment: bool = True) -> tuple[Dataset, Dataset]:
    """(train, val) datasets for ``--data`` shaped for ``model``."""
    from alveoflow.data import fashion_mnist_datasets, image_folder_datasets

    scaling = input_scaling(model)
    if spec == FASHION_MNIST:
        return fashion_mnist_datasets(augment=augment, **scaling)
    path = Path(spec)
    if not path.exists():
        raise ConfigError(f"--data {spec!r}: no such folder; use '{FASHION_MNIST}' or a folder")
    if (path / "train").is_dir():
        config = getattr(model, "config", None)
        size = getattr(config, "input_size", 224)
        mode = "L" if getattr(config, "in_channels", 3) == 1 else "RGB"
        return image_folder_datasets(
            path, size=size, resize=round(size * 8 / 7), mode=mode, **scaling
        )
    return fashion_mnist_datasets(root=path, augment=augment, **scaling)


def _limit(data: Dataset, count: int | None) -> Dataset:
    if count is None or count >= len(data):  # type: ignore[arg-type]
        return data
    return Subset(data, range(count))


def training_config(args: argparse.Namespace) -> Any:
    from alveoflow.train import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        schedule=args.schedule,
        warmup_epochs=args.warmup,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        stats_batch_size=args.stats_batch_size,
        device=args.device,
        amp=not args.no_amp,
        threads=args.threads,
        num_workers=args.workers,
        distill_alpha=args.alpha,
        distill_temperature=args.temperature,
        out_dir=args.out,
        resume=args.resume,
        seed=args.seed,
        progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from alveoflow import qnn
    from alveoflow.train import train

    config = training_config(args)  # validate options before loading anything
    torch.manual_seed(args.seed)
    model = build_student(args)
    train_data, val_data = load_data(args.data, model, augment=not args.no_augment)
    teacher = qnn.load_checkpoint(args.teacher) if args.teacher else None
    result = train(
        model,
        _limit(train_data, args.limit_train),
        _limit(val_data, args.limit_val),
        config,
        teacher=teacher,
    )
    final = result.final
    print(
        f"trained {len(result.history)} epoch(s): val acc {final.get('val_acc', float('nan')):.4f}"
        f" (best {result.best_val_acc:.4f} at epoch {result.best_epoch}); "
        f"files in {result.out_dir}"
    )
    return 0
