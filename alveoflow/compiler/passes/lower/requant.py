"""Quantizers become integer thresholds; non-affine chains become clamps.

``requantize``: a quantizer (Quant, BipolarQuant, Trunc) applied to a ``Value`` is the
per-channel step function ``codes(chain(a))`` of the integer ``a``. Its thresholds are
searched exactly (``streamline.thresholds``) and attached to the pending producer (MVAU/VVAU
thresholds), or become a saturating ``AddStreams`` when that is what the function is, or a
``Thresholding`` node on an existing stream (nothing when it is the identity).

``affine_codes``: consumers that need ``value = m * a + c`` (convs, pools, adds) get it;
a chain ending in Relu (``max(m * a + c, 0)`` with an integer zero point) or Clip becomes a
clamp of the codes by a ``Thresholding`` node, which is exact. Dead channels (constant over
the whole input range, e.g. a ReLU that is never positive, or a BatchNorm with zero gain)
become a constant code 0 whose value is that constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from alveoflow.compiler.ir import Node, QType, hw, nn, smallest_qtype
from alveoflow.compiler.passes.lower.addmix import requantize_add
from alveoflow.compiler.passes.lower.state import Lowering, Source, Value
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError, channel_view, per_channel
from alveoflow.compiler.passes.streamline.thresholds import (
    oriented,
    oriented_range,
    search_thresholds,
)
from alveoflow.compiler.semantics import nn_kernels

MAX_TABLE = 1 << 16  # largest integer range evaluated point by point


@dataclass(frozen=True)
class QuantSpec:
    """A quantizer seen from the hardware: real values -> hw codes, and back."""

    codes: Callable[[torch.Tensor], torch.Tensor]  # (K, C) reals -> (K, C) hw codes
    lo: int | None  # hw code range (None: derived from the input range)
    hi: int | None
    zero: np.ndarray  # hw code -> value: (code - zero) * scale, per channel
    scale: np.ndarray
    label: str  # how nn codes follow from hw codes: "identity" or "bipolar" (2h - 1)


def quant_spec(
    node: Node, shape: tuple[int, ...], rank: int, weights: dict[str, np.ndarray] | None = None
) -> QuantSpec:
    """The ``QuantSpec`` of a quantizer node applied to a tensor of ``shape`` (``weights``:
    the node's parameters, reordered when the tensor is seen transposed)."""
    op = node.op
    params = dict(node.weights) if weights is None else weights
    w = {
        k: torch.from_numpy(channel_view(per_channel(v, shape, k), rank)) for k, v in params.items()
    }

    def view(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape + (1,) * (rank - 2))

    zero_t, scale_t = nn_kernels.quantizer_head(op, w)
    channels = shape[1] if len(shape) > 1 else 1
    zero = np.broadcast_to(zero_t.numpy().reshape(-1), (channels,)).copy()
    scale = np.broadcast_to(scale_t.numpy().reshape(-1), (channels,)).copy()

    def codes(x: torch.Tensor) -> torch.Tensor:
        return nn_kernels.quantizer_codes(op, view(x), w).reshape(x.shape)

    if isinstance(op, nn.Quant):
        lo, hi = op.code_range()
        return QuantSpec(codes, lo, hi, zero, scale, "identity")
    if isinstance(op, nn.BipolarQuant):  # -1/+1 -> hw codes 0/1, value (h - 0.5) * 2s
        return QuantSpec(lambda x: (codes(x) + 1) / 2, 0, 1, zero + 0.5, scale * 2, "bipolar")
    return QuantSpec(codes, None, None, zero, scale, "identity")


def _table(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Every integer of each channel's range, (R, C), rows past a channel's hi repeat hi."""
    span = int((hi - lo).max()) + 1
    if span > MAX_TABLE:
        raise FoldError(f"integer range of {span} values is too wide to tabulate")
    steps = np.arange(span)[:, None]
    return np.minimum(lo[None, :] + steps, hi[None, :])


def _dead_channels(
    m: np.ndarray, c: np.ndarray, constant: np.ndarray, dead: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dead channels on the scale of the live ones (so a conv reading them still has one
    input scale): the constant code ``constant / m`` with zero point 0 when that is an
    integer (then 0.0 is a code too, for padding), else code 0 of value ``constant``.
    Returns (m, c, code) with ``code`` the dead channels' constant code (0 elsewhere)."""
    code = np.zeros(m.shape, np.int64)
    if not dead.any():
        return m, c, code
    live = m[~dead & (m != 0)]
    m, c = m.copy(), c.copy()
    m[dead] = live[0] if live.size else 1.0
    steps = constant / m
    whole = dead & (np.abs(steps - np.round(steps)) <= 1e-9 * np.maximum(1.0, np.abs(steps)))
    code[whole] = np.round(steps[whole]).astype(np.int64)
    c[whole] = 0.0
    c[dead & ~whole] = constant[dead & ~whole]
    return m, c, code


def requantize(ctx: Lowering, value: Value, spec: QuantSpec, name: str) -> Value:
    """Lower ``spec`` applied to ``value``; returns the Value of the quantized codes."""
    chain, src = value.chain, value.source
    if src.pending is not None and src.pending.kind == "add2":
        tensor, first, last = requantize_add(ctx, value, spec.codes, spec.lo, spec.hi, name)
        out_chain = Chain.start(spec.zero, spec.scale, chain.rank)
        return replace(value, source=Source(first, last, tensor), chain=out_chain, perm=None)
    direction = chain.direction()
    if direction is None:
        raise FoldError(f"the function before the quantizer is not monotone: {chain.describe()}")
    pending = src.pending
    if np.any(direction < 0) and (pending is None or not pending.negatable):
        raise FoldError(f"decreasing function of a stream without weights: {chain.describe()}")
    code = oriented(lambda a: spec.codes(chain.values(a)), direction)
    lo, hi = oriented_range(src.lo, src.hi, direction)
    first = code(torch.from_numpy(lo[None, :])).numpy()[0].astype(np.int64)
    last = code(torch.from_numpy(hi[None, :])).numpy()[0].astype(np.int64)
    qlo = spec.lo if spec.lo is not None else int(first.min())
    qhi = spec.hi if spec.hi is not None else int(last.max())
    odt = smallest_qtype(qlo, qhi)
    thresholds = search_thresholds(code, lo, hi, qlo, qhi - qlo)
    if pending is not None and pending.kind == "add":
        tensor = _requant_add(ctx, value, code, thresholds, odt, qlo, name)
    elif pending is not None:
        tensor = ctx.fire(pending, thresholds, direction, odt, qlo)
    else:
        assert src.tensor is not None
        tensor = _requant_stream(ctx, src, code, thresholds, odt, qlo, name)
    out_chain = Chain.start(spec.zero, spec.scale, chain.rank)
    return replace(value, source=Source(first, last, tensor), chain=out_chain, perm=None)


def _requant_stream(
    ctx: Lowering,
    src: Source,
    code: Callable[[torch.Tensor], torch.Tensor],
    thresholds: np.ndarray,
    odt: QType,
    base: int,
    name: str,
) -> hw.TensorInfo:
    assert src.tensor is not None
    if odt == src.tensor.qtype and int((src.hi - src.lo).max()) < MAX_TABLE:
        table = _table(src.lo, src.hi)
        if np.array_equal(code(torch.from_numpy(table)).numpy(), table):
            return src.tensor  # the quantizer keeps every code: nothing to do
    op = hw.Thresholding(
        channels=src.tensor.shape[-1], idt=src.tensor.qtype, odt=odt, out_offset=base
    )
    return ctx.emit(ctx.unique(name), op, [src.tensor], {"thresholds": thresholds}).output


def _requant_add(
    ctx: Lowering,
    value: Value,
    code: Callable[[torch.Tensor], torch.Tensor],
    thresholds: np.ndarray,
    odt: QType,
    base: int,
    name: str,
) -> hw.TensorInfo:
    """A saturating ``AddStreams`` when codes(sum) == clamp(sum + k, odt), else raw + thresholds."""
    src = value.source
    assert src.pending is not None
    if (src.hi - src.lo).max() < MAX_TABLE:
        table = _table(src.lo, src.hi)
        got = code(torch.from_numpy(table)).numpy()
        for k in np.unique(got[:, 0] - table[:, 0]).astype(np.int64).tolist():
            if np.array_equal(got, np.clip(table + k, odt.min, odt.max)):
                return ctx.fire(src.pending, None, None, odt, k)
    raw = ctx.materialize(value).source.tensor
    assert raw is not None
    op = hw.Thresholding(channels=raw.shape[-1], idt=raw.qtype, odt=odt, out_offset=base)
    return ctx.emit(ctx.unique(name), op, [raw], {"thresholds": thresholds}).output


def affine_codes(ctx: Lowering, value: Value, who: str) -> tuple[Value, np.ndarray, np.ndarray]:
    """(value on a materialized stream, m, c) with real value = m * code + c per channel."""
    value = ctx.materialize(value)
    lin = value.chain.linear()
    if lin is not None and np.all(lin[0] != 0):
        return value, lin[0], lin[1]
    return _clamp(ctx, value, who)


def _not_foldable(chain: Chain, who: str) -> FoldError:
    smooth = [(k, n) for k, n in chain.nonlinear() if k == "Activation"]
    if smooth:
        return FoldError(
            f"the activation {smooth[-1][1]} must be followed by a quantizer before {who} "
            "(e.g. QuantSigmoid/QuantTanh, or a QuantIdentity after it)"
        )
    return FoldError(f"float arithmetic {chain.describe()} cannot fold into integers for {who}")


def _clamp(ctx: Lowering, value: Value, who: str) -> tuple[Value, np.ndarray, np.ndarray]:
    """Turn a Relu-like chain into ``clamp(a, l, h)`` codes with an affine value."""
    chain, src = value.chain, value.source
    assert src.tensor is not None
    pieces = chain._compose(skip_relu=True)
    if pieces is None:
        raise FoldError(f"cannot fold {chain.describe()} into integer codes for {who}")
    m, c = pieces
    table = _table(src.lo, src.hi)
    real = chain.values(torch.from_numpy(table)).numpy()
    dead = np.all(real == real[:1], axis=0)  # constant channels
    line = m[None, :] * table + c[None, :]
    tol = 1e-9 * (np.abs(line) + np.abs(c)[None, :] + np.abs(m)[None, :])
    on_line = (np.abs(real - line) <= tol) | dead[None, :]
    if not np.all(on_line.any(axis=0)):
        raise _not_foldable(chain, who)
    lo_c = np.where(on_line, table, np.iinfo(np.int64).max).min(axis=0)
    hi_c = np.where(on_line, table, np.iinfo(np.int64).min).max(axis=0)
    clamped = np.clip(table, lo_c, hi_c)
    expect = m[None, :] * clamped + c[None, :]
    if not np.all((np.abs(real - expect) <= tol)[:, ~dead]):
        raise _not_foldable(chain, who)
    m, c, code = _dead_channels(m, c, real[0], dead)
    lo_c[dead], hi_c[dead] = code[dead], code[dead]
    lo_t, hi_t = torch.from_numpy(lo_c), torch.from_numpy(hi_c)

    def clamp(a: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(a, lo_t), hi_t).to(torch.float64)

    base, top = int(lo_c.min()), int(hi_c.max())
    thresholds = search_thresholds(clamp, src.lo, src.hi, base, top - base)
    name = ctx.unique(chain.last_nonlinear() or f"{who}.clamp")
    op = hw.Thresholding(
        channels=src.tensor.shape[-1],
        idt=src.tensor.qtype,
        odt=smallest_qtype(base, top),
        out_offset=base,
    )
    tensor = ctx.emit(name, op, [src.tensor], {"thresholds": thresholds}).output
    head = Chain.start(-c / m, m, chain.rank)
    out = replace(value, source=Source(lo_c, hi_c, tensor), chain=head)
    return out, m, c
