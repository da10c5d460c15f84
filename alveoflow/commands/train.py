"""``alveoflow train``: quantisation-aware training of a model of the ``alveoflow.qnn`` family.

Builds ``--model`` (or rebuilds the model a ``--resume`` checkpoint describes), loads
``--data`` (``fashion-mnist``, a folder with the Fashion-MNIST IDX files, or an ImageNet-style
folder with ``train/`` and ``val/`` class sub-folders) and trains it with ``--recipe``:

- ``qat`` (default): :func:`alveoflow.train.train` on the model as built.
- ``float-then-qat``: :func:`alveoflow.train.recipe.run_recipe`: float twin, initialisation,
  distillation, BatchNorm re-estimation, ``final.pt``.

Options left unset take the recipe's defaults (:func:`recipe_defaults`). The run folder gets
``metrics.csv``, ``curves.png``, ``last.pt`` and ``best.pt`` (plus ``float/``, ``final.pt``
and ``recipe.json`` for the recipe); the checkpoints load with
``QuantResNet.from_checkpoint`` and ``alveoflow export --checkpoint``. A folder that already
holds a run is refused unless ``--resume`` (continue it; the same command with ``--resume``
added) or ``--force`` (overwrite it) is given, and it is checked to be writable before any
data is loaded. Inputs are scaled to what the model expects: 0..255 pixels when its config
says ``pixel_input``, otherwise [0, 1] floats normalised with the config's pixel mean and std.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset, Subset

from alveoflow.errors import ConfigError

FASHION_MNIST = "fashion-mnist"
RESUME_RUN = "run"
"""``--resume`` without a path: continue the run in ``--out``."""

QAT_DEFAULTS: dict[str, Any] = dict(
    optimizer="sgd", lr=0.1, weight_decay=5e-4, stats_batch_size=0, alpha=0.5, temperature=4.0
)


def recipe_defaults(recipe: str) -> dict[str, Any]:
    """Values of the options left unset, per recipe (float-then-qat: ``recipe.QAT_DEFAULTS``)."""
    if recipe == "qat":
        return QAT_DEFAULTS
    from alveoflow.train.recipe import QAT_DEFAULTS as RECIPE

    names = {"alpha": "distill_alpha", "temperature": "distill_temperature"}
    return {key: RECIPE[names.get(key, key)] for key in QAT_DEFAULTS}


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
    model.add_argument(
        "--teacher",
        metavar="CK",
        help="teacher to distil from: an alveoflow checkpoint (quantised or float twin) or a "
        "plain torchvision ResNet-18/34/50 state_dict (torch.save(model.state_dict()))",
    )
    model.add_argument("--alpha", type=float, help="distillation loss weight (recipe default)")
    model.add_argument("--temperature", type=float, help="distillation temperature")
    recipe = parser.add_argument_group("recipe")
    recipe.add_argument(
        "--recipe",
        choices=("qat", "float-then-qat"),
        default="qat",
        help="qat: train the quantised model as built; float-then-qat: train its float twin, "
        "initialise from it, distil from it, re-estimate BatchNorm (see docs/training.md)",
    )
    recipe.add_argument(
        "--float-epochs", type=int, default=0, help="float twin epochs (0: same as --epochs)"
    )
    recipe.add_argument("--float-lr", type=float, default=2e-3, help="float twin peak lr (AdamW)")
    recipe.add_argument(
        "--float-checkpoint", metavar="CK", help="load the float twin instead of training it"
    )
    recipe.add_argument(
        "--bn-batches",
        type=int,
        default=100,
        help="batches of un-augmented training images for the final BatchNorm re-estimation",
    )
    recipe.add_argument(
        "--no-distill", action="store_true", help="float-then-qat without the teacher"
    )
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
    opt.add_argument("--lr", type=float, help="peak learning rate (recipe default)")
    opt.add_argument("--optimizer", choices=("sgd", "adamw"), help="(recipe default)")
    opt.add_argument("--schedule", choices=("cosine", "step", "constant"), default="cosine")
    opt.add_argument("--warmup", type=float, default=0.0, help="warm-up epochs")
    opt.add_argument("--weight-decay", type=float, help="(recipe default)")
    opt.add_argument("--label-smoothing", type=float, default=0.0)
    opt.add_argument(
        "--stats-batch-size",
        type=int,
        metavar="N",
        help="initialise Brevitas activation scales before training with batches "
        "of N samples (fast on CPU); 0: during the first training steps (recipe default)",
    )
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder")
    run_group.add_argument(
        "--resume",
        nargs="?",
        const=RESUME_RUN,
        metavar="CK",
        help="continue the run in --out (no value), or resume from checkpoint CK",
    )
    run_group.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    run_group.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="also write last.pt every STEPS steps (0: each epoch), to resume mid-epoch",
    )
    run_group.add_argument(
        "--log-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="log loss and images/s per device every STEPS steps (0: each epoch)",
    )
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


def resume_path(args: argparse.Namespace) -> str | None:
    """The checkpoint ``--resume`` names (``--out``'s last.pt when given without a path)."""
    if args.resume is None:
        return None
    if args.resume == RESUME_RUN:
        path = Path(args.out) / "last.pt"
        if args.recipe == "qat" and not path.is_file():
            raise ConfigError(f"--resume: {args.out} holds no last.pt to continue")
        return str(path)
    return str(args.resume)


def build_student(args: argparse.Namespace) -> Any:
    """The model to train: from the resumed checkpoint's config for ``qat``, else ``--model``
    with its options (and the recipe's ``scale_init``)."""
    from alveoflow import qnn

    options = _model_options(args)
    if args.recipe == "float-then-qat":
        options.setdefault("scale_init", "mse")
    resume = resume_path(args)
    if resume and args.recipe == "qat":
        return qnn.load_checkpoint(resume)
    return qnn.build_model(args.model, **options)


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
            path, size=size, resize=round(size * 8 / 7), mode=mode, augment=augment, **scaling
        )
    return fashion_mnist_datasets(root=path, augment=augment, **scaling)


