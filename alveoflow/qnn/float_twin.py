"""Float twins: plain-PyTorch ResNets with the same layout and parameter names as a QuantResNet.

``FloatResNet(config)`` builds, from a ``ResNetConfig``, the network a ``QuantResNet`` of that
config computes once every quantizer is removed: ``nn.Conv2d``/``nn.Linear`` with float
weights, a plain ReLU where the quantised model has a ``QuantReLU`` and nothing where it has a
residual ``QuantIdentity``. Its state_dict keys are exactly the conv/BN/FC keys of the
quantised model (``conv1.weight``, ``layer2.0.downsample.1.running_var``, ``fc.bias``), so
:func:`init_from_float` can copy a trained float twin into a quantised model.

Two block styles share those names:

- ``"alveoflow"`` (the twin of a QuantResNet): a block computes
  ``x + branch(relu(x))`` (projection: ``branch(relu(x)) + downsample(relu(x))``), because
  the quantised shortcut carries the signed residual stream, and ``final_relu`` follows the
  last stage.
- ``"torchvision"``: ``relu(branch(x) + shortcut(x))`` as in ``torchvision.models.resnet``;
  used for teachers loaded from torchvision state_dicts (see
  :mod:`alveoflow.qnn.torchvision_keys`).

Input: like the quantised model (0..255 pixels normalised by a fixed ``normalize`` when
``config.pixel_input``, else normalised floats), or any per-channel affine given to
``FloatResNet(..., input_mean=, input_std=)`` in 0..255 units.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from alveoflow.errors import CheckpointError, ConfigError
from alveoflow.qnn.config import ResNetConfig
from alveoflow.qnn.resnet import ARCHS, Arch, _scaled

log = logging.getLogger(__name__)

STYLES = ("alveoflow", "torchvision")


class ChannelNorm(nn.Module):
    """Fixed ``(x - mean) / std`` per channel (0..255 units); non-persistent buffers."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean)).view(1, -1, 1, 1), False)
        self.register_buffer("std", torch.tensor(list(std)).view(1, -1, 1, 1), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False)


class _FloatBlock(nn.Module):
    """Shortcut handling and forward shared by both block kinds (see module docstring)."""

    expansion = 1
    downsample: nn.Sequential | None

    def __init__(self, in_ch: int, out_ch: int, stride: int, style: str) -> None:
        super().__init__()
        self.style = style
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(_conv(in_ch, out_ch, 1, stride), nn.BatchNorm2d(out_ch))
        else:
            self.downsample = None

    def branch(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.style == "torchvision":
            shortcut = x if self.downsample is None else self.downsample(x)
            return torch.relu(self.branch(x) + shortcut)
        xr = torch.relu(x)
        shortcut = x if self.downsample is None else self.downsample(xr)
        return self.branch(xr) + shortcut


class FloatBasicBlock(_FloatBlock):
    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int, version: str, style: str) -> None:
        super().__init__(in_ch, planes, stride, style)
        self.conv1 = _conv(in_ch, planes, 3, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv(planes, planes, 3, 1)
        self.bn2 = nn.BatchNorm2d(planes)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))


class FloatBottleneck(_FloatBlock):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int, version: str, style: str) -> None:
        out_ch = planes * self.expansion
        super().__init__(in_ch, out_ch, stride, style)
        stride1, stride2 = (stride, 1) if version == "v1.0" else (1, stride)
        self.conv1 = _conv(in_ch, planes, 1, stride1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv(planes, planes, 3, stride2)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv(planes, out_ch, 1, 1)
        self.bn3 = nn.BatchNorm2d(out_ch)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


_FLOAT_BLOCKS = {"BasicBlock": FloatBasicBlock, "Bottleneck": FloatBottleneck}


class FloatResNet(nn.Module):
    """The float twin of ``QuantResNet(config)`` (see the module docstring)."""

    def __init__(
        self,
        config: ResNetConfig,
        style: str = "alveoflow",
        input_mean: Sequence[float] | None = None,
        input_std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if style not in STYLES:
            raise ConfigError(f"float twin style must be one of {', '.join(STYLES)}: {style!r}")
        self.config, self.style = config, style
        arch: Arch = ARCHS[config.arch]
        widths = [_scaled(w, config.width) for w in arch.widths]
        self.normalize = self._input_norm(config, input_mean, input_std)
        kernel, stride = (7, 2) if arch.stem == "imagenet" else (3, 1)
        self.conv1 = _conv(config.in_channels, widths[0], kernel, stride)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1) if arch.stem == "imagenet" else None
        block = _FLOAT_BLOCKS[arch.block.__name__]
        channels = widths[0]
        for index, (planes, blocks) in enumerate(zip(widths, arch.blocks, strict=True)):
            layers = []
            for number in range(blocks):
                step = 2 if index > 0 and number == 0 else 1
                layers.append(block(channels, planes, step, config.version, style))
                channels = planes * block.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*layers))
        self.num_stages = len(arch.blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, config.num_classes)

    @staticmethod
    def _input_norm(
        config: ResNetConfig, mean: Sequence[float] | None, std: Sequence[float] | None
    ) -> nn.Module:
        if mean is not None or std is not None:
            if mean is None or std is None or len(mean) != len(std):
                raise ConfigError("input_mean and input_std must be given together, per channel")
            return ChannelNorm(mean, std)
        if not config.pixel_input:
            return nn.Identity()
        return ChannelNorm(config.pixel_mean, [config.pixel_std] * config.in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(self.normalize(x))))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        if self.style == "alveoflow":
            x = torch.relu(x)  # the quantised model's final_relu
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def checkpoint(self) -> dict[str, Any]:
        """``{"config", "state_dict", "float_twin": style}``: what ``save`` writes."""
        return {
            "config": self.config.to_dict(),
            "float_twin": self.style,
            "state_dict": self.state_dict(),
        }


def float_twin(model_or_config: Any, style: str = "alveoflow") -> FloatResNet:
    """The float twin of a QuantResNet (or of a ``ResNetConfig``), freshly initialised."""
    config = getattr(model_or_config, "config", model_or_config)
    if not isinstance(config, ResNetConfig):
        raise ConfigError(f"a float twin needs a QuantResNet or a ResNetConfig, got {config!r}")
    return FloatResNet(config, style=style)


def shared_parameters(quant: nn.Module, float_model: nn.Module) -> list[str]:
    """The state_dict keys a quantised model and its float twin both have (conv/BN/FC)."""
    own = quant.state_dict()
    return [key for key in float_model.state_dict() if key in own]


def init_from_float(quant: nn.Module, float_model: nn.Module) -> int:
    """Copy every conv/BN/FC tensor of ``float_model`` into ``quant``; returns how many.

    The twins must match key for key and shape for shape; quantizer state (scales) is left
    as it is, to be initialised from data afterwards. Raises ``CheckpointError`` otherwise.
    """
    source, target = float_model.state_dict(), quant.state_dict()
    missing = [key for key in source if key not in target]
    shapes = [
        f"{key}: {tuple(value.shape)} vs {tuple(target[key].shape)}"
        for key, value in source.items()
        if key in target and value.shape != target[key].shape
    ]
    if missing or shapes:
        problems = missing[:4] + shapes[:4]
        raise CheckpointError(
            f"float model does not fit the quantised model ({len(missing)} unknown key(s), "
            f"{len(shapes)} shape mismatch(es): {', '.join(problems)})"
        )
    with torch.no_grad():
        for key, value in source.items():
            target[key].copy_(value)
    return len(source)
