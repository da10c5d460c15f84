"""Per-element ops, quantizers, residual adds, pools and reshapes during lowering.

- BatchNorm / Add|Sub|Mul|Div by a constant / Relu: appended to the value's chain (no hw op).
- Quant / BipolarQuant / Trunc: ``requant.requantize`` (thresholds); on the float graph
  input: ``QuantizeInput``.
- Add of two tensors: both on the same per-channel scale -> a pending ``AddStreams`` (the
  quantizer that follows decides offset and saturation); different scales are an error.
- MaxPool -> ``StreamingMaxPool`` (max commutes with a non-decreasing chain);
  AveragePool -> ``SumPool`` with the 1/N kept in the chain (so it folds into what follows).
- Reshape: (N, C, 1, 1) -> (N, C) is a hw ``Flatten``; (N, C, H, W) -> (N, CHW) is left for
  the following Linear (``flat_from``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from alveoflow.compiler.ir import Node, QType, TensorInfo, hw, nn, smallest_qtype
from alveoflow.compiler.ir.qtype import FLOAT32
from alveoflow.compiler.passes.lower.requant import affine_codes, quant_spec, requantize
from alveoflow.compiler.passes.lower.state import (
    FloatInput,
    Lowering,
    Pending,
    Source,
    Value,
)
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError, per_channel


def _chain_shape(value: Value, node: Node) -> tuple[int, ...]:
    """Shape the op's constants must reduce over (4-D for a flattened image: scalars only)."""
    if value.flat_from is None:
        return node.output.shape
    if any(np.asarray(w).size > 1 for w in node.weights.values()):
        raise FoldError("a per-feature constant after flattening an image cannot fold per channel")
    return (1,) + value.flat_from


def lower_elementwise(ctx: Lowering, node: Node) -> None:
    value = ctx.value(node.inputs[0])
    chain = value.chain.then(node.op, node.weights, _chain_shape(value, node), node.name)
    ctx.states[node.output.name] = replace(value, chain=chain)


def lower_quantizer(ctx: Lowering, node: Node) -> None:
    st = ctx.state(node.inputs[0])
    if isinstance(st, FloatInput):
        _quantize_input(ctx, node, st)
        return
    value = ctx.value(node.inputs[0])
    shape = _chain_shape(value, node)
    spec = quant_spec(node, shape, value.chain.rank)
    out = requantize(ctx, value, spec, node.name)
    ctx.states[node.output.name] = out
    assert out.source.tensor is not None
    ctx.record_quant(node.output.name, out.source.tensor.name, spec.label)


def _quantize_input(ctx: Lowering, node: Node, st: FloatInput) -> None:
    op = node.op
    if not isinstance(op, nn.Quant) or op.narrow or op.rounding_mode not in ("ROUND", "HALF_EVEN"):
        raise FoldError(
            "the input quantizer must be a Quant with round-half-even and full range "
            f"(got {op.kind}{' narrow' if getattr(op, 'narrow', False) else ''})"
        )
    shape = st.tensor.shape
    scale = per_channel(node.weights["scale"], shape, "input scale")
    zero = per_channel(node.weights["zero_point"], shape, "input zero point")
    if not np.all(zero == zero[0]):
        raise FoldError("the input quantizer's zero point must be one scalar")
    if st.tensor.name not in ctx.hw:
        ctx.add_input(st.tensor)
    uniform = bool(np.all(scale == scale[0]))
    qop = hw.QuantizeInput(
        scale=(float(scale[0]),) if uniform else tuple(float(s) for s in scale),
        zero_point=float(zero[0]),
        odt=op.qtype(),
    )
    tensor = ctx.emit(ctx.unique(node.name), qop, [ctx.hw[st.tensor.name]]).output
    lo, hi = op.code_range()
    chans = scale.shape[0]
    source = Source(np.full(chans, lo, np.int64), np.full(chans, hi, np.int64), tensor)
    rank = len(shape)
    ctx.states[node.output.name] = Value(source, Chain.start(zero, scale, rank))
    ctx.record_quant(node.output.name, tensor.name)


