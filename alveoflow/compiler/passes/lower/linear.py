"""Conv and Linear -> (SlidingWindow +) MVAU / VVAU on integer codes.

With input values ``m * (a - z[c])`` (one ``m`` for the tensor, ``z`` per channel) and
integer weights ``W`` with per-output scale ``s_w``, the op is
``m * s_w[o] * (acc[o] - K[o])`` where ``acc = W @ a`` and ``K[o] = sum W[o] * z``. Padding
in value space (0) is code ``z[c]``, so the SlidingWindow pads channel ``c`` with ``z[c]``
(which must therefore be an integer when the conv pads). The MVAU stays pending until its
consumer decides between thresholds and a raw accumulator.

Weight layout: ONNX (O, I, kh, kw) -> MVAU (O, kh*kw*I) in (ky, kx, c) order, matching the
SlidingWindow's output; a depthwise conv gives VVAU weights (C, kh*kw). A Linear after a
flattened image (NCHW order c, h, w) gets its columns reordered to the stream's (h, w, c).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alveoflow.compiler.ir import Node, QType, TensorInfo, hw, nn
from alveoflow.compiler.passes.lower.requant import affine_codes
from alveoflow.compiler.passes.lower.state import EmitFn, Lowering, Pending, Source, Value
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError

INT_TOL = 1e-6  # relative: exported constants are float32


def _int_zero(ctx: Lowering, z: np.ndarray, x: TensorInfo) -> np.ndarray:
    r = np.round(z)
    if not np.all(np.abs(z - r) <= INT_TOL * np.maximum(1.0, np.abs(z))):
        if x.name == ctx.input_codes and ctx.source.meta.get("input_quant"):
            raise FoldError(_grid_pad_message(ctx, z))
        shown = ", ".join(f"{v:g}" for v in z[:4])
        raise FoldError(
            f"zero padding needs the integer code of 0.0 in every input channel, but the "
            f"input's zero point is {shown}: pixel input needs an integer mean (124, not "
            "123.675); bipolar (+1/-1) activations cannot be zero-padded (use padding=0)"
        )
    return r.astype(np.int64)


def _grid_pad_message(ctx: Lowering, z: np.ndarray) -> str:
    """Zero padding of the first conv on a declared grid where 0.0 is not a code."""
    from alveoflow.compiler.config import InputQuant

    grid = InputQuant.parse(ctx.source.meta["input_quant"])
    bad = int(np.argmax(np.abs(z - np.round(z))))
    x0 = (z[bad] - grid.zero_point) * grid.scale  # the input value that maps to 0.0
    steps = max(1.0, float(np.floor(abs(z[bad] - grid.zero_point))))
    better = abs(x0) / steps
    name = grid.dtype.name.lower()
    return (
        f"zero padding needs the code of 0.0, but after the float ops before this conv 0.0 "
        f"is the input value {x0:.9g}, which is code {z[bad]:.6g} of the declared grid "
        f"{grid.to_text()} (channel {bad}), not an integer; declare a grid on which "
        f"{x0:.9g} is a code, e.g. --input-quant {name}:{better:.10g}"
        f"{f':{grid.zero_point}' if grid.zero_point else ''}, or give this conv padding=0"
    )


def _acc_range(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row min and max of ``w @ x`` for ``lo <= x <= hi`` (element-wise). Computed with
    float64 matrix products, exact while every sum stays below 2**53."""
    wf = w.astype(np.float64)
    mid = wf @ ((lo + hi) / 2.0)  # the box [lo, hi] is its centre +- its half width
    np.abs(wf, out=wf)
    rad = wf @ ((hi - lo) / 2.0)
    assert float(np.abs(mid).max() + rad.max()) < 2.0**52
    return np.round(mid - rad).astype(np.int64), np.round(mid + rad).astype(np.int64)


