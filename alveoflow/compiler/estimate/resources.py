"""Resource arithmetic and memory mapping: how a logical memory becomes LUTs, BRAMs or URAMs.

``Cost`` is an amount of LUT/FF/BRAM18/URAM/DSP; costs add and scale. The memory functions
map a logical memory of ``depth`` words of ``width`` bits, replicated ``count`` times, onto
one physical primitive, following the UltraScale+ primitives:

- BRAM18 (18 Kib): simple dual port 512x36, 1Kx18, 2Kx9, 4Kx4, 8Kx2, 16Kx1; true dual port
  (two independent read ports, used when two logical memories share one block) at most
  18 bits per port.
- URAM (288 Kib): 4Kx72, two ports; deeper memories cascade.
- LUT ROM/RAM: one LUT6 holds 64 bits of one bit column (ROM: constant contents become
  logic); a writable dual-port LUTRAM costs ``LUTRAM_FACTOR`` times that.

Memory packing (``pack`` logical memories per physical one) concatenates their depths and
serves them from the two ports of a dual-port BRAM/URAM: ``pack`` <= 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from alveoflow.hw.platforms import ResourceVector

MEM_STYLES = ("lut", "bram", "uram", "external")
BRAM18_SDP = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
BRAM18_TDP = ((1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
URAM_DEPTH, URAM_WIDTH = 4096, 72
LUTRAM_FACTOR = 1.15  # RAM64M8: 8 LUTs give 64 x 7 dual-port bits


@dataclass(frozen=True)
class Cost:
    """LUT, FF, BRAM18, URAM and DSP counts (floats: estimates, summed before rounding)."""

    lut: float = 0.0
    ff: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0
    dsp: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __mul__(self, k: float) -> Cost:
        return Cost(*(getattr(self, f.name) * k for f in fields(self)))

    __rmul__ = __mul__

    def to_vector(self) -> ResourceVector:
        """Platform units (BRAM36 = BRAM18 / 2)."""
        return ResourceVector(self.lut, self.ff, self.bram18 / 2.0, self.uram, self.dsp)

    def as_dict(self) -> dict[str, float]:
        return self.to_vector().as_dict()


def total(costs: list[Cost] | tuple[Cost, ...]) -> Cost:
    acc = Cost()
    for c in costs:
        acc = acc + c
    return acc


def bram18_blocks(depth: int, width: int, dual_port: bool = False) -> int:
    """BRAM18s for one ``depth`` x ``width`` memory, best aspect ratio."""
    if depth <= 0 or width <= 0:
        return 0
    shapes = BRAM18_TDP if dual_port else BRAM18_SDP
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in shapes)


def uram_blocks(depth: int, width: int) -> int:
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(width / URAM_WIDTH) * math.ceil(depth / URAM_DEPTH)


def lut_rom(depth: int, width: int) -> int:
    """LUTs of a constant ROM: one LUT6 per bit column per 64 words."""
    return width * math.ceil(depth / 64) if depth > 0 else 0


def memory_cost(style: str, depth: int, width: int, count: int = 1, pack: int = 1) -> Cost:
    """``count`` logical memories of ``depth`` x ``width`` bits in ``style``, with ``pack``
    logical memories sharing one dual-port physical memory (BRAM/URAM only)."""
    if count <= 0 or depth <= 0 or width <= 0 or style == "external":
        return Cost()
    if style == "lut":
        return Cost(lut=count * lut_rom(depth, width))
    pack = max(1, min(pack, 2, count))
    groups = math.ceil(count / pack)
    if style == "bram":
        return Cost(bram18=groups * bram18_blocks(depth * pack, width, dual_port=pack > 1))
    if style == "uram":
        return Cost(uram=groups * uram_blocks(depth * pack, width))
    raise ValueError(f"unknown memory style {style!r}")


def buffer_cost(depth: int, width: int) -> Cost:
    """A writable buffer (line buffer, FIFO storage): registers, LUTRAM or BRAM by size."""
    if depth <= 0 or width <= 0:
        return Cost()
    if depth <= 2:
        return Cost(ff=depth * width)
    if depth * width <= 64 * 256 or depth <= 64:
        lut = LUTRAM_FACTOR * width * math.ceil(depth / 64)
        return Cost(lut=lut, ff=width)
    return Cost(bram18=bram18_blocks(depth, width), ff=width)


def best_style(depth: int, width: int, count: int, weights: dict[str, float]) -> tuple[str, int]:
    """The (style, pack) minimising the weighted cost ``sum(weights[k] * cost[k])``."""
    best: tuple[float, str, int] | None = None
    for style in ("lut", "bram", "uram"):
        for pack in (1, 2) if style != "lut" else (1,):
            cost = memory_cost(style, depth, width, count, pack).as_dict()
            score = sum(weights.get(k, 0.0) * v for k, v in cost.items())
            if best is None or score < best[0] - 1e-12:
                best = (score, style, pack)
    assert best is not None
    return best[1], best[2]
