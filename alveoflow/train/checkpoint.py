"""Training checkpoints that are also model checkpoints.

Format (a ``torch.save`` dict): ``config`` (the model's config as a plain dict, or None),
``state_dict`` (the bare model's, never DDP-prefixed), and for resuming ``optimizer``,
``scheduler``, ``scaler``, ``epoch`` (epochs completed), ``history`` (metric rows),
``best_val_acc`` and ``train_config``. The first two keys are what
``Model.from_checkpoint`` and ``alveoflow export --checkpoint`` read; the rest is ignored there.
Files are written atomically (temp file, then rename).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alveoflow.errors import CheckpointError


def model_config_dict(model: nn.Module) -> dict[str, Any] | None:
    """``model.config`` as a plain dict (``to_dict()``, a dataclass or a dict), else None."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    return None


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def save_checkpoint(path: str | Path, model: nn.Module, **state: Any) -> Path:
    """Write ``{"config", "state_dict", **state}`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bare = unwrap(model)
    payload = {"config": model_config_dict(bare), "state_dict": bare.state_dict(), **state}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict on the CPU; ``CheckpointError`` if it is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(data, dict) or "state_dict" not in data:
        raise CheckpointError(f"{path} is not an alveoflow checkpoint (no 'state_dict' key)")
    return data


def restore_model(model: nn.Module, checkpoint: dict[str, Any], source: str = "") -> None:
    """Load ``checkpoint["state_dict"]`` strictly, with a readable error on mismatch."""
    try:
        unwrap(model).load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"checkpoint {source} does not fit this model ({first}); build the model with the "
            f"checkpoint's config: {checkpoint.get('config')}"
        ) from err
