"""Adds of two streams on different scales: one side is requantized by an integer factor.

The operands have real values ``va(a)`` and ``vb(b)`` (integer codes ``a``, ``b``, affine
with per-channel scales ``ma``, ``mb``). Their sum is no affine function of one integer
unless ``mb / ma`` is a ratio of small integers, but the quantizer that follows the add only
ever sees the finitely many pairs (a, b) of the operand ranges. ``requantize_add``
evaluates its codes on every pair exactly as the float64 reference does (``va(a) + vb(b)``,
then the ops after the add, then the quantizer) and searches small integer weights
``(A', B')`` (up to ``MAX_WEIGHT``) for which the codes are a non-decreasing function of
``A' * a + B' * b`` alone. The hardware is then ``ScaleStream`` (a -> A' a, b -> B' b,
skipped for a factor of 1) + ``AddStreams`` + the quantizer's thresholds on the sum (or a
saturating add when that is what they are). The check is exhaustive, so the codes equal the
float64 evaluation on every input.

A consumer that needs the sum itself (not quantized) gets ``A * a + B * b`` with the exact
integer ratio of the scales (``exact_weights``) when it is at most ``MAX_WEIGHT``, else an
error.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Any

import numpy as np
import torch

from alveoflow.compiler.ir import QType, TensorInfo, hw, smallest_qtype
from alveoflow.compiler.passes.lower.state import Lowering, Pending, Source, Value
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError

MAX_WEIGHT = 4096  # largest integer factor tried on either side
NEAR = 32  # sizes up to which every fraction next to the ratio is tried too
MAX_PAIRS = 1 << 16  # largest number of (a, b) pairs tabulated per channel
SAMPLE = 2048  # pairs checked first when searching weights (a cheap necessary condition)


def exact_weights(ma: np.ndarray, mb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel, coprime integers (A, B) and a power-of-two ``u`` with ``ma = u * A`` and
    ``mb = u * B`` exactly (object arrays of Python ints for A and B)."""
    big_a, big_b, unit = [], [], []
    for x, y in zip(ma.tolist(), mb.tolist(), strict=True):
        fa, fb = Fraction(x), Fraction(y)
        den = max(fa.denominator, fb.denominator)  # both powers of two
        ia, ib = int(fa * den), int(fb * den)
        g = gcd(ia, ib) or 1
        big_a.append(ia // g)
        big_b.append(ib // g)
        unit.append(float(Fraction(g, den)))
    return np.array(big_a, dtype=object), np.array(big_b, dtype=object), np.array(unit)


def pending_add(
    ctx: Lowering, name: str, a: Value, b: Value, ma: np.ndarray, mb: np.ndarray, c: np.ndarray
) -> Value:
    """The Value of ``a + b`` on different scales (``ma``, ``mb``; ``c`` = ca + cb). Its
    chain starts at the exact sum ``u * (A a + B b) + c`` when that integer ratio is small;
    otherwise only a quantizer may read it (``requantize_add`` does not use the head)."""
    if np.any(ma <= 0) or np.any(mb <= 0):
        raise FoldError("the operands of the add have scales of opposite signs")
    big_a, big_b, unit = exact_weights(ma, mb)
    small = max(int(np.max(big_a)), int(np.max(big_b))) <= MAX_WEIGHT
    extra: dict[str, Any] = {"a": a, "b": b, "A": big_a, "B": big_b, "small": small}
    pending = Pending(ctx.unique(name), _raw_emit(ctx, extra), negatable=False, kind="add2")
    pending.extra.update(extra)
    if small:
        lo = np.array(_combine(big_a, big_b, a.source.lo, b.source.lo), np.int64)
        hi = np.array(_combine(big_a, big_b, a.source.hi, b.source.hi), np.int64)
        head = Chain.start(-c / unit, unit, a.chain.rank)
    else:  # no single-integer form: the range and head are placeholders
        lo, hi = a.source.lo + b.source.lo, a.source.hi + b.source.hi
        head = Chain.start(np.zeros_like(c), np.ones_like(c), a.chain.rank)
    return Value(Source(lo, hi, pending=pending), head, a.flat_from)


def _combine(big_a: np.ndarray, big_b: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[int]:
    """``A * a + B * b`` per channel in Python integers (no overflow)."""
    return [
        int(x) * int(p) + int(y) * int(q) for x, y, p, q in zip(big_a, big_b, a, b, strict=True)
    ]


def _raw_emit(ctx: Lowering, extra: dict[str, Any]) -> Any:
    """The pending add emitted raw (``A * a + B * b`` with the exact weights): only when
    they are small, i.e. when a consumer needs the sum itself rather than its codes."""

    def emit(name: str, thresholds: Any, direction: Any, odt: QType, offset: int) -> TensorInfo:
        big_a, big_b = extra["A"], extra["B"]
        if not extra["small"]:
            raise FoldError(
                "the operands of the add have different scales and the sum is used "
                "unquantized: quantize the sum (e.g. a QuantReLU/QuantIdentity after the add)"
            )
        return _sum(
            ctx,
            name,
            extra["a"],
            extra["b"],
            big_a.astype(np.int64),
            big_b.astype(np.int64),
            odt,
            offset,
        )

    return emit


def _scaled(ctx: Lowering, name: str, value: Value, factor: np.ndarray) -> TensorInfo:
    """The stream of ``value`` multiplied per channel by ``factor`` (a ``ScaleStream``)."""
    src = value.source
    assert src.tensor is not None
    if np.all(factor == 1):
        return src.tensor
    qt = src.tensor.qtype
    lo, hi = min(qt.min * factor.max(), 0), max(qt.max * factor.max(), 0)
    op = hw.ScaleStream(channels=src.tensor.shape[-1], idt=qt, odt=smallest_qtype(int(lo), int(hi)))
    weights = {"factors": factor.astype(np.int64)}
    return ctx.emit(ctx.unique(name), op, [src.tensor], weights).output


def _sum(
    ctx: Lowering,
    name: str,
    a: Value,
    b: Value,
    fa: np.ndarray,
    fb: np.ndarray,
    odt: QType,
    offset: int,
) -> TensorInfo:
    ta = _scaled(ctx, f"{name}.scale_a", a, fa)
    tb = _scaled(ctx, f"{name}.scale_b", b, fb)
    add = hw.AddStreams(
        channels=ta.shape[-1], idt_a=ta.qtype, idt_b=tb.qtype, odt=odt, offset=offset
    )
    return ctx.emit(name, add, [ta, tb]).output


def _pairs(a: Source, b: Source) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) pair of each channel's ranges, (P, C) each (short ranges repeat)."""
    na = int((a.hi - a.lo).max()) + 1
    nb = int((b.hi - b.lo).max()) + 1
    if na * nb > MAX_PAIRS:
        raise FoldError(
            f"the add of two streams on different scales has {na} x {nb} operand pairs, too "
            "many to requantize exactly; route both operands through one shared quantizer"
        )
    av = np.minimum(a.lo[None, :] + np.arange(na)[:, None], a.hi[None, :])
    bv = np.minimum(b.lo[None, :] + np.arange(nb)[:, None], b.hi[None, :])
    return np.repeat(av, nb, axis=0), np.tile(bv, (na, 1))


def _consistent(s: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per column: is ``codes`` a non-decreasing function of ``s``?"""
    span = int(codes.max() - codes.min()) + 1
    key = s * span + (codes - codes.min())
    order = np.argsort(key, axis=0, kind="stable")
    ss, cs = np.take_along_axis(s, order, 0), np.take_along_axis(codes, order, 0)
    dc, ds = np.diff(cs, axis=0), np.diff(ss, axis=0)
    return np.all(dc >= 0, axis=0) & np.all((ds != 0) | (dc == 0), axis=0)


def _candidates(big_a: int, big_b: int) -> list[tuple[int, int]]:
    """Small (A', B') with B'/A' near B/A, smallest first: the fractions on the
    Stern-Brocot path to B/A (each the best approximation of its size from its side) up to
    ``MAX_WEIGHT``, and their neighbours for small sizes."""
    target = Fraction(big_b, big_a)
    out: set[tuple[int, int]] = set()
    lp, lq, rp, rq = 0, 1, 1, 0  # left = 0/1, right = 1/0 (numerator B', denominator A')
    while max(lp + rp, lq + rq) <= MAX_WEIGHT:
        num, den = lp + rp, lq + rq
        out.add((den, num))
        if Fraction(num, den) == target:
            break
        if Fraction(num, den) < target:
            lp, lq = num, den
        else:
            rp, rq = num, den
    ratio = float(target)
    for n in range(1, NEAR + 1):
        for q in (int(np.floor(n * ratio)), int(np.ceil(n * ratio))):
            if 1 <= q <= MAX_WEIGHT:
                out.add((n, q))
    return sorted(out, key=lambda w: (max(w), abs(w[1] / w[0] - ratio)))


def small_weights(
    a: np.ndarray, b: np.ndarray, codes: np.ndarray, big_a: np.ndarray, big_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the first (A', B') of ``_candidates`` under which ``codes`` of every
    pair is a non-decreasing function of ``A' a + B' b``."""
    channels = codes.shape[1]
    fa, fb = np.zeros(channels, np.int64), np.zeros(channels, np.int64)
    rows = np.random.default_rng(0).permutation(codes.shape[0])[:SAMPLE]
    for pair in sorted(set(zip(big_a.tolist(), big_b.tolist(), strict=True))):
        todo = np.nonzero((big_a == pair[0]) & (big_b == pair[1]))[0]
        r = pair[1] / pair[0]
        for p, q in _candidates(*pair):
            # a necessary condition on a sample of the pairs first, then every pair
            maybe = todo[
                _consistent(p * a[rows][:, todo] + q * b[rows][:, todo], codes[rows][:, todo])
            ]
            ok = np.zeros(todo.shape, bool)
            if maybe.size:
                full = _consistent(p * a[:, maybe] + q * b[:, maybe], codes[:, maybe])
                ok[np.isin(todo, maybe[full])] = True
            fa[todo[ok]], fb[todo[ok]] = p, q
            todo = todo[~ok]
            if not todo.size:
                break
        if todo.size:
            raise FoldError(
                f"the add of two streams with scales {r:g} apart: no integer weights up "
                f"to {MAX_WEIGHT} reproduce the quantized sum; route both operands through "
                "one shared quantizer"
            )
    return fa, fb


def requantize_add(
    ctx: Lowering, value: Value, codes_of: Any, qlo: int | None, qhi: int | None, name: str
) -> tuple[TensorInfo, np.ndarray, np.ndarray]:
    """Lower a quantizer (``codes_of``: real values (K, C) -> codes, in ``qlo..qhi`` when
    known) applied to a pending ``"add2"`` value. Returns the hw tensor of the codes and the
    least and greatest code of each channel."""
    pending = value.source.pending
    assert pending is not None and pending.kind == "add2"
    pending.done = True
    a, b = pending.extra["a"], pending.extra["b"]
    av, bv = _pairs(a.source, b.source)
    real = a.chain.values(torch.from_numpy(av)) + b.chain.values(torch.from_numpy(bv))
    codes = codes_of(value.chain.apply(real)).numpy().astype(np.int64)
    first, last = codes.min(axis=0), codes.max(axis=0)
    qlo = int(first.min()) if qlo is None else qlo
    qhi = int(last.max()) if qhi is None else qhi
    odt = smallest_qtype(qlo, qhi)
    fa, fb = small_weights(av, bv, codes, pending.extra["A"], pending.extra["B"])
    s = fa[None, :] * av + fb[None, :] * bv
    tensor = _saturating(ctx, pending.name, a, b, fa, fb, s, codes, odt)
    if tensor is None:
        lo, hi = fa * a.source.lo + fb * b.source.lo, fa * a.source.hi + fb * b.source.hi
        raw_odt = smallest_qtype(int(lo.min()), int(hi.max()))
        raw = _sum(ctx, pending.name, a, b, fa, fb, raw_odt, 0)
        thresholds = _table_thresholds(s, codes, qlo, qhi - qlo, hi)
        op = hw.Thresholding(channels=raw.shape[-1], idt=raw.qtype, odt=odt, out_offset=qlo)
        tensor = ctx.emit(ctx.unique(name), op, [raw], {"thresholds": thresholds}).output
    return tensor, first, last


def _saturating(
    ctx: Lowering,
    name: str,
    a: Value,
    b: Value,
    fa: np.ndarray,
    fb: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    odt: QType,
) -> TensorInfo | None:
    """A saturating ``AddStreams`` when codes == clamp(s + k, odt) on every pair."""
    for k in np.unique(codes[0] - s[0]).astype(np.int64).tolist():
        if np.array_equal(codes, np.clip(s + k, odt.min, odt.max)):
            return _sum(ctx, name, a, b, fa, fb, odt, int(k))
    return None


def _table_thresholds(
    s: np.ndarray, codes: np.ndarray, base: int, n: int, hi: np.ndarray
) -> np.ndarray:
    """T[c, j] = the least attained s with code >= base + j + 1 (hi + 1 when none)."""
    big = np.iinfo(np.int64).max
    out = np.empty((codes.shape[1], n), np.int64)
    for j in range(n):
        least = np.where(codes >= base + j + 1, s, big).min(axis=0)
        out[:, j] = np.where(least == big, hi + 1, least)
    return out
