"""Exactness rules of the reference executor: accumulator bounds and the dtypes they allow.

An integer computation may run in a floating dtype only while every value and partial sum
is exactly representable: |v| < 2**24 for float32, < 2**53 for float64; otherwise int64.
``accumulator_bound(op)`` is the largest magnitude an op's accumulator can reach, computed
from the op's types and sizes alone (weights are not inspected), so the compiler can check
it too. A tensor's dtype never drops below its inputs' ("floor"): feeding int64 codes runs
the whole graph in int64, which is how tests compare the float paths with integer ones.

``WeightTable`` is the ``weights`` mapping kernels receive: read-only master tensors
(integers in their own dtype, floats as float64; never write into them) with a cache of
converted copies, so a graph run
many times converts each weight once per dtype and device.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from alveoflow.compiler.ir import QType, hw

F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
_ORDER = (torch.float32, torch.float64, torch.int64)


def max_abs(qtype: QType) -> int:
    """Largest magnitude of a value of ``qtype`` (floats: treated as 2**24, i.e. inexact)."""
    if qtype.is_float:
        return F32_EXACT
    return max(abs(qtype.min), abs(qtype.max))


def accumulator_bound(op: Any) -> int:
    """Largest |accumulator| the op can produce (before thresholds/bias)."""
    if isinstance(op, hw.MVAU):
        return max_abs(op.wdt) * max_abs(op.idt) * op.mw
    if isinstance(op, hw.VVAU):
        return max_abs(op.wdt) * max_abs(op.idt) * op.kernel_elems
    if isinstance(op, hw.SumPool):
        return max_abs(op.idt) * op.kernel[0] * op.kernel[1]
    if isinstance(op, hw.AddStreams):
        return max_abs(op.idt_a) + max_abs(op.idt_b) + abs(op.offset)
    if isinstance(op, hw.Thresholding):
        return max_abs(op.idt)
    if isinstance(op, hw.ChannelMul):
        return max_abs(op.idt) * max_abs(op.gdt)
    if isinstance(op, hw.ScaleStream):
        return max_abs(op.odt)
    types = [v for v in vars(op).values() if isinstance(v, QType) and not v.is_float]
    return max((max_abs(t) for t in types), default=0)


def exact_dtype(bound: int, floor: torch.dtype = torch.float32) -> torch.dtype:
    """The narrowest of float32/float64/int64, not below ``floor``, exact up to ``bound``."""
    need = (
        torch.float32 if bound < F32_EXACT else torch.float64 if bound < F64_EXACT else torch.int64
    )
    return max(need, floor if floor in _ORDER else torch.float32, key=_ORDER.index)


def storage_dtype(qtype: QType, floor: torch.dtype = torch.float32) -> torch.dtype:
    """The dtype a tensor of ``qtype`` is kept in between ops (float32 for FLOAT32).

    At the float32 floor, unsigned types of at most 8 bits are kept as uint8 (a quarter of
    the memory traffic; uint8 belongs to the float32 class, see ``floor_of``)."""
    if qtype.is_float:
        return torch.float32
    if floor == torch.float32 and not qtype.bipolar and qtype.min >= 0 and qtype.max <= 255:
        return torch.uint8
    return exact_dtype(max_abs(qtype), floor)


def floor_of(*tensors: torch.Tensor) -> torch.dtype:
    """The widest exactness class among ``tensors`` (float32 < float64 < int64); uint8
    storage is float32 class, any other integer dtype int64."""
    dtypes = [_class(t.dtype) for t in tensors]
    return max(dtypes, key=_ORDER.index)


def _class(dtype: torch.dtype) -> torch.dtype:
    if dtype in _ORDER:
        return dtype
    return torch.float32 if dtype == torch.uint8 else torch.int64


def matmul_device(x: torch.Tensor, dtype: torch.dtype) -> torch.device:
    """CUDA has no int64 matmul/conv: those run on the CPU."""
    return torch.device("cpu") if dtype == torch.int64 else x.device


class WeightTable(Mapping[str, torch.Tensor]):
    """A node's weights on one device, with converted copies cached by key."""

    def __init__(self, arrays: Mapping[str, np.ndarray], device: torch.device | str) -> None:
        self.device = torch.device(device)
        self._master = {k: _master(v, self.device) for k, v in arrays.items()}
        self._cache: dict[tuple[Any, ...], torch.Tensor] = {}

    def __getitem__(self, key: str) -> torch.Tensor:
        return self._master[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._master)

    def __len__(self) -> int:
        return len(self._master)

    def cached(self, key: tuple[Any, ...], make: Callable[[], torch.Tensor]) -> torch.Tensor:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


def _master(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """The array as a tensor: zero-copy on the CPU (graph weights are read-only and never
    written), integers kept in their own dtype, floats as float64."""
    a = np.asarray(arr)
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    elif a.dtype.kind == "f" and a.dtype != np.float64:
        a = a.astype(np.float64)
    elif a.dtype.kind == "u" and a.dtype not in (np.uint8,):
        a = a.astype(np.int64)  # torch lacks wide unsigned types
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(a)).to(device)


def weight_as(
    weights: Mapping[str, torch.Tensor],
    name: str,
    dtype: torch.dtype,
    device: torch.device,
    prep: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tag: Any = None,
) -> torch.Tensor:
    """``prep(weights[name])`` converted to ``dtype`` on ``device``, cached when possible."""

    def make() -> torch.Tensor:
        w = weights[name]
        if prep is None:
            return w.to(device=device, dtype=dtype).contiguous()
        return prep(w).to(device=device, dtype=dtype)  # keeps prep's memory format

    if isinstance(weights, WeightTable):
        return weights.cached((name, dtype, str(device), tag), make)
    return make()


def threshold_prep(bound: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Thresholds as exact integers: ``t <= acc`` equals ``ceil(t) <= acc`` for integer acc,
    and clamping to +-(bound + 1) keeps every comparison with |acc| <= bound unchanged."""

    def prep(t: torch.Tensor) -> torch.Tensor:
        if t.is_floating_point():
            t = torch.ceil(t.to(torch.float64)).clamp(-(bound + 1), bound + 1)
        return t.to(torch.int64).clamp(-(bound + 1), bound + 1)

    return prep