def _limit(data: Dataset, count: int | None) -> Dataset:
    if count is None or count >= len(data):  # type: ignore[arg-type]
        return data
    return Subset(data, range(count))


def option(args: argparse.Namespace, name: str) -> Any:
    """``args.<name>``, or the recipe's default when the option was left unset."""
    value = getattr(args, name)
    return recipe_defaults(args.recipe)[name] if value is None else value


def training_config(args: argparse.Namespace) -> Any:
    from alveoflow.train import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=option(args, "lr"),
        optimizer=option(args, "optimizer"),
        schedule=args.schedule,
        warmup_epochs=args.warmup,
        weight_decay=option(args, "weight_decay"),
        label_smoothing=args.label_smoothing,
        stats_batch_size=option(args, "stats_batch_size"),
        device=args.device,
        amp=not args.no_amp,
        threads=args.threads,
        num_workers=args.workers,
        distill_alpha=option(args, "alpha"),
        distill_temperature=option(args, "temperature"),
        out_dir=args.out,
        resume=resume_path(args),
        overwrite=args.force,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        seed=args.seed,
        progress=not args.no_progress,
        extra={
            "data": args.data,
            "augment": not args.no_augment,
            "limit_train": args.limit_train,
            "limit_val": args.limit_val,
        },
    )


def recipe_config(args: argparse.Namespace) -> Any:
    from alveoflow.train.recipe import RecipeConfig

    return RecipeConfig(
        float_epochs=args.float_epochs,
        float_lr=args.float_lr,
        float_checkpoint=args.float_checkpoint,
        teacher=args.teacher,
        distill=not args.no_distill,
        bn_batches=args.bn_batches,
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from alveoflow.train.distributed import dist_from_env
    from alveoflow.train.rundir import prepare_run_dir

    config = training_config(args)  # validate options before loading anything
    recipe = recipe_config(args) if args.recipe == "float-then-qat" else None
    if args.resume is not None and args.force:
        raise ConfigError("--resume and --force contradict each other; give one")
    if dist_from_env().is_main:  # under torchrun, rank 0 owns the run folder
        prepare_run_dir(args.out, resume=args.resume is not None, overwrite=args.force)
    torch.manual_seed(args.seed)
    model = build_student(args)
    train_data, val_data = load_data(args.data, model, augment=not args.no_augment)
    train_data = _limit(train_data, args.limit_train)
    val_data = _limit(val_data, args.limit_val)
    if recipe is not None:
        return _run_recipe(args, model, train_data, val_data, config, recipe)
    return _run_qat(args, model, train_data, val_data, config)


def _run_qat(args: argparse.Namespace, model: Any, train_data, val_data, config) -> int:
    from alveoflow.train import train
    from alveoflow.train.teacher import load_teacher

    teacher = load_teacher(args.teacher, model) if args.teacher else None
    result = train(
        model,
        train_data,
        val_data,
        config,
        teacher=teacher,
        extra_state={"recipe": {"recipe": "qat"}, "teacher": args.teacher},
        check_run_dir=False,
    )
    final = result.final
    print(
        f"trained {len(result.history)} epoch(s): val acc {final.get('val_acc', float('nan')):.4f}"
        f" (best {result.best_val_acc:.4f} at epoch {result.best_epoch}); "
        f"files in {result.out_dir}"
    )
    return 0


def _run_recipe(args: argparse.Namespace, model: Any, train_data, val_data, config, recipe) -> int:
    from alveoflow.train.recipe import check_resumable, run_recipe

    resume = args.resume is not None
    if resume:
        check_resumable(args.out, model, config, recipe)
    bn_data = _limit(load_data(args.data, model, augment=False)[0], args.limit_train)
    result = run_recipe(model, train_data, val_data, bn_data, config, recipe, resume=resume)
    print(
        f"float-then-qat: float twin val acc {result.float_val_acc:.4f}; quantised after QAT "
        f"{result.qat.final.get('val_acc', float('nan')):.4f}, after BatchNorm re-estimation "
        f"{result.final_val_acc:.4f}; model to export: {result.final_checkpoint}"
    )
    return 0
