"""Model configuration: one frozen, JSON-serialisable dataclass per network.

``ResNetConfig`` is everything a constructor needs, so a checkpoint can carry it
(``{"config": config.to_dict(), "state_dict": ...}``) and rebuild the same network.
Bit widths are given as a compact string: ``"w1a2r4"`` = 1-bit body weights, 2-bit
activations, 4-bit residual stream. The ``r`` part is optional and defaults to
``min(2 * a, 8)`` (the reference pairs 2-bit activations with a 4-bit residual).
Stem (conv1) and FC weights use ``first_last_bits`` (8 by default) whatever the string says.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from alveoflow.errors import ConfigError, close_matches
from alveoflow.qnn.quantizers import check_scale_init

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = 0.226  # one scalar (mean of 0.229, 0.224, 0.225): see ``PixelNorm``

_BITS_RE = re.compile(r"^w(\d+)a(\d+)(?:r(\d+))?$")


@dataclass(frozen=True)
class BitWidths:
    """Parsed bit-width string: body ``weight``, branch ``act`` and ``residual`` bits."""

    weight: int
    act: int
    residual: int

    @classmethod
    def parse(cls, text: str) -> BitWidths:
        match = _BITS_RE.match(text.strip().lower()) if isinstance(text, str) else None
        if match is None:
            raise ConfigError(
                f"bad bit-width string {text!r}: expected 'w<W>a<A>[r<R>]', e.g. 'w1a2r4', 'w4a4'"
            )
        weight, act = int(match.group(1)), int(match.group(2))
        residual = int(match.group(3)) if match.group(3) else min(2 * act, 8)
        for role, bits in (("weight", weight), ("activation", act), ("residual", residual)):
            if not 1 <= bits <= 16:
                raise ConfigError(f"{role} bits in {text!r} must be in 1..16, got {bits}")
        if residual < 2:
            raise ConfigError(f"residual bits in {text!r} must be >= 2 (it is a signed stream)")
        return cls(weight, act, residual)

    def __str__(self) -> str:
        return f"w{self.weight}a{self.act}r{self.residual}"


@dataclass(frozen=True)
class ResNetConfig:
    """Constructor options of every alveoflow ResNet (see ``alveoflow.qnn.resnet.ARCHS``)."""

    arch: str = "resnet50"
    """Layout name: 'resnet18', 'resnet34', 'resnet50' or 'resnet_small'."""
    bits: str = "w1a2r4"
    """Body weight / activation / residual bit widths (see module docstring)."""
    first_last_bits: int = 8
    """Weight bits of conv1 and fc."""
    version: str = "v1.0"
    """'v1.0': stride on the first 1x1 of a down-sampling bottleneck; 'v1.5': on the 3x3."""
    num_classes: int = 1000
    in_channels: int = 3
    input_size: int = 224
    """Height and width of the square input image."""
    width: float = 1.0
    """Channel width multiplier of every layer (1.0 = the standard widths)."""
    pixel_input: bool = True
    """True: the model takes 0..255 pixel values and normalises them with a fixed Mul/Add.
    False: it takes normalised floats and quantises them to signed 8 bits."""
    pixel_mean: tuple[float, ...] = field(default=())
    """Per-channel mean in 0..255 units (whole numbers, so conv1's zero padding maps to a
    pixel code); empty -> ImageNet mean rounded (124, 116, 104) or 128."""
    pixel_std: float = 0.0
    """One scalar std in 0..255 units; 0 -> ImageNet 0.226*255 (3 channels) or 127.5."""
    scale_init: str = "percentile"
    """How quantizer scales start: 'percentile' (Brevitas' defaults) or 'mse' (learned scales,
    stem/FC weights included, initialised by a quantisation-error search); see
    ``alveoflow.qnn.quantizers``."""

    def __post_init__(self) -> None:
        BitWidths.parse(self.bits)  # a bad string fails at construction
        check_scale_init(self.scale_init)
        if self.version not in ("v1.0", "v1.5"):
            raise ConfigError(f"version must be 'v1.0' or 'v1.5', got {self.version!r}")
        for name in ("num_classes", "in_channels", "input_size", "first_last_bits"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not self.width > 0:
            raise ConfigError(f"width must be > 0, got {self.width!r}")
        if not self.pixel_mean:
            # Whole pixel values: conv1 pads with the mean pixel (zero after normalisation),
            # which the hardware can only do exactly when the mean is an integer code.
            mean = (
                tuple(float(round(255.0 * m)) for m in IMAGENET_MEAN)
                if self.in_channels == 3
                else (128.0,) * self.in_channels
            )
            object.__setattr__(self, "pixel_mean", mean)
        object.__setattr__(self, "pixel_mean", tuple(float(m) for m in self.pixel_mean))
        if len(self.pixel_mean) != self.in_channels:
            raise ConfigError(
                f"pixel_mean has {len(self.pixel_mean)} values for {self.in_channels} channels"
            )
        if not self.pixel_std:
            std = 255.0 * IMAGENET_STD if self.in_channels == 3 else 127.5
            object.__setattr__(self, "pixel_std", std)
        if self.pixel_std <= 0:
            raise ConfigError(f"pixel_std must be > 0, got {self.pixel_std!r}")

    @property
    def bit_widths(self) -> BitWidths:
        return BitWidths.parse(self.bits)

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """(1, C, H, W) of one input image."""
        return (1, self.in_channels, self.input_size, self.input_size)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["pixel_mean"] = list(self.pixel_mean)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [key for key in data if key not in known]
        if unknown:
            hints = "; ".join(f"{key!r}{close_matches(key, known)}" for key in unknown)
            raise ConfigError(f"unknown model config key(s): {hints}")
        values = dict(data)
        if "pixel_mean" in values:
            values["pixel_mean"] = tuple(values["pixel_mean"])
        return cls(**values)

    def replace(self, **changes: Any) -> ResNetConfig:
        """A copy with ``changes``; unknown option names raise ``ConfigError``."""
        base = self.to_dict()
        if "in_channels" in changes:  # the resolved defaults depend on the channel count
            base["pixel_mean"], base["pixel_std"] = (), 0.0
        return ResNetConfig.from_dict({**base, **changes})
