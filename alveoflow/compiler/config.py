"""``BuildConfig``: every setting of one build, frozen and typed, checked when it is made.

``build(source, config)`` (``compiler.pipeline``), the CLI and the Python API all take one
``BuildConfig``. Unknown keys (``BuildConfig.from_mapping``) and bad values are a
``ConfigError`` that names the field, the value and what is allowed, with close matches.

``InputQuant`` declares the integer grid a float model input lives on: the model's input is
``scale * (code - zero_point)`` for integer codes of ``dtype`` (``bipolar``: codes -1/+1, value
``scale * code``). Text form (``--input-quant``): ``DTYPE:SCALE[:ZERO_POINT]`` with DTYPE one of
``int2..int32``, ``uint1..uint32`` or ``bipolar[:SCALE]``, e.g. ``int8:0.0078740157``,
``uint8:0.0039215686``, ``int4:0.125``, ``bipolar``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from alveoflow.compiler.ir import QType
from alveoflow.errors import ConfigError, close_matches

_DTYPE = re.compile(r"^(u?int)(\d+)$")


@dataclass(frozen=True)
class InputQuant:
    """The declared integer grid of a float model input (see the module docstring)."""

    dtype: QType
    scale: float = 1.0
    zero_point: int = 0

    def __post_init__(self) -> None:
        if self.dtype.is_float:
            raise ConfigError("input quantization needs an integer dtype, not FLOAT32")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"input quantization scale must be finite and > 0, got {self.scale}")
        if self.dtype.bipolar and self.zero_point:
            raise ConfigError("a bipolar input has no zero point")
        if not self.dtype.bipolar and not self.dtype.min <= self.zero_point <= self.dtype.max:
            raise ConfigError(
                f"zero point {self.zero_point} is not a code of {self.dtype.name} "
                f"({self.dtype.min}..{self.dtype.max})"
            )

    @staticmethod
    def parse(text: str) -> InputQuant:
        """``DTYPE:SCALE[:ZERO_POINT]`` or ``bipolar[:SCALE]`` (see the module docstring)."""
        parts = [p.strip() for p in str(text).strip().split(":")]
        name = parts[0].lower()
        if name == "bipolar":
            if len(parts) > 2:
                raise ConfigError(f"--input-quant {text!r}: bipolar takes at most a scale")
            return InputQuant(
                QType.bipolar_type(), _number(parts[1], text) if len(parts) > 1 else 1.0
            )
        m = _DTYPE.match(name)
        if m is None or len(parts) not in (2, 3):
            raise ConfigError(
                f"--input-quant {text!r}: expected DTYPE:SCALE[:ZERO_POINT] "
                "(e.g. int8:0.0078740157, uint8:0.0039215686, int4:0.125) or bipolar"
            )
        bits = int(m.group(2))
        signed = m.group(1) == "int"
        if not (2 if signed else 1) <= bits <= 32:
            raise ConfigError(f"--input-quant {text!r}: {bits} bits is out of range")
        zero = _integer(parts[2], text) if len(parts) == 3 else 0
        return InputQuant(QType(bits, signed=signed), _number(parts[1], text), zero)

    def to_text(self) -> str:
        if self.dtype.bipolar:
            return f"bipolar:{self.scale!r}"
        zp = f":{self.zero_point}" if self.zero_point else ""
        return f"{self.dtype.name.lower()}:{self.scale!r}{zp}"

    def value_range(self) -> tuple[float, float]:
        """Smallest and largest float value on the grid."""
        return self.scale * (self.dtype.min - self.zero_point), self.scale * (
            self.dtype.max - self.zero_point
        )


def _number(text: str, whole: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--input-quant {whole!r}: scale {text!r} is not a number") from None
    return value


def _integer(text: str, whole: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value):
        raise ConfigError(f"--input-quant {whole!r}: zero point {text!r} is not an integer")
    return int(value)


class HwFlavour(StrEnum):
    """What the hardware is generated as: HLS C++ (Vitis HLS) or hand-written RTL."""

    HLS = "hls"
    RTL = "rtl"


MAX_CLOCK_MHZ = 1000.0  # a sanity bound for platforms that state no limit of their own


def platform_max_clock(platform: str) -> float | None:
    """The kernel clock limit ``max_clock_mhz`` of a platform's JSON (``hw/platforms``), or
    None for a name that is not a platform (refused when the platform is loaded)."""
    import json
    from importlib import resources

    key = str(platform).lower().removeprefix("alveo_")
    try:
        text = resources.files("alveoflow.hw.platforms").joinpath(f"{key}.json").read_text()
    except (OSError, ValueError):
        return None
    limit = json.loads(text).get("max_clock_mhz")
    return float(limit) if limit is not None else None


@dataclass(frozen=True)
class BuildConfig:
    """Every setting of one build (see the module docstring)."""

    platform: str = "u250"
    """Target card: u250, u280, u55c or u50 (``alveoflow/hw/platforms``)."""
    clock_mhz: float = 250.0
    """Kernel clock; finite, positive and within the platform's limit."""
    target_fps: float | None = None
    """Frames per second to fold for; None folds for the most the card holds ("max")."""
    input_quant: InputQuant | None = None
    """The integer grid of a float model input (None: the model's own first quantizer)."""
    limits: Mapping[str, float] = field(default_factory=dict)
    """Per-SLR utilisation limits by resource (``lut``, ``ff``, ``bram36``, ``uram``, ``dsp``)."""
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Folding overrides per layer name, e.g. ``{"layer1.0.conv1": {"pe": 8}}``."""
    hw: HwFlavour = HwFlavour.HLS
    """Hardware flavour the design is rendered as."""
    plan: bool = True
    """Search the folding and size the FIFOs; False keeps the graph's own folding, every unit
    in the I/O SLR and default FIFO depths (the design is still built and emitted)."""
    max_batch: int = 1000
    """Frames the card's input and output buffers hold (the host's buffer sets)."""
    csim_variant: bool = True
    """Also emit the network refolded for fast C simulation (``cppsim/csim/``)."""
    dump_dir: Path | None = None
    """Write every intermediate (graphs, plan, design) here as the steps run."""

    def __post_init__(self) -> None:
        self._check_clock()
        if self.target_fps is not None and not (
            math.isfinite(self.target_fps) and self.target_fps > 0
        ):
            raise ConfigError(
                f"target FPS must be a positive number or 'max', got {self.target_fps}"
            )
        if not (isinstance(self.max_batch, int) and self.max_batch >= 1):
            raise ConfigError(f"max_batch must be a positive integer, got {self.max_batch!r}")
        if not isinstance(self.hw, HwFlavour):
            object.__setattr__(self, "hw", parse_hw(str(self.hw)))

    def _check_clock(self) -> None:
        clock = self.clock_mhz
        if not isinstance(clock, int | float) or isinstance(clock, bool):
            raise ConfigError(f"clock must be a number of MHz, got {clock!r}")
        if not (math.isfinite(clock) and 0 < clock <= MAX_CLOCK_MHZ):
            raise ConfigError(f"clock {clock} MHz must be finite and in (0, {MAX_CLOCK_MHZ:g}]")
        limit = platform_max_clock(self.platform)
        if limit is not None and clock > limit:
            raise ConfigError(
                f"clock {clock:g} MHz exceeds the {self.platform} platform's kernel clock limit "
                f"of {limit:g} MHz (the shell's clock 0, which clocks the kernel); choose "
                f"--clock-mhz <= {limit:g}"
            )

    @property
    def target(self) -> float | str:
        """The folding target as the planner takes it: a number or "max"."""
        return "max" if self.target_fps is None else self.target_fps

    def with_(self, **changes: Any) -> BuildConfig:
        """A copy with ``changes`` (checked like ``from_mapping``)."""
        _check_keys(changes)
        return replace(self, **changes)

    @staticmethod
    def from_mapping(values: Mapping[str, Any]) -> BuildConfig:
        """A config from keyword values; strings are parsed (``target_fps="max"``,
        ``input_quant="int8:0.0078740157"``, ``hw="rtl"``)."""
        _check_keys(values)
        parsed = dict(values)
        if "target_fps" in parsed:
            parsed["target_fps"] = parse_target(parsed["target_fps"])
        if isinstance(parsed.get("input_quant"), str):
            parsed["input_quant"] = InputQuant.parse(parsed["input_quant"])
        if "hw" in parsed:
            parsed["hw"] = parse_hw(str(getattr(parsed["hw"], "value", parsed["hw"])))
        if parsed.get("dump_dir") is not None:
            parsed["dump_dir"] = Path(parsed["dump_dir"])
        if "clock_mhz" in parsed:
            parsed["clock_mhz"] = _float(parsed["clock_mhz"], "clock_mhz")
        return BuildConfig(**parsed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (recorded in the build's manifest)."""
        return {
            "platform": self.platform,
            "clock_mhz": self.clock_mhz,
            "target_fps": "max" if self.target_fps is None else self.target_fps,
            "input_quant": self.input_quant.to_text() if self.input_quant else None,
            "limits": dict(self.limits),
            "overrides": {k: dict(v) for k, v in self.overrides.items()},
            "hw": self.hw.value,
            "plan": self.plan,
            "max_batch": self.max_batch,
            "csim_variant": self.csim_variant,
        }


FIELDS = tuple(f.name for f in fields(BuildConfig))


def _check_keys(values: Mapping[str, Any]) -> None:
    unknown = [k for k in values if k not in FIELDS]
    if unknown:
        hints = "; ".join(f"{k!r}{close_matches(k, FIELDS)}" for k in unknown)
        raise ConfigError(f"unknown build setting(s): {hints}; known: {', '.join(FIELDS)}")


def _float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None


def parse_target(value: Any) -> float | None:
    """``"max"``/None -> None; a positive number (or its text) -> float."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "max"):
        return None
    number = _float(value, "target FPS (a number or 'max')")
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"target FPS must be a positive number or 'max', got {value!r}")
    return number


def parse_hw(value: str) -> HwFlavour:
    try:
        return HwFlavour(value.lower())
    except ValueError:
        names = [h.value for h in HwFlavour]
        raise ConfigError(
            f"unknown hardware flavour {value!r}{close_matches(value, names)}; use {names}"
        ) from None
