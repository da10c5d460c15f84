"""Training options (one frozen dataclass) and the result a training run returns.

``TrainConfig`` is validated when built: unknown choices raise ``ConfigError`` and
:meth:`TrainConfig.from_dict` rejects unknown keys with close-match suggestions.
``batch_size`` is per process; with ``torchrun`` the global batch is
``batch_size * world_size`` and the learning rate is used as given (scale it yourself).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alveoflow.errors import ConfigError, close_matches

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
DEVICES = ("auto", "cpu", "cuda")
AMP_DTYPES = ("bfloat16", "float16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything :func:`alveoflow.train.train` needs besides the model and the data."""

    epochs: int = 10
    batch_size: int = 128
    """Samples per step and per process."""
    lr: float = 0.1
    """Peak learning rate (after warm-up)."""
    optimizer: str = "sgd"
    """'sgd' (momentum, Nesterov) or 'adamw'."""
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    """'cosine' (to zero over all steps), 'step' (times ``gamma`` every ``step_epochs``),
    'constant'. Updated every step."""
    step_epochs: int = 30
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    """Linear warm-up from 0 over this many epochs (fractions allowed)."""
    label_smoothing: float = 0.0
    grad_clip: float = 0.0
    """Clip the gradient norm to this value; 0 disables."""
    device: str = "auto"
    """'auto' (CUDA when present), 'cpu' or 'cuda'. Under torchrun: cuda:LOCAL_RANK or cpu."""
    amp: bool = True
    """Mixed precision with torch.autocast on CUDA (ignored on CPU)."""
    amp_dtype: str = "bfloat16"
    """'bfloat16' or 'float16' (the latter with a gradient scaler)."""
    threads: int = 0
    """torch.set_num_threads on CPU; 0 keeps torch's default."""
    num_workers: int = 0
    """DataLoader worker processes."""
    stats_batch_size: int = 8
    """If > 0, finish Brevitas' runtime-statistics scale initialisation before training with
    forwards of this many samples (see :mod:`alveoflow.train.stats`), which is much faster on
    a CPU than letting it happen during the first 300 full-size training steps; 0 keeps
    Brevitas' default behaviour."""
    distill_alpha: float = 0.5
    """Weight of the distillation loss when a teacher is given (1 - alpha on the labels)."""
    distill_temperature: float = 4.0
    out_dir: str | None = None
    """Run folder for metrics.csv, curves.png, last.pt and best.pt; None writes nothing.
    A folder that already holds a run is refused unless ``resume`` or ``overwrite`` is set."""
    resume: str | None = None
    """Checkpoint to resume from (model, optimizer, scheduler, epoch, step within the epoch
    and history)."""
    overwrite: bool = False
    """Replace the run files already in ``out_dir`` (the CLI's --force)."""
    checkpoint_every: int = 0
    """Also write last.pt every this many optimizer steps (0: at the end of each epoch only),
    so a killed run resumes mid-epoch."""
    log_every: int = 0
    """Log loss and images/s per device every this many steps (0: once per epoch)."""
    seed: int = 0
    progress: bool = True
    """tqdm bars (rank 0 only)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes stored in checkpoints (e.g. the CLI command); not used for training."""

    def __post_init__(self) -> None:
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("device", self.device, DEVICES)
        _choice("amp_dtype", self.amp_dtype, AMP_DTYPES)
        for name in ("epochs", "batch_size", "step_epochs"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("threads", "num_workers", "stats_batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if not 0 <= self.distill_alpha <= 1:
            raise ConfigError(f"distill_alpha must be in [0, 1], got {self.distill_alpha!r}")
        if not self.distill_temperature > 0:
            raise ConfigError(f"distill_temperature must be > 0, got {self.distill_temperature}")
        if self.warmup_epochs < 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("warmup_epochs, weight_decay and grad_clip must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [key for key in data if key not in known]
        if unknown:
            hints = "; ".join(f"{key!r}{close_matches(key, known)}" for key in unknown)
            raise ConfigError(f"unknown training option(s): {hints}")
        return cls(**data)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{name} must be one of {', '.join(allowed)}; got {value!r}"
            f"{close_matches(str(value), allowed)}"
        )


@dataclass
class TrainResult:
    """What a run produced: per-epoch metrics and where its files are."""

    history: list[dict[str, float]]
    """One row per epoch: epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds,
    images_per_s (training images per second and per process)."""
    best_val_acc: float
    best_epoch: int
    out_dir: Path | None = None
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's row (empty when no epoch ran)."""
        return self.history[-1] if self.history else {}
