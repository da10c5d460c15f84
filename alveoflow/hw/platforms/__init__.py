"""Alveo platforms as data: per-SLR resources, SLR-crossing budgets, memories and shells.

Each card is one JSON file next to this module (``u250.json``, ``u280.json``, ``u55c.json``,
``u50.json``); ``load_platform(name)`` reads it into frozen dataclasses. Per-SLR figures are
what user logic can use in Vivado with the shell region excluded; every file lists its
sources (see also ``docs/estimates.md``).

Utilisation limits (the fraction of each SLR a design may use and still close timing)
default to LUT 70%, FF 50%, BRAM 80%, URAM 80%, DSP 80% (the Xilinx/FINN guide values) and
can be overridden per resource: ``load_platform("u250", limits={"lut": 0.75})``.

Resource keys are ``lut``, ``ff``, ``bram36``, ``uram``, ``dsp`` everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

from alveoflow.errors import ConfigError, close_matches

RESOURCE_KEYS = ("lut", "ff", "bram36", "uram", "dsp")
DEFAULT_LIMITS = {"lut": 0.70, "ff": 0.50, "bram36": 0.80, "uram": 0.80, "dsp": 0.80}
_ALIASES = {"alveo_u250": "u250", "alveo_u280": "u280", "alveo_u55c": "u55c", "alveo_u50": "u50"}


@dataclass(frozen=True)
class ResourceVector:
    """An amount of each FPGA resource (counts; BRAM in 36 Kib blocks)."""

    lut: float = 0.0
    ff: float = 0.0
    bram36: float = 0.0
    uram: float = 0.0
    dsp: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in RESOURCE_KEYS}

    def scaled(self, factors: Limits) -> ResourceVector:
        return ResourceVector(**{k: getattr(self, k) * getattr(factors, k) for k in RESOURCE_KEYS})

    def minus(self, other: ResourceVector) -> ResourceVector:
        return ResourceVector(**{k: getattr(self, k) - getattr(other, k) for k in RESOURCE_KEYS})


@dataclass(frozen=True)
class Limits:
    """Per-SLR utilisation limits, fractions in (0, 1]."""

    lut: float = DEFAULT_LIMITS["lut"]
    ff: float = DEFAULT_LIMITS["ff"]
    bram36: float = DEFAULT_LIMITS["bram36"]
    uram: float = DEFAULT_LIMITS["uram"]
    dsp: float = DEFAULT_LIMITS["dsp"]

    @staticmethod
    def from_mapping(values: dict[str, float] | None) -> Limits:
        values = dict(values or {})
        unknown = [k for k in values if k not in RESOURCE_KEYS]
        if unknown:
            hint = close_matches(unknown[0], RESOURCE_KEYS)
            raise ConfigError(f"unknown resource limit {unknown[0]!r}{hint}; use {RESOURCE_KEYS}")
        for key, value in values.items():
            if not 0.0 < float(value) <= 1.0:
                raise ConfigError(f"limit {key}={value} must be a fraction in (0, 1]")
        merged = {**DEFAULT_LIMITS, **{k: float(v) for k, v in values.items()}}
        return Limits(**merged)


@dataclass(frozen=True)
class MemoryBank:
    """An off-chip or PL memory the kernel can address, and the SLR it is attached to."""

    name: str
    kind: str  # ddr4 | hbm | plram
    slr: int
    size_mib: float


@dataclass(frozen=True)
class Platform:
    """One Alveo card with its shell: resources per SLR and the limits in force."""

    name: str
    card: str
    part: str
    default_shell: str
    shells: tuple[str, ...]
    totals: ResourceVector
    slrs: tuple[ResourceVector, ...]
    sll_per_boundary: tuple[int, ...]
    io_slr: int
    memories: tuple[MemoryBank, ...]
    memory_controller: ResourceVector
    limits: Limits
    sources: tuple[str, ...]

    @property
    def num_slrs(self) -> int:
        return len(self.slrs)

    def slr_infrastructure(self, slr: int) -> ResourceVector:
        """What the platform itself takes in ``slr`` from user resources: one memory
        controller in the I/O SLR (buffers for images and results live in its bank)."""
        return self.memory_controller if slr == self.io_slr else ResourceVector()

    def budget(self, slr: int) -> ResourceVector:
        """Resources a design may use in ``slr``: (available - infrastructure) x limits."""
        return self.slrs[slr].minus(self.slr_infrastructure(slr)).scaled(self.limits)

    def total_budget(self) -> ResourceVector:
        parts = [self.budget(i).as_dict() for i in range(self.num_slrs)]
        return ResourceVector(**{k: sum(p[k] for p in parts) for k in RESOURCE_KEYS})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "card": self.card,
            "part": self.part,
            "shell": self.default_shell,
            "slrs": [s.as_dict() for s in self.slrs],
            "budget_per_slr": [self.budget(i).as_dict() for i in range(self.num_slrs)],
            "limits": {k: getattr(self.limits, k) for k in RESOURCE_KEYS},
            "sll_per_boundary": list(self.sll_per_boundary),
        }


def available_platforms() -> tuple[str, ...]:
    """Names accepted by ``load_platform``."""
    root = resources.files(__name__)
    return tuple(sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json")))


def load_platform(
    name: str, limits: dict[str, float] | Limits | None = None, shell: str | None = None
) -> Platform:
    """The platform ``name`` (case-insensitive: u250, u280, u55c, u50) with ``limits``
    overriding the default per-SLR utilisation limits; ``shell`` picks one of its shells."""
    key = _ALIASES.get(name.lower(), name.lower())
    names = available_platforms()
    if key not in names:
        raise ConfigError(f"unknown platform {name!r}{close_matches(key, names)}; known: {names}")
    data = json.loads(resources.files(__name__).joinpath(f"{key}.json").read_text())
    lim = limits if isinstance(limits, Limits) else Limits.from_mapping(limits)
    shells = tuple(data["shells"])
    chosen = shell or data["default_shell"]
    if chosen not in shells:
        raise ConfigError(f"platform {key} has no shell {chosen!r}{close_matches(chosen, shells)}")
    return Platform(
        name=key,
        card=data["card"],
        part=data["part"],
        default_shell=chosen,
        shells=shells,
        totals=_vector(data["totals"]),
        slrs=tuple(_vector(s) for s in data["slrs"]),
        sll_per_boundary=tuple(int(v) for v in data["sll_per_boundary"]),
        io_slr=int(data["io_slr"]),
        memories=tuple(MemoryBank(**m) for m in data["memories"]),
        memory_controller=_vector(data["memory_controller"]),
        limits=lim,
        sources=tuple(data["sources"]),
    )


def _vector(values: dict[str, float]) -> ResourceVector:
    names = {f.name for f in fields(ResourceVector)}
    return ResourceVector(**{k: float(v) for k, v in values.items() if k in names})


__all__ = [
    "DEFAULT_LIMITS",
    "RESOURCE_KEYS",
    "Limits",
    "MemoryBank",
    "Platform",
    "ResourceVector",
    "available_platforms",
    "load_platform",
]
