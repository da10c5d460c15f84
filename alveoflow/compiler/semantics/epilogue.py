"""What follows an accumulator: thresholds (``#{t <= acc} + offset``), a bias, or nothing.

Thresholding is the executor's hot spot after the GEMMs, so it has fast paths. When the
thresholds' total span over all channels is small (``LUT_LIMIT``), a per-channel lookup table
maps the clamped accumulator to its output code (no clamp at all when the table covers the
whole accumulator range of every channel). The table index ``acc + shift[c]`` is folded
into the GEMM/conv as a bias, leaving one clamp, one integer cast and one gather, whatever
the number of thresholds; in float32 the cast is a bit mask (``_lookup_bits``). Otherwise
thresholds are counted by comparisons (few: ``count_rows``, straight into uint8 when the
output is stored as uint8) or a binary search (many). A ``Thresholding`` of uint8-stored
inputs compares bytes (few thresholds: ``_byte_thresholds``) or looks its output up in a
per-channel table of every input value (``_byte_table``). All paths are exact:
comparisons use ``ceil``ed integer thresholds clamped to +-(bound + 1), and the GEMM dtype
accounts for the bias magnitude.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch

from alveoflow.compiler.ir import QType, hw
from alveoflow.compiler.semantics.exact import (
    WeightTable,
    accumulator_bound,
    exact_dtype,
    storage_dtype,
    threshold_prep,
)

Weights = Mapping[str, torch.Tensor]
SMALL_N = 4  # up to this many thresholds: compare-and-add; more: binary search
LUT_LIMIT = 1 << 20  # most lookup-table entries per node
FULL_LUT_LIMIT = 1 << 20  # most entries of a table covering the whole accumulator range
MAGIC = 1 << 23  # float32 values in [2**23, 2**24) hold the integer (v - 2**23) in their low bits
LOW_BITS = MAGIC - 1


class Epilogue(NamedTuple):
    """``finish(acc + bias)`` is the unit's output; ``bias`` (or None) is added inside the
    GEMM/conv, which must run in ``dtype``. ``finish`` may overwrite its argument."""

    dtype: torch.dtype
    bias: torch.Tensor | None
    finish: Callable[[torch.Tensor], torch.Tensor]


class _Lut(NamedTuple):
    lo: torch.Tensor  # per channel, in table-index units: all values below clamp here
    hi: torch.Tensor  # per channel, table index of "at or above every threshold"
    shift: torch.Tensor  # table index of value v in channel c is v + shift[c]
    table: torch.Tensor  # output code per entry (int64)
    clamp: bool  # False: the table covers every accumulator value, no clamping needed


def _cached(weights: Weights, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    return weights.cached(key, make) if isinstance(weights, WeightTable) else make()


def _build_lut(thresholds: torch.Tensor, bound: int, offset: int) -> _Lut | None:
    t = threshold_prep(bound)(thresholds.cpu())  # int64 (C, n), sorted per row
    full = t.shape[0] * (2 * bound + 3) <= FULL_LUT_LIMIT  # whole range: no clamp pass
    if full:
        lo, hi = torch.full_like(t[:, 0], -bound - 1), torch.full_like(t[:, 0], bound + 1)
    else:
        lo, hi = t[:, 0] - 1, t[:, -1]
    span = hi - lo + 1
    total = int(span.sum())
    if total > LUT_LIMIT:
        return None
    base = torch.cumsum(span, 0) - span
    channel = torch.repeat_interleave(torch.arange(t.shape[0]), span)
    values = torch.arange(total) - base[channel] + lo[channel]
    counts = torch.searchsorted(t[channel], values[:, None], right=True)[:, 0] + offset
    return _Lut(base, base + span - 1, base - lo, counts, clamp=not full)


def _lut(weights: Weights, bound: int, offset: int) -> _Lut | None:
    key = ("lut", bound, offset)
    return _cached(weights, key, lambda: _build_lut(weights["thresholds"], bound, offset))


def _lookup(
    lut: _Lut, dtype: torch.dtype, out_dtype: torch.dtype, device: torch.device
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Finish for shifted accumulators (channels last); clamps its argument in place."""
    lo = lut.lo.to(device=device, dtype=dtype)
    hi = lut.hi.to(device=device, dtype=dtype)
    table = lut.table.to(device=device, dtype=out_dtype)
    index_dtype = torch.int64 if dtype == torch.int64 else torch.int32

    def finish(acc: torch.Tensor) -> torch.Tensor:
        if lut.clamp:
            acc = acc.clamp_(lo, hi)
        return _gather(table, acc.to(index_dtype), acc.shape)

    return finish


