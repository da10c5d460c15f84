"""Exact integer multi-thresholds of a per-channel non-decreasing step function.

Given ``code(a)``, integer-valued and non-decreasing in the integer ``a`` over
``[lo[c], hi[c]]`` for every channel ``c``, ``search_thresholds`` returns ``T`` of shape
``(C, n)`` with ``T[c, j] = min{a in [lo, hi] : code(a) >= base + j + 1}`` (``hi + 1`` when
no such ``a`` exists). Then for every ``a`` in range
``code(a) == base + #{j : T[c, j] <= a}`` whenever ``code`` stays within
``[base, base + n]``, which is the hardware's multi-threshold rule.

The search is a vectorised bisection over integers: each step evaluates ``code`` once on a
``(n, C)`` matrix, so the thresholds equal whatever ``code`` computes (the float64
reference), ties included. ``direction`` -1 channels are searched on ``a' = -a``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

CodeFn = Callable[[torch.Tensor], torch.Tensor]  # (K, C) integers -> (K, C) codes


def search_thresholds(
    code: CodeFn, lo: np.ndarray, hi: np.ndarray, base: int, n: int
) -> np.ndarray:
    """Thresholds (C, n) of a non-decreasing ``code`` over per-channel ranges [lo, hi]."""
    lo64 = np.asarray(lo, dtype=np.int64)
    hi64 = np.asarray(hi, dtype=np.int64)
    channels = lo64.shape[0]
    levels = torch.arange(base + 1, base + n + 1, dtype=torch.float64).reshape(n, 1)
    left = torch.from_numpy(np.broadcast_to(lo64, (n, channels)).copy())
    right = torch.from_numpy(np.broadcast_to(hi64 + 1, (n, channels)).copy())
    while True:
        active = left < right
        if not bool(active.any()):
            break
        mid = torch.where(active, (left + right) // 2, left)
        ok = code(mid) >= levels
        right = torch.where(active & ok, mid, right)
        left = torch.where(active & ~ok, mid + 1, left)
    return left.T.contiguous().numpy()


def oriented(code: CodeFn, direction: np.ndarray) -> CodeFn:
    """``code`` seen through ``a' = direction * a`` (non-decreasing in ``a'``)."""
    sign = torch.from_numpy(np.asarray(direction, dtype=np.int64)).reshape(1, -1)
    return lambda a: code(a * sign)


def oriented_range(
    lo: np.ndarray, hi: np.ndarray, direction: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The range of ``a' = direction * a``."""
    neg = np.asarray(direction) < 0
    return np.where(neg, -hi, lo), np.where(neg, -lo, hi)


def check_thresholds(
    code: CodeFn,
    thresholds: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    base: int,
    samples: int = 64,
    seed: int = 0,
) -> bool:
    """Spot check: the threshold rule reproduces ``code`` at random points and the ends."""
    rng = np.random.default_rng(seed)
    lo64, hi64 = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    pts = rng.integers(lo64, hi64 + 1, size=(samples, lo64.shape[0]))
    pts = np.concatenate([pts, lo64[None], hi64[None]])
    want = code(torch.from_numpy(pts)).numpy()
    got = base + (thresholds[None, :, :] <= pts[:, :, None]).sum(axis=2)
    return bool(np.array_equal(want, got))
