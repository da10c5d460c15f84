"""Quantised ResNets (Brevitas) faithful to the ResNet50-PYNQ ``w1a2_v1.0`` reference.

Public contract:

- ``QuantResNet(config=None, **options)``: any layout in ``ARCHS``; ``QuantResNet18/34/50``
  and ``QuantResNetSmall`` only change the defaults. ``options`` are ``ResNetConfig`` fields;
  ``model.config`` holds the frozen config (JSON via ``config.to_dict()``).
- Input (``pixel_input=True``, the default): float NCHW tensors holding 0..255 pixel values.
  The first op is a fixed ``PixelNorm`` (``x * scale + bias``: one scalar scale, a
  per-channel bias), which exports as Mul then Add before conv1 for the compiler to fold;
  the export marks the graph input UINT8. With ``pixel_input=False`` the model takes
  normalised floats and quantises them to signed 8 bits (``input_quant``).
- Layout: conv1 (7x7/2, ``first_last_bits`` weights) -> bn1 -> relu (``act`` bits) ->
  maxpool 3x3/2 -> layer1..layer4 -> final_relu -> avgpool (global) -> fc (8-bit weights,
  32-bit bias). The small layout uses a 3x3/1 conv1, no maxpool and three stages.
  See ``alveoflow.qnn.layers`` for the block contract.
- Module paths are stable and match torchvision where a counterpart exists
  (``conv1``, ``layer3.2.conv2``, ``layer2.0.downsample.0``, ``fc``); the compiler's node
  names come from them. conv/linear/BN parameters of the default ResNet-50 number exactly
  25,557,032, as in torchvision.
- Output: float logits (N, num_classes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn

from alveoflow.errors import CheckpointError, ConfigError, close_matches
from alveoflow.export.checks import register_exportable
from alveoflow.qnn import quantizers as q
from alveoflow.qnn.config import ResNetConfig
from alveoflow.qnn.layers import BasicBlock, Bottleneck, act, make_stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arch:
    """A layout: block type, blocks per stage, stem kind and base channels per stage."""

    block: type
    blocks: tuple[int, ...]
    stem: str  # "imagenet" (7x7/2 + maxpool) or "small" (3x3/1, no pool)
    widths: tuple[int, ...]


ARCHS: dict[str, Arch] = {
    "resnet18": Arch(BasicBlock, (2, 2, 2, 2), "imagenet", (64, 128, 256, 512)),
    "resnet34": Arch(BasicBlock, (3, 4, 6, 3), "imagenet", (64, 128, 256, 512)),
    "resnet50": Arch(Bottleneck, (3, 4, 6, 3), "imagenet", (64, 128, 256, 512)),
    "resnet_small": Arch(BasicBlock, (1, 1, 1), "small", (16, 32, 64)),
}


class PixelNorm(nn.Module):
    """Fixed, non-trainable ``x * scale + bias`` (exports as Mul then Add).

    ``scale`` = 1/std is one scalar so the compiler can fold it into conv1's thresholds
    without touching its integer weights; ``bias`` = -mean/std is per channel. With whole-number
    means the compiler folds the bias exactly: conv1's zero padding becomes padding with the
    mean pixel of each channel.
    """

    def __init__(self, mean: tuple[float, ...], std: float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(1.0 / std), persistent=False)
        bias = torch.tensor([-m / std for m in mean]).view(1, -1, 1, 1)
        self.register_buffer("bias", bias, persistent=False)

    scale: torch.Tensor
    bias: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias


register_exportable(PixelNorm)  # exports as Mul + Add, which the compiler folds


def _scaled(channels: int, width: float) -> int:
    return max(8, int(round(channels * width)))


class QuantResNet(nn.Module):
    """A quantised ResNet built from a ``ResNetConfig`` (or its fields as keywords)."""

    default_options: dict[str, Any] = {}

    def __init__(self, config: ResNetConfig | None = None, **options: Any) -> None:
        super().__init__()
        if config is None:
            config = ResNetConfig.from_dict({**self.default_options, **options})
        elif options:
            config = config.replace(**options)
        if config.arch not in ARCHS:
            raise ConfigError(f"unknown arch {config.arch!r}{close_matches(config.arch, ARCHS)}")
        self.config = config
        arch, bits = ARCHS[config.arch], config.bit_widths
        widths = [_scaled(w, config.width) for w in arch.widths]
        self._build_input(config)
        self._build_stem(config, arch, widths[0])
        channels = widths[0]
        for index, (planes, blocks) in enumerate(zip(widths, arch.blocks, strict=True)):
            stage, channels = make_stage(
                arch.block,
                channels,
                planes,
                blocks,
                1 if index == 0 else 2,
                bits,
                config.version,
                config.scale_init,
            )
            self.add_module(f"layer{index + 1}", stage)
        self.num_stages = len(arch.blocks)
        self.final_relu = nn.ReLU()  # keeps the residual scale: codes clamp at zero
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = QuantLinear(
            channels,
            config.num_classes,
            bias=True,
            weight_quant=q.int_weight_quant(config.first_last_bits, config.scale_init)
            if config.first_last_bits != 8 or config.scale_init != "percentile"
            else q.FCWeightQuant,
            bias_quant=q.FCBiasQuant,
        )

    def _build_input(self, config: ResNetConfig) -> None:
        if config.pixel_input:
            self.normalize = PixelNorm(config.pixel_mean, config.pixel_std)
        else:
            self.input_quant = QuantIdentity(act_quant=q.InputQuant, return_quant_tensor=True)

    def _build_stem(self, config: ResNetConfig, arch: Arch, out_ch: int) -> None:
        kernel, stride = (7, 2) if arch.stem == "imagenet" else (3, 1)
        self.conv1 = QuantConv2d(
            config.in_channels,
            out_ch,
            kernel_size=kernel,
            stride=stride,
            padding=kernel // 2,
            bias=False,
            weight_quant=q.int_weight_quant(config.first_last_bits, config.scale_init),
        )
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = act(config.bit_widths.act, config.scale_init)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if arch.stem == "imagenet" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalize(x) if self.config.pixel_input else self.input_quant(x)
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        x = self.avgpool(self.final_relu(x))
        return self.fc(torch.flatten(x, 1))

    # -- checkpoints ---------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """``{"config": <JSON-able dict>, "state_dict": ...}``: what ``save`` writes."""
        return {"config": self.config.to_dict(), "state_dict": self.state_dict()}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        torch.save(self.checkpoint(), path)
        return path

    @classmethod
    def from_checkpoint(cls, path: str | Path, **options: Any) -> QuantResNet:
        """Build the model a checkpoint describes and load its weights.

        Accepts ``{"config", "state_dict"}`` (as written by ``save``) or a bare state_dict.
        The config is this class's defaults, then the checkpoint's config, then ``options``.
        Raises ``CheckpointError`` naming missing/unexpected keys and shape mismatches.
        """
        return load_checkpoint(path, base=cls.default_options, **options)

    # -- deployment ----------------------------------------------------------------------

    def to_alveo(self, backend: str = "auto", **options: Any) -> Any:
        """Export, compile and load this model as an ``AlveoModule`` (see
        ``alveoflow.api.to_alveo``); the build is cached by weights and options."""
        from alveoflow.api import to_alveo

        return to_alveo(self, backend=backend, **options)


_SCALE_SUFFIX = ".scaling_impl.value"


def _drop_uninitialised_scales(missing: list[str], state: dict[str, Any]) -> list[str]:
    """Tolerate a checkpoint with no activation scales at all.

    Brevitas leaves runtime-statistics scales out of the state_dict until they have seen
    data, and float (e.g. torchvision) checkpoints have none; those scales are then
    initialised from statistics on the next train-mode forward (see ``calibrate_bn``).
    A checkpoint holding only some of the scales is still an error.
    """
    if any(key.endswith(_SCALE_SUFFIX) for key in state):
        return missing
    kept = [key for key in missing if not key.endswith(_SCALE_SUFFIX)]
    if len(kept) < len(missing):
        log.warning("checkpoint has no activation scales; they will be initialised from data")
    return kept


def load_checked(model: nn.Module, state: dict[str, Any], source: str = "state_dict") -> None:
    """``load_state_dict`` that reports every missing/unexpected key and shape mismatch."""
    own = model.state_dict()
    mismatched = [
        f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(own[key].shape)}"
        for key, value in state.items()
        if key in own and hasattr(value, "shape") and tuple(value.shape) != tuple(own[key].shape)
    ]
    if not mismatched:
        result = model.load_state_dict(state, strict=False)
        missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    else:
        missing = [key for key in own if key not in state]
        unexpected = [key for key in state if key not in own]
    missing = _drop_uninitialised_scales(missing, state)
    if missing or unexpected or mismatched:
        parts = [f"{source} does not fit {type(model).__name__}"]
        for label, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", mismatched),
        ):
            if items:
                shown = ", ".join(items[:8]) + (
                    f", ... ({len(items)} in all)" if len(items) > 8 else ""
                )
                parts.append(f"{label}: {shown}")
        parts.append("build the model with the options the checkpoint was trained with")
        raise CheckpointError("\n  ".join(parts))


class QuantResNet18(QuantResNet):
    default_options = {"arch": "resnet18"}


class QuantResNet34(QuantResNet):
    default_options = {"arch": "resnet34"}


class QuantResNet50(QuantResNet):
    default_options = {"arch": "resnet50"}


class QuantResNetSmall(QuantResNet):
    """Three narrow basic-block stages for 28x28 (1 channel) or 32x32 (3 channel) images."""

    default_options = {
        "arch": "resnet_small",
        "in_channels": 1,
        "input_size": 28,
        "num_classes": 10,
    }


def quant_resnet_small(in_channels: int = 1, input_size: int = 28, **options: Any) -> QuantResNet:
    """A small ResNet for Fashion-MNIST-like (1x28x28) or CIFAR-like (3x32x32) inputs."""
    return QuantResNetSmall(in_channels=in_channels, input_size=input_size, **options)


MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "resnet18": {"arch": "resnet18"},
    "resnet34": {"arch": "resnet34"},
    "resnet50": {"arch": "resnet50"},
    "resnet_small_28": {**QuantResNetSmall.default_options},
    "resnet_small_32": {**QuantResNetSmall.default_options, "in_channels": 3, "input_size": 32},
}
"""Zoo names and the ``ResNetConfig`` options each implies."""
MODELS = tuple(MODEL_DEFAULTS)
_CLASSES: dict[str, type[QuantResNet]] = {
    "resnet18": QuantResNet18,
    "resnet34": QuantResNet34,
    "resnet50": QuantResNet50,
    "resnet_small": QuantResNetSmall,
}


def model_config(name: str, **options: Any) -> ResNetConfig:
    """The config of zoo model ``name`` with ``options``; unknown names raise ``ConfigError``."""
    if name not in MODEL_DEFAULTS:
        raise ConfigError(
            f"unknown model {name!r}{close_matches(name, MODELS)}; known: {', '.join(MODELS)}"
        )
    return ResNetConfig.from_dict({**MODEL_DEFAULTS[name], **options})


def from_config(config: ResNetConfig) -> QuantResNet:
    """The model of ``config`` (as its arch's class, e.g. ``QuantResNet50``)."""
    return _CLASSES.get(config.arch, QuantResNet)(config)


def build_model(name: str, **options: Any) -> QuantResNet:
    """A zoo model by name (``MODELS``) with ``ResNetConfig`` options."""
    return from_config(model_config(name, **options))


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(config dict or None, state_dict) of a checkpoint file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        first = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {first}") from err
    if isinstance(data, dict) and "state_dict" in data:
        return data.get("config"), data["state_dict"]
    if isinstance(data, dict):
        return None, data
    raise CheckpointError(f"{str(path)!r} holds a {type(data).__name__}, not a state_dict")


def load_checkpoint(
    path: str | Path, base: dict[str, Any] | None = None, **options: Any
) -> QuantResNet:
    """Build and load a model: config = ``base``, then the checkpoint's config, then options."""
    saved, state = read_checkpoint(path)
    config = ResNetConfig.from_dict({**(base or {}), **(saved or {}), **options})
    model = from_config(config)
    load_checked(model, state, source=str(path))
    return model