def _negate_rows(w: np.ndarray, wdt: QType, direction: np.ndarray) -> tuple[np.ndarray, QType]:
    """Rows with direction -1 negated. Bipolar and narrow-range weights stay in their type;
    unsigned weights, or a full-range minimum that gets negated, widen by one signed bit."""
    flip = direction < 0
    if not flip.any():
        return w, wdt
    if not wdt.bipolar and (not wdt.signed or bool((w[flip] == wdt.min).any())):
        wdt = QType.sint(wdt.bits + 1)
    out = w.astype(nn.code_dtype(wdt))
    out[flip] = -out[flip]
    return out, wdt


def _unit_emit(
    ctx: Lowering,
    x: TensorInfo,
    weights: np.ndarray,
    wdt: QType,
    depthwise: bool,
    options: dict[str, Any],
) -> EmitFn:
    """The emit function of a pending MVAU/VVAU over stream ``x``. ``options`` (shared with
    the Pending's ``extra``) may add ``bias`` (raw output) and ``external_weights``."""

    def emit(
        name: str,
        thresholds: np.ndarray | None,
        direction: np.ndarray | None,
        odt: QType,
        offset: int,
    ) -> TensorInfo:
        w, wt = (weights, wdt) if direction is None else _negate_rows(weights, wdt, direction)
        params: dict[str, np.ndarray] = {"weights": w}
        if thresholds is not None:
            params["thresholds"] = thresholds
        elif options.get("bias") is not None:
            params["bias"] = options["bias"]
        rows = w.shape[0]
        op: hw.MVAU | hw.VVAU
        if depthwise:
            op = hw.VVAU(
                channels=rows,
                kernel_elems=w.shape[1],
                wdt=wt,
                idt=x.qtype,
                odt=odt,
                out_offset=offset,
            )
        else:
            op = hw.MVAU(
                mw=w.shape[1],
                mh=rows,
                wdt=wt,
                idt=x.qtype,
                odt=odt,
                out_offset=offset,
                external_weights=bool(options.get("external_weights", False)),
            )
        return ctx.emit(name, op, [x], params).output

    return emit


def _check_weights(node: Node) -> np.ndarray:
    op = node.op
    assert isinstance(op, nn.Conv | nn.Linear)
    if op.wdt.is_float:
        raise FoldError(
            "weights are not quantized (no Quant/BipolarQuant with a per-output-channel "
            "scale and zero point 0 on them)"
        )
    return np.asarray(node.weights["weight"])


def lower_conv(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Conv)
    w = _check_weights(node)
    out_ch, in_ch = w.shape[0], node.weights["weight"].shape[1] * op.group
    depthwise = op.group > 1 and op.group == in_ch == out_ch
    if op.group > 1 and not depthwise:
        raise FoldError(f"grouped conv (group={op.group}) other than depthwise is not supported")
    if op.dilation != (1, 1):
        raise FoldError(f"dilated conv (dilation={op.dilation}) is not supported")
    value, m, c = affine_codes(ctx, ctx.value(node.inputs[0]), node.name)
    if not depthwise and not np.all(m == m[0]):
        raise FoldError(
            "the input scale differs per channel, which cannot fold into integer weights "
            "(e.g. input normalisation with a per-channel std: use one scalar std)"
        )
    zero = -c / m
    pads = tuple(op.pads)
    x = value.source.tensor
    assert x is not None
    pad_at = zero + op.pad_value / m  # the code of the padding value (0.0 unless fused)
    pad_codes = _int_zero(ctx, pad_at, x) if any(pads) else np.round(zero).astype(np.int64)
    lo, hi = value.source.lo, value.source.hi
    if any(pads):
        lo, hi = np.minimum(lo, pad_codes), np.maximum(hi, pad_codes)
    kh, kw = op.kernel
    if (kh, kw) != (1, 1) or op.stride != (1, 1) or any(pads):
        pv = tuple(int(v) for v in pad_codes) if any(pads) else (0,)
        if len(set(pv)) == 1:
            pv = pv[:1]
        window = hw.SlidingWindow(
            channels=in_ch,
            kernel=op.kernel,
            stride=op.stride,
            pads=op.pads,
            pad_values=pv,
            dt=x.qtype,
        )
        x = ctx.emit(ctx.unique(f"{node.name}.swg"), window, [x]).output
    scale_w = np.asarray(node.weights["weight_scale"], np.float64)
    if depthwise:
        wmat = w.reshape(out_ch, kh * kw)  # (C, ky*kx); VVAU reads x[i * C + c]
        acc_lo, acc_hi = _depthwise_range(wmat, lo, hi)
        k0 = wmat.sum(axis=1) * zero
        s = m * scale_w
    else:
        wmat = w.transpose(0, 2, 3, 1).reshape(out_ch, -1)  # (O, ky, kx, c)
        acc_lo, acc_hi = _acc_range(wmat, np.tile(lo, kh * kw), np.tile(hi, kh * kw))
        k0 = wmat.astype(np.float64) @ np.tile(zero, kh * kw)
        s = m[0] * scale_w
    _pending_value(ctx, node, x, wmat, op.wdt, depthwise, acc_lo, acc_hi, k0, s, rank=4)


