"""SLR assignment: a serpentine chain of units through the SLRs within limits and SLL budget.

Units (residual blocks, layers) are placed in graph order along a *walk* of SLRs that moves
one SLR at a time: ``0, 1, 2, 3, 2, 1, 0`` on a 4-SLR card whose DMA engines sit in SLR0, so
the stream starts and ends next to the I/O (the reference floorplan snakes the same way).
Each visit takes a contiguous run of units. The placement fills visits greedily under a
common cap, a fraction of every SLR's budget, and bisects the cap to the smallest that
works, which spreads the design evenly. A stream between units in different SLRs uses
``width + 2`` SLLs (data, valid, ready) on every boundary it crosses; each boundary's total
must stay within the platform's SLL budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alveoflow.hw.platforms import RESOURCE_KEYS, Platform


@dataclass(frozen=True)
class Placement:
    slr_of: dict[str, int]
    walk: tuple[int, ...]
    cap: float  # the fraction of each SLR budget the fullest SLR uses
    usage: tuple[dict[str, float], ...]  # per SLR, platform units (incl. infrastructure)
    sll: tuple[int, ...]  # per boundary

    @property
    def fits(self) -> bool:
        return self.cap <= 1.0 + 1e-9


def serpentine(platform: Platform) -> tuple[int, ...]:
    n, io = platform.num_slrs, platform.io_slr
    if n == 1:
        return (0,)
    up = tuple(range(io, n))
    down = tuple(range(n - 2, -1, -1))
    walk = up + down
    return walk if walk[-1] == io else up


def place(
    units: Sequence[str],
    costs: Mapping[str, np.ndarray],
    edges: Sequence[tuple[str, str, int]],
    platform: Platform,
    pinned: Mapping[str, int] | None = None,
) -> Placement:
    """Assign ``units`` (graph order, costs in platform-unit vectors) to SLRs.
    ``edges`` are (producer unit, consumer unit, stream bits); ``pinned`` fixes units."""
    pinned = dict(pinned or {})
    budgets = np.array(
        [[platform.budget(i).as_dict()[k] for k in RESOURCE_KEYS] for i in range(platform.num_slrs)]
    )
    walk = serpentine(platform)
    free = [u for u in units if u not in pinned]
    lo, hi = 0.0, 8.0
    best = _greedy(free, costs, pinned, budgets, walk, hi)
    if best is None:
        best = _greedy(free, costs, pinned, budgets, walk, 1e9)
        assert best is not None
    for _ in range(30):
        mid = (lo + hi) / 2
        trial = _greedy(free, costs, pinned, budgets, walk, mid)
        if trial is None:
            lo = mid
        else:
            hi, best = mid, trial
    usage = _usage(best, costs, platform.num_slrs)
    cap = max(
        float(np.max(np.divide(u, b, out=np.zeros_like(u), where=b > 0)))
        for u, b in zip(usage, budgets, strict=True)
    )
    sll = _sll(best, edges, platform.num_slrs)
    return Placement(best, walk, cap, tuple(_as_dict(u) for u in usage), tuple(sll))


def _greedy(
    free: Sequence[str],
    costs: Mapping[str, np.ndarray],
    pinned: Mapping[str, int],
    budgets: np.ndarray,
    walk: tuple[int, ...],
    cap: float,
) -> dict[str, int] | None:
    used = np.zeros_like(budgets)
    for unit, slr in pinned.items():
        used[slr] += costs.get(unit, 0.0)
    limit = budgets * cap
    slr_of = dict(pinned)
    visit = 0
    for unit in free:
        c = costs[unit]
        while np.any(used[walk[visit]] + c > limit[walk[visit]] + 1e-9):
            visit += 1
            if visit == len(walk):
                return None
        used[walk[visit]] += c
        slr_of[unit] = walk[visit]
    return slr_of


def _usage(slr_of: Mapping[str, int], costs: Mapping[str, np.ndarray], n: int) -> list[np.ndarray]:
    usage = [np.zeros(len(RESOURCE_KEYS)) for _ in range(n)]
    for unit, slr in slr_of.items():
        usage[slr] = usage[slr] + costs.get(unit, 0.0)
    return usage


def _sll(slr_of: Mapping[str, int], edges: Sequence[tuple[str, str, int]], n: int) -> list[int]:
    per_boundary = [0] * max(n - 1, 0)
    for a, b, bits in edges:
        sa, sb = slr_of.get(a), slr_of.get(b)
        if sa is None or sb is None or sa == sb:
            continue
        for boundary in range(min(sa, sb), max(sa, sb)):
            per_boundary[boundary] += bits + 2
    return per_boundary


def _as_dict(v: np.ndarray) -> dict[str, float]:
    return {k: float(x) for k, x in zip(RESOURCE_KEYS, v, strict=True)}