def _gather(table: torch.Tensor, idx: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """``table[idx]`` (on the CPU ``index_select`` of the 1-D table: the fastest gather
    for int32 indices, any table dtype)."""
    if idx.device.type != "cpu":
        return table[idx.long()].reshape(shape)
    return torch.index_select(table.reshape(-1), 0, idx.reshape(-1)).reshape(shape)


def _lookup_bits(
    lut: _Lut, out_dtype: torch.dtype, device: torch.device
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Finish for float32 accumulators shifted by ``shift + 2**23``: every value lies in
    [2**23, 2**24), where a float32's low 23 bits are the integer itself, so the table index
    is a bit mask of the float's bits (in place) instead of a float-to-int conversion."""
    lo = (lut.lo + MAGIC).to(device=device, dtype=torch.float32)
    hi = (lut.hi + MAGIC).to(device=device, dtype=torch.float32)
    table = lut.table.to(device=device, dtype=out_dtype)

    def finish(acc: torch.Tensor) -> torch.Tensor:
        if lut.clamp:
            acc = acc.clamp_(lo, hi)
        idx = acc.view(torch.int32).bitwise_and_(LOW_BITS)
        return _gather(table, idx, acc.shape)

    return finish


def count_thresholds(acc: torch.Tensor, thr: torch.Tensor) -> torch.Tensor:
    """``#{j: thr[c, j] <= acc[..., c]}`` (in acc's dtype), channels last."""
    channels, n = thr.shape
    if n <= SMALL_N:
        out = (acc >= thr[:, 0]).to(acc.dtype)
        for j in range(1, n):
            out += acc >= thr[:, j]
        return out
    rows = acc.reshape(-1, channels).t().contiguous()
    idx = torch.searchsorted(thr, rows, right=True, out_int32=True)
    return idx.t().reshape(acc.shape).to(acc.dtype)


def threshold_epilogue(
    weights: Weights, bound: int, offset: int, odt: QType, floor: torch.dtype, device: torch.device
) -> Epilogue:
    """Epilogue computing ``#{thresholds[c] <= acc} + offset`` for |acc| <= bound."""
    out_dtype = storage_dtype(odt, floor)
    lut = _lut(weights, bound, offset)
    if lut is not None:
        shift = int(lut.shift.abs().max())
        if exact_dtype(bound + shift + MAGIC, floor) == torch.float32:
            bias = (lut.shift + MAGIC).to(device=device, dtype=torch.float32)
            return Epilogue(torch.float32, bias, _lookup_bits(lut, out_dtype, device))
        dtype = exact_dtype(bound + shift, floor)
        bias = lut.shift.to(device=device, dtype=dtype)
        return Epilogue(dtype, bias, _lookup(lut, dtype, out_dtype, device))
    dtype = exact_dtype(bound + 1, floor)
    thr = threshold_prep(bound)(weights["thresholds"]).to(device=device, dtype=dtype)
    if out_dtype == torch.uint8 and thr.shape[1] <= SMALL_N:
        rows = thr.t().contiguous()
        return Epilogue(dtype, None, lambda acc: count_rows(acc, rows, offset))

    def finish(acc: torch.Tensor) -> torch.Tensor:
        out = count_thresholds(acc, thr)
        if offset:
            out += offset
        return out.to(out_dtype)

    return Epilogue(dtype, None, finish)


def unit_epilogue(
    op: hw.MVAU | hw.VVAU, weights: Weights, floor: torch.dtype, device: torch.device
) -> Epilogue:
    """The epilogue of an MVAU/VVAU (cached per node, floor and device)."""

    def make() -> Epilogue:
        bound = accumulator_bound(op)
        if "thresholds" in weights:
            return threshold_epilogue(weights, bound, op.out_offset, op.odt, floor, device)
        out_dtype = storage_dtype(op.odt, floor)
        bias = weights.get("bias")
        extra = 0 if bias is None or bias.numel() == 0 else int(bias.double().abs().max())
        dtype = exact_dtype(bound + extra, floor)
        b = None if bias is None else bias.to(device=device, dtype=dtype)
        return Epilogue(dtype, b, lambda acc: acc.to(out_dtype))

    return _cached(weights, ("epilogue", floor, str(device)), make)


def apply_thresholds(
    x: torch.Tensor, weights: Weights, bound: int, offset: int, odt: QType, floor: torch.dtype
) -> torch.Tensor:
    """The ``Thresholding`` op: the epilogue applied to ``x`` (|x| <= bound), channels last."""
    if x.dtype == torch.uint8 and storage_dtype(odt, floor) == torch.uint8:
        thr = _byte_thresholds(weights, bound, x.device)
        if thr is not None:
            return count_rows(x, thr, offset)
        base, table = _byte_table(weights, bound, offset, x.device)
        return _gather(table, torch.add(base, x), x.shape)
    ep = _cached(
        weights,
        ("thresholding", bound, offset, floor, str(x.device)),
        lambda: threshold_epilogue(weights, bound, offset, odt, floor, x.device),
    )
    acc = x.to(ep.dtype)
    if ep.bias is not None:
        acc = acc + ep.bias
    return ep.finish(acc)


def _byte_table(
    weights: Weights, bound: int, offset: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(base, table) with ``table[base[c] + x]`` the output code of ``x`` (0..bound) in
    channel c: int32 bases (the index ``base + x`` of a uint8 ``x`` is then int32), uint8
    codes."""

    def make() -> tuple[torch.Tensor, torch.Tensor]:
        t = threshold_prep(bound)(weights["thresholds"])  # (C, n) int64
        values = torch.arange(bound + 1)
        counts = (values[None, :, None] >= t[:, None, :]).sum(-1) + offset  # (C, bound + 1)
        base = torch.arange(t.shape[0], dtype=torch.int32) * (bound + 1)
        return base.to(device), counts.reshape(-1).to(device=device, dtype=torch.uint8)

    return _cached(weights, ("byte table", bound, offset, str(device)), make)


def _byte_thresholds(weights: Weights, bound: int, device: torch.device) -> torch.Tensor | None:
    """Thresholds as uint8 (n, C) for uint8 inputs in 0..bound: a threshold <= 0 always
    holds, as does ``0 <= x``; one above ``bound`` never does, nor does ``bound + 1 <= x``.
    None when there are too many thresholds for counting, or bound + 1 exceeds 255."""

    def make() -> torch.Tensor | None:
        t = weights["thresholds"]
        if t.shape[1] > SMALL_N or bound + 1 > 255:
            return None
        t = threshold_prep(bound)(t).clamp(0, bound + 1)
        return t.t().contiguous().to(device=device, dtype=torch.uint8)

    return _cached(weights, ("byte thresholds", bound, str(device)), make)


def count_rows(x: torch.Tensor, rows: torch.Tensor, offset: int) -> torch.Tensor:
    """``#{j: rows[j, c] <= x[..., c]} + offset`` as uint8 (the caller guarantees it fits),
    channels last; ``rows`` (n, C) in a dtype that holds them and ``x``'s values exactly."""
    out = torch.ge(x, rows[0]).view(torch.uint8)
    if rows.shape[0] > 1:
        hit = torch.empty(x.shape, dtype=torch.bool, device=x.device)
        for row in rows[1:]:
            out.add_(torch.ge(x, row, out=hit).view(torch.uint8))
    if offset:
        out.add_(offset)
    return out