def lower_add(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Binary)
    if op.fn != "Add":
        raise FoldError(f"{op.fn} of two tensors has no hardware op (only Add: AddStreams)")
    a, ma, ca = affine_codes(ctx, ctx.value(node.inputs[0]), node.name)
    b, mb, cb = affine_codes(ctx, ctx.value(node.inputs[1]), node.name)
    if not np.array_equal(ma, mb):
        ratio = float(np.max(ma / mb))
        raise FoldError(
            f"the operands of the add have different scales (ratio {ratio:g}); route both "
            "through one shared quantizer so the add needs no rescaling"
        )
    if a.flat_from != b.flat_from:
        raise FoldError("the operands of the add have different layouts")
    ta, tb = a.source.tensor, b.source.tensor
    assert ta is not None and tb is not None

    def emit(
        name: str,
        thresholds: np.ndarray | None,
        direction: np.ndarray | None,
        odt: QType,
        offset: int,
    ) -> TensorInfo:
        assert thresholds is None and direction is None
        add = hw.AddStreams(
            channels=ta.shape[-1], idt_a=ta.qtype, idt_b=tb.qtype, odt=odt, offset=offset
        )
        return ctx.emit(name, add, [ta, tb]).output

    pending = Pending(ctx.unique(node.name), emit, negatable=False, kind="add")
    source = Source(a.source.lo + b.source.lo, a.source.hi + b.source.hi, pending=pending)
    chain = Chain.start(-(ca + cb) / ma, ma, a.chain.rank)
    ctx.states[node.output.name] = Value(source, chain, a.flat_from)


def lower_maxpool(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.MaxPool)
    value = ctx.materialize(ctx.value(node.inputs[0]))
    direction = value.chain.direction()
    if direction is None or np.any(direction < 0):
        raise FoldError("max pooling of a decreasing or non-monotone function of the codes")
    x = value.source.tensor
    assert x is not None
    pool = hw.StreamingMaxPool(
        channels=x.shape[-1], kernel=op.kernel, stride=op.stride, pads=op.pads, dt=x.qtype
    )
    out = ctx.emit(ctx.unique(node.name), pool, [x]).output
    ctx.states[node.output.name] = replace(value, source=replace(value.source, tensor=out))


def lower_avgpool(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.AveragePool)
    if any(op.pads):
        raise FoldError("average pooling with padding is not supported (SumPool has no pads)")
    value, m, c = affine_codes(ctx, ctx.value(node.inputs[0]), node.name)
    x = value.source.tensor
    assert x is not None
    n = op.kernel[0] * op.kernel[1]
    odt = smallest_qtype(x.qtype.min * n, x.qtype.max * n)
    pool = hw.SumPool(
        channels=x.shape[-1], kernel=op.kernel, stride=op.stride, idt=x.qtype, odt=odt
    )
    out = ctx.emit(ctx.unique(node.name), pool, [x]).output
    source = Source(value.source.lo * n, value.source.hi * n, out)
    chain = Chain.start(-c * n / m, m / n, value.chain.rank)
    ctx.states[node.output.name] = Value(source, chain)


def lower_reshape(ctx: Lowering, node: Node) -> None:
    st = ctx.state(node.inputs[0])
    in_shape = ctx.source.tensor(node.inputs[0]).shape
    out_shape = node.output.shape
    if isinstance(st, FloatInput):
        if ctx.uses[node.inputs[0]] != 1 or st.tensor.name in ctx.hw:
            raise FoldError("the float input is reshaped but also used elsewhere")
        layout = "NC" if len(out_shape) == 2 else "ANY"
        info = TensorInfo(st.tensor.name, out_shape, FLOAT32, layout)
        ctx.states[node.output.name] = FloatInput(info)
        return
    if len(in_shape) != 4 or len(out_shape) != 2:
        raise FoldError(f"reshape {in_shape} -> {out_shape} would reorder the stream")
    value = ctx.materialize(ctx.value(node.inputs[0]))
    _, ch, h, w = in_shape
    if h * w > 1:
        ctx.states[node.output.name] = replace(value, flat_from=(ch, h, w))
        return
    x = value.source.tensor
    assert x is not None
    flat = ctx.emit(ctx.unique(node.name), hw.Flatten(), [x]).output
    ctx.states[node.output.name] = Value(
        replace(value.source, tensor=flat), value.chain.with_rank(2)
    )


def unsupported(reason: str) -> Callable[[Lowering, Node], None]:
    """A handler that reports ``reason`` for every node of its op type."""

    def handler(ctx: Lowering, node: Node) -> None:
        raise FoldError(reason)

    return handler
