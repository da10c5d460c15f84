"""Training recipes: plain QAT, and ``float-then-qat`` which closes most of the gap to float.

``qat``: :func:`alveoflow.train.train` on the quantised model as it is (Brevitas' default
scale initialisation, no teacher unless one is given): the baseline.

``float-then-qat`` (:func:`run_recipe`), in a run folder ``OUT``:

1. **Float twin.** Train the float twin of the student's topology
   (:class:`alveoflow.qnn.float_twin.FloatResNet`: same layers and names, no quantizers) in
   ``OUT/float`` for ``float_epochs``, or load it from ``float_checkpoint`` (a float-twin
   checkpoint or a torchvision ResNet state_dict of the same shapes).
2. **Initialise** the quantised model's conv/BN/FC tensors from the twin. The student's
   quantizers use learned scales initialised by Brevitas' MSE search (``scale_init="mse"``:
   activations, residual stream, 8-bit stem and FC weights); 1-bit body weights keep their
   constant scale, which the BatchNorm after them absorbs. Every scale is a per-tensor float
   that the compiler folds into exact integer thresholds, the residual adds keep one shared
   quantizer per stage, and the stem and FC keep 8-bit weights.
3. **Distil**: QAT in ``OUT`` with the loss ``alpha * KL(teacher || student) + (1 - alpha) *
   CE``, the teacher being the twin (or ``teacher``: any file
   :func:`alveoflow.train.teacher.load_teacher` reads).
4. **Re-estimate BatchNorm** on ``bn_batches`` batches of un-augmented training images
   (:func:`alveoflow.train.bn.reestimate_bn`), evaluate, and write ``OUT/final.pt`` (the
   model to export) and ``OUT/recipe.json`` (every setting and the results).

Every checkpoint of both phases stores the recipe's settings under ``"recipe"`` (and the
phase under ``"phase"``) besides the model config and the ``train_config``. Calling
:func:`run_recipe` again with ``resume=True`` continues where the run stopped: in the float
phase, in the QAT phase (mid-epoch too), or only the last step.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from alveoflow.errors import ConfigError
from alveoflow.qnn.float_twin import FloatResNet, float_twin, init_from_float
from alveoflow.train import checkpoint as ckpt
from alveoflow.train.bn import reestimate_bn
from alveoflow.train.config import TrainConfig, TrainResult
from alveoflow.train.distributed import DistInfo, dist_from_env, pick_device
from alveoflow.train.loop import evaluate, make_loader, train
from alveoflow.train.rundir import prepare_run_dir
from alveoflow.train.teacher import float_twin_from_checkpoint, load_teacher

log = logging.getLogger(__name__)

RECIPES = ("qat", "float-then-qat")
QAT_DEFAULTS: dict[str, Any] = dict(
    optimizer="adamw",
    lr=2e-3,
    weight_decay=0.0,
    stats_batch_size=8,
    distill_alpha=0.5,
    distill_temperature=2.0,
)
"""TrainConfig values of the recipe's QAT phase (the CLI, examples and benchmark use them):
AdamW without weight decay (decay would pull the latent 1-bit weights towards zero, where
their signs flip at random), a peak learning rate a fifth of the naive QAT's because the
model starts from trained weights, soft targets at temperature 2 weighted like the labels."""


@dataclass(frozen=True)
class RecipeConfig:
    """Settings of the ``float-then-qat`` recipe beyond the QAT phase's ``TrainConfig``."""

    recipe: str = "float-then-qat"
    float_epochs: int = 0
    """Epochs of the float twin; 0: as many as the QAT phase."""
    float_lr: float = 2e-3
    """Peak learning rate of the float phase (AdamW, cosine, same batch size and warm-up)."""
    float_weight_decay: float = 5e-5
    float_checkpoint: str | None = None
    """Load the float twin from this file instead of training it."""
    teacher: str | None = None
    """Distil from this file instead of the float twin."""
    distill: bool = True
    """False: no teacher in the QAT phase (initialisation from the twin only)."""
    scale_init: str = "mse"
    """Scale initialisation the student must be built with (``ResNetConfig.scale_init``)."""
    bn_batches: int = 100
    """Batches of un-augmented training images for the BatchNorm re-estimation; 0: skip."""

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise ConfigError(f"recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        if self.float_epochs < 0 or self.bn_batches < 0:
            raise ConfigError("float_epochs and bn_batches must be >= 0")
        if not self.float_lr > 0 or self.float_weight_decay < 0:
            raise ConfigError("float_lr must be > 0 and float_weight_decay >= 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RecipeResult:
    """What ``float-then-qat`` produced."""

    float_val_acc: float
    qat: TrainResult
    final_val_acc: float
    final_checkpoint: Path | None
    bn_images: int


def float_config(qat: TrainConfig, recipe: RecipeConfig, out: Path | None) -> TrainConfig:
    """The float phase's TrainConfig: the QAT one with the recipe's float settings."""
    return dataclasses.replace(
        qat,
        epochs=recipe.float_epochs or qat.epochs,
        lr=recipe.float_lr,
        optimizer="adamw",
        weight_decay=recipe.float_weight_decay,
        stats_batch_size=0,
        out_dir=None if out is None else str(out / "float"),
        resume=None,
    )


def _finished(path: Path, epochs: int) -> bool:
    if not path.is_file():
        return False
    state = ckpt.load_checkpoint(path)
    return int(state.get("epoch", 0)) >= epochs and not int(state.get("step", 0))


def _float_phase(
    student: nn.Module,
    data: tuple[Dataset, Dataset | None],
    cfg: TrainConfig,
    recipe: RecipeConfig,
    resume: bool,
) -> tuple[nn.Module, float]:
    """Train (or resume, or load) the float twin; returns it and its val accuracy."""
    if recipe.float_checkpoint:
        loaded = load_teacher(recipe.float_checkpoint, student)
        if not isinstance(getattr(loaded, "teacher", loaded), FloatResNet):
            raise ConfigError(f"{recipe.float_checkpoint} is not a float model")
        return loaded, float("nan")
    last = Path(cfg.out_dir) / "last.pt" if cfg.out_dir else None
    if last is not None and resume and _finished(last, cfg.epochs):
        state = ckpt.load_checkpoint(last)
        twin = float_twin_from_checkpoint(state, str(last))
        history = state.get("history") or [{}]
        return twin, float(history[-1].get("val_acc", float("nan")))
    twin = float_twin(student)
    resume_from = str(last) if last is not None and resume and last.is_file() else None
    extra = {"recipe": recipe.to_dict(), "phase": "float", "float_twin": twin.style}
    result = train(
        twin,
        data[0],
        data[1],
        dataclasses.replace(cfg, resume=resume_from),
        extra_state=extra,
        check_run_dir=False,  # run_recipe checked the whole run folder
    )
    return twin, float(result.final.get("val_acc", float("nan")))


def _write_final(
    out: Path, student: nn.Module, qat: TrainConfig, recipe: RecipeConfig, facts: dict[str, Any]
) -> Path:
    path = ckpt.save_checkpoint(
        out / "final.pt",
        student,
        recipe=recipe.to_dict(),
        phase="final",
        train_config=qat.to_dict(),
        **facts,
    )
    summary = {
        "recipe": recipe.to_dict(),
        "model_config": ckpt.model_config_dict(student),
        "train_config": qat.to_dict(),
        **facts,
    }
    (out / "recipe.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return path


def run_recipe(
    student: nn.Module,
    train_data: Dataset,
    val_data: Dataset | None,
    bn_data: Dataset,
    qat: TrainConfig,
    recipe: RecipeConfig,
    resume: bool = False,
) -> RecipeResult:
    """Run ``float-then-qat`` on ``student`` in place (see the module docstring).

    ``bn_data`` is the training set without augmentation (for the BatchNorm re-estimation);
    ``qat.out_dir`` is the run folder (None: nothing written, no resume)."""
    built_with = getattr(getattr(student, "config", None), "scale_init", recipe.scale_init)
    if built_with != recipe.scale_init:
        raise ConfigError(
            f"the student was built with scale_init={built_with!r}; the recipe "
            f"asks for {recipe.scale_init!r}"
        )
    out = Path(qat.out_dir) if qat.out_dir else None
    if out is not None and dist_from_env().is_main:
        prepare_run_dir(out, resume, qat.overwrite)
    fcfg = float_config(qat, recipe, out)
    twin, float_acc = _float_phase(student, (train_data, val_data), fcfg, recipe, resume)
    last = out / "last.pt" if out is not None else None
    resume_qat = last is not None and resume and last.is_file()
    if not resume_qat:
        init_from_float(student, getattr(twin, "teacher", twin))  # unwrap an input adapter
    teacher = load_teacher(recipe.teacher, student) if recipe.teacher else twin
    extra = {"recipe": recipe.to_dict(), "phase": "qat"}
    result = train(
        student,
        train_data,
        val_data,
        dataclasses.replace(qat, resume=str(last) if resume_qat else None),
        teacher=teacher if recipe.distill else None,
        extra_state=extra,
        check_run_dir=False,
    )
    return _finish(student, result, float_acc, bn_data, val_data, qat, recipe, out)


def _finish(
    student: nn.Module,
    result: TrainResult,
    float_acc: float,
    bn_data: Dataset,
    val_data: Dataset | None,
    qat: TrainConfig,
    recipe: RecipeConfig,
    out: Path | None,
) -> RecipeResult:
    """BatchNorm re-estimation, final evaluation and final.pt/recipe.json."""
    device = pick_device(qat.device, DistInfo())
    seen = 0
    if recipe.bn_batches:
        seen = reestimate_bn(
            student, bn_data, recipe.bn_batches, qat.batch_size, device, seed=qat.seed
        )
    final_acc = float("nan")
    if val_data is not None:
        loader = make_loader(val_data, qat.batch_size * 2, False, qat, DistInfo(), device)
        final_acc = evaluate(student, loader, device, qat.amp, qat.amp_dtype)[1]
    path = None
    if out is not None and dist_from_env().is_main:
        facts = {
            "float_val_acc": float_acc,
            "qat_val_acc": result.final.get("val_acc", float("nan")),
            "final_val_acc": final_acc,
            "bn_images": seen,
        }
        path = _write_final(out, student, qat, recipe, facts)
    student.eval()
    return RecipeResult(float_acc, result, final_acc, path, seen)


RUN_MECHANICS = (
    "out_dir",
    "resume",
    "overwrite",
    "progress",
    "threads",
    "num_workers",
    "device",
    "checkpoint_every",
    "log_every",
)
"""TrainConfig fields a resumed run may change: they do not change what is computed."""


def _differences(label: str, saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    keys = sorted(set(saved) | set(now))
    return [
        f"{label}.{key}: run has {saved.get(key)!r}, command says {now.get(key)!r}"
        for key in keys
        if key not in RUN_MECHANICS and saved.get(key) != now.get(key)
    ]


def check_resumable(
    out_dir: str | Path, student: nn.Module, qat: TrainConfig, recipe: RecipeConfig
) -> None:
    """``ConfigError`` unless the run in ``out_dir`` was started with the same settings."""
    out = Path(out_dir)
    for path in (out / "last.pt", out / "float" / "last.pt"):
        if not path.is_file():
            continue
        state = ckpt.load_checkpoint(path)
        expected = qat if path.parent == out else float_config(qat, recipe, out)
        problems = _differences("recipe", state.get("recipe") or {}, recipe.to_dict())
        problems += _differences("train", state.get("train_config") or {}, expected.to_dict())
        if state.get("phase") == "qat":
            saved_model = state.get("config") or {}
            problems += _differences("model", saved_model, ckpt.model_config_dict(student) or {})
        if problems:
            raise ConfigError(
                f"cannot resume {out}: it was started with other settings ("
                + "; ".join(problems[:4])
                + "); repeat the original command with --resume"
            )
        return
