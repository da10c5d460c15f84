"""Distillation teachers from files: what ``alveoflow train --teacher FILE`` accepts.

:func:`load_teacher` reads, in this order of recognition:

1. a float-twin checkpoint written by the ``float-then-qat`` recipe (``"float_twin"`` key);
2. an alveoflow model checkpoint (``{"config", "state_dict"}`` of a ``QuantResNet``);
3. a plain torchvision ResNet-18/34/50 state_dict (bare, or under ``state_dict``/``model``,
   with or without a ``module.`` prefix), e.g. ``torchvision.models.resnet50(weights=...)
   .state_dict()`` saved with ``torch.save``.

The teacher is called on the student's own input batches, so it must agree with the student
on the input (a pixel-input student gives the torchvision teacher 0..255 pixels, which it
normalises itself; a normalised-float student's input is mapped back to pixels first), on
the channel count and on the number of classes; a mismatch is a ``ConfigError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from alveoflow.errors import CheckpointError, ConfigError
from alveoflow.qnn import ResNetConfig, load_checked, load_checkpoint
from alveoflow.qnn.float_twin import FloatResNet
from alveoflow.qnn.torchvision_keys import from_torchvision, is_torchvision_resnet, plain_state_dict


class PixelInput(nn.Module):
    """Maps a normalised-float student input back to 0..255 pixels for a pixel teacher."""

    mean: torch.Tensor

    def __init__(self, config: ResNetConfig, teacher: nn.Module) -> None:
        super().__init__()
        self.teacher = teacher
        mean = torch.tensor(config.pixel_mean).view(1, -1, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.std = float(config.pixel_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.teacher(x * self.std + self.mean)


def _read(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"teacher {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(f"cannot read teacher {path}: {err}") from err


def float_twin_from_checkpoint(data: dict[str, Any], source: str) -> FloatResNet:
    """The FloatResNet a ``float_twin`` checkpoint describes, with its weights."""
    config = ResNetConfig.from_dict(data["config"])
    model = FloatResNet(config, style=str(data["float_twin"]))
    load_checked(model, data["state_dict"], source=source)
    return model


def _check_fits(teacher: nn.Module, student_config: ResNetConfig | None) -> None:
    config = getattr(teacher, "config", None)
    if student_config is None or not isinstance(config, ResNetConfig):
        return
    for field in ("num_classes", "in_channels"):
        if getattr(config, field) != getattr(student_config, field):
            raise ConfigError(
                f"teacher has {field}={getattr(config, field)} but the student has "
                f"{getattr(student_config, field)}; distillation needs them equal"
            )


def load_teacher(path: str | Path, student: nn.Module | None = None) -> nn.Module:
    """A frozen, eval-mode teacher for ``student`` from ``path`` (see module docstring)."""
    path = Path(path)
    data = _read(path)
    student_config = getattr(student, "config", None)
    if not isinstance(student_config, ResNetConfig):
        student_config = None
    pixel_teacher = False
    if isinstance(data, dict) and "float_twin" in data and "config" in data:
        teacher: nn.Module = float_twin_from_checkpoint(data, str(path))
    elif isinstance(data, dict) and isinstance(data.get("config"), dict):
        teacher = load_checkpoint(path)
    else:
        state = plain_state_dict(data)
        if not is_torchvision_resnet(state):
            raise CheckpointError(
                f"teacher {path} is neither an alveoflow checkpoint nor a torchvision "
                "ResNet-18/34/50 state_dict"
            )
        size = student_config.input_size if student_config is not None else 224
        teacher, pixel_teacher = from_torchvision(state, size), True
    _check_fits(teacher, student_config)
    if pixel_teacher and student_config is not None and not student_config.pixel_input:
        teacher = PixelInput(student_config, teacher)
    return teacher.eval().requires_grad_(False)