def _depthwise_range(
    w: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    w64 = w.astype(np.int64)
    a, b = w64 * lo[:, None], w64 * hi[:, None]
    return np.minimum(a, b).sum(axis=1), np.maximum(a, b).sum(axis=1)


def lower_linear(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Linear)
    w = _check_weights(node)
    value, m, c = affine_codes(ctx, ctx.value(node.inputs[0]), node.name)
    if not np.all(m == m[0]):
        raise FoldError(
            "the input scale differs per feature, which cannot fold into integer weights"
        )
    x = value.source.tensor
    assert x is not None
    zero, lo, hi = -c / m, value.source.lo, value.source.hi
    if value.flat_from is not None:
        ch, h, wd = value.flat_from
        w = stream_columns(w, (ch, h, wd), value.flat_perm)
        zero, lo, hi = (np.tile(v, h * wd) for v in (zero, lo, hi))
        window = hw.SlidingWindow(channels=ch, kernel=(h, wd), dt=x.qtype)
        x = ctx.emit(ctx.unique(f"{node.name}.swg"), window, [x]).output
        x = ctx.emit(ctx.unique(f"{node.name}.flatten"), hw.Flatten(), [x]).output
    acc_lo, acc_hi = _acc_range(w, lo, hi)
    k0 = w.astype(np.float64) @ zero
    s = m[0] * np.asarray(node.weights["weight_scale"], np.float64)
    _pending_value(ctx, node, x, w, op.wdt, False, acc_lo, acc_hi, k0, s, rank=2)


def stream_columns(
    w: np.ndarray, chw: tuple[int, int, int], perm: tuple[int, ...] | None
) -> np.ndarray:
    """Columns of ``w`` (one per element of the flattened image, in the order of the nn
    tensor: NCHW, or NCHW transposed by ``perm``) reordered to the stream's (h, w, c)."""
    index = np.arange(int(np.prod(chw))).reshape((1,) + chw)  # NCHW position of each element
    nn_order = index.transpose(perm or (0, 1, 2, 3)).reshape(-1)
    stream_order = index.transpose(0, 2, 3, 1).reshape(-1)
    by_nchw = np.empty_like(w)
    by_nchw[:, nn_order] = w
    return by_nchw[:, stream_order]


def _pending_value(
    ctx: Lowering,
    node: Node,
    x: TensorInfo,
    wmat: np.ndarray,
    wdt: QType,
    depthwise: bool,
    lo: np.ndarray,
    hi: np.ndarray,
    k0: np.ndarray,
    scale: np.ndarray,
    rank: int,
) -> None:
    options: dict[str, Any] = {}
    emit = _unit_emit(ctx, x, wmat, wdt, depthwise, options)
    pending = Pending(
        node.name, emit, negatable=True, kind="vvau" if depthwise else "mvau", extra=options
    )
    chain = Chain.start(k0, scale, rank)
    if "bias" in node.weights:
        bias = np.asarray(node.weights["bias"], np.float64).reshape((1, -1) + (1,) * (rank - 2))
        chain = chain.then(nn.BinaryConst("Add"), {"const": bias}, node.output.shape, node.name)
    ctx.states[node.output.name] = Value(Source(lo, hi, pending=pending), chain)
