"""The mutable state of one training run, and how it is saved to and restored from disk.

A checkpoint written here (see :mod:`alveoflow.train.checkpoint` for the format) records,
besides the model: optimizer, scheduler and gradient-scaler state, ``epoch`` (epochs
completed), ``step`` (optimizer steps done in the epoch after that; 0 at an epoch boundary),
the partial sums of that epoch (``epoch_sums``, ``epoch_seconds``), the metric history, the
best score, the ``train_config`` and any ``extra`` entries the caller passes (a recipe
stores its settings there). Only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alveoflow.train import checkpoint as ckpt
from alveoflow.train.config import TrainConfig, TrainResult
from alveoflow.train.distributed import DistInfo
from alveoflow.train.metrics import plot_curves, write_csv

log = logging.getLogger(__name__)


@dataclass
class Run:
    """Everything a run mutates while it trains."""

    model: nn.Module
    config: TrainConfig
    info: DistInfo
    device: torch.device
    teacher: nn.Module | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    best_val_acc: float = -math.inf
    best_epoch: int = 0
    start_epoch: int = 0
    start_step: int = 0
    epoch_sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """loss * n, correct, n of the epoch in progress."""
    epoch_seconds: float = 0.0
    """Training seconds of the epoch in progress spent before a resume."""

    @property
    def autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type != "cuda" or not self.config.amp:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=getattr(torch, self.config.amp_dtype))


@dataclass
class Trainers:
    """The optimizer, the per-step scheduler and the gradient scaler of a run."""

    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler


def restore(run: Run, state: dict[str, Any], parts: Trainers) -> None:
    """Optimizer, scheduler, scaler, position and history from a checkpoint (model loaded)."""
    for name, obj in (
        ("optimizer", parts.optimizer),
        ("scheduler", parts.scheduler),
        ("scaler", parts.scaler),
    ):
        if state.get(name) is not None:
            obj.load_state_dict(state[name])
    run.start_epoch = int(state.get("epoch", 0))
    run.start_step = int(state.get("step", 0))
    run.epoch_sums = [float(v) for v in state.get("epoch_sums", [0.0, 0.0, 0.0])]
    run.epoch_seconds = float(state.get("epoch_seconds", 0.0))
    run.history = list(state.get("history", []))
    run.best_val_acc = float(state.get("best_val_acc", -math.inf))
    run.best_epoch = int(state.get("best_epoch", 0))
    if run.info.is_main:
        where = f"epoch {run.start_epoch}" + (
            f" and step {run.start_step} of the next" if run.start_step else ""
        )
        log.info("resumed from %s after %s", run.config.resume, where)


def save(run: Run, parts: Trainers, epoch: int, step: int, seconds: float, best: bool) -> None:
    """Write last.pt (and best.pt when ``best``); at an epoch end also metrics.csv and the plot.

    ``epoch`` = epochs completed, ``step`` = steps done in the next one (0 at a boundary)."""
    out = run.config.out_dir
    if out is None or not run.info.is_main:
        return
    state = dict(
        optimizer=parts.optimizer.state_dict(),
        scheduler=parts.scheduler.state_dict(),
        scaler=parts.scaler.state_dict(),
        epoch=epoch,
        step=step,
        epoch_sums=list(run.epoch_sums) if step else [0.0, 0.0, 0.0],
        epoch_seconds=seconds if step else 0.0,
        history=run.history,
        best_val_acc=run.best_val_acc,
        best_epoch=run.best_epoch,
        train_config=run.config.to_dict(),
        **run.extra,
    )
    ckpt.save_checkpoint(f"{out}/last.pt", run.model, **state)
    if step:
        return
    if best:
        ckpt.save_checkpoint(f"{out}/best.pt", run.model, **state)
    write_csv(f"{out}/metrics.csv", run.history)
    plot_curves(f"{out}/curves.png", run.history, title=_title(run.model))


def _title(model: nn.Module) -> str:
    bare = ckpt.unwrap(model)
    config = ckpt.model_config_dict(bare) or {}
    parts = [type(bare).__name__] + [str(config[k]) for k in ("arch", "bits") if k in config]
    return " ".join(parts)


def result(run: Run) -> TrainResult:
    """The :class:`TrainResult` of a finished run."""
    out = run.config.out_dir
    folder = Path(out) if out is not None else None
    return TrainResult(
        history=run.history,
        best_val_acc=run.best_val_acc,
        best_epoch=run.best_epoch,
        out_dir=folder,
        last_checkpoint=folder / "last.pt" if folder and (folder / "last.pt").exists() else None,
        best_checkpoint=folder / "best.pt" if folder and (folder / "best.pt").exists() else None,
    )
