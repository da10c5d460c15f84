"""Per-element ops, quantizers, residual adds, pools and reshapes during lowering.

- BatchNorm / Add|Sub|Mul|Div by a constant / Relu / Clip / Sigmoid, Tanh, LeakyRelu,
  HardSigmoid: appended to the value's chain (no hw op); the quantizer that follows turns
  the chain into thresholds.
- Quant / BipolarQuant / Trunc: ``requant.requantize`` (thresholds). (The model input's own
  quantizer is the host's, see ``inputs``.)
- Add of two tensors: on the same per-channel scale -> a pending ``AddStreams`` (the
  quantizer that follows decides offset and saturation); on different scales -> one side
  requantized by an integer factor (``addmix``).
- Mul of an image by a per-channel gate (N, C, 1, 1) -> ``ChannelMul`` of the codes (both
  zero points 0).
- MaxPool -> ``StreamingMaxPool`` (max commutes with a non-decreasing chain);
  AveragePool -> ``SumPool`` with the 1/N kept in the chain (so it folds into what follows).
- Concat along channels -> ``ConcatStreams``; each channel keeps its own scale and zero point.
- Resize (nearest, integer factors) -> ``Upsample`` (commutes with any per-element chain).
- Reshape: (N, C, 1, 1) -> (N, C) is a hw ``Flatten``; (N, C, H, W) -> (N, CHW) is left for
  the following Linear (``flat_from``); (N, C) -> (N, C, 1, 1) keeps the (N, C) stream (a
  gate for ``ChannelMul``).
- Transpose: composes into ``Value.perm`` (a Transpose back cancels it; a flatten of a
  transposed tensor is a flatten in another order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from alveoflow.compiler.ir import Node, QType, TensorInfo, hw, nn, smallest_qtype
from alveoflow.compiler.passes.lower.addmix import pending_add
from alveoflow.compiler.passes.lower.requant import affine_codes, quant_spec, requantize
from alveoflow.compiler.passes.lower.state import Lowering, Pending, Source, Value
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError


def _chain_shape(value: Value, node: Node) -> tuple[int, ...]:
    """Shape the op's constants must reduce over (4-D for a flattened image: scalars only)."""
    if value.flat_from is None:
        return node.output.shape
    if any(np.asarray(w).size > 1 for w in node.weights.values()):
        raise FoldError("a per-feature constant after flattening an image cannot fold per channel")
    return (1,) + value.flat_from


def _stream_weights(value: Value, node: Node) -> dict[str, np.ndarray]:
    """The node's constants in the stream's NCHW order (a transposed value's are in the
    order of the transposed tensor)."""
    if value.perm is None:
        return dict(node.weights)
    inverse = tuple(int(i) for i in np.argsort(value.perm))
    shape = node.output.shape
    return {
        k: w if np.asarray(w).size == 1 else np.transpose(np.broadcast_to(w, shape), inverse)
        for k, w in node.weights.items()
    }


def lower_elementwise(ctx: Lowering, node: Node) -> None:
    value = ctx.value(node.inputs[0], transposed=True)
    if isinstance(node.op, nn.BatchNorm) and value.perm is not None:
        raise FoldError("BatchNorm of a transposed tensor (its channels are not axis 1)")
    shape = value.stream_shape(_chain_shape(value, node))
    weights = _stream_weights(value, node)
    chain = value.chain.then(node.op, weights, shape, node.name)
    ctx.states[node.output.name] = replace(value, chain=chain)


def lower_quantizer(ctx: Lowering, node: Node) -> None:
    value = ctx.value(node.inputs[0], transposed=True)
    shape = value.stream_shape(_chain_shape(value, node))
    spec = quant_spec(node, shape, value.chain.rank, _stream_weights(value, node))
    out = replace(requantize(ctx, value, spec, node.name), perm=value.perm)
    ctx.states[node.output.name] = out
    assert out.source.tensor is not None
    ctx.record_quant(node.output.name, out.source.tensor.name, spec.label, value.perm)


def lower_binary(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Binary)
    if op.fn == "Mul":
        lower_gate(ctx, node)
        return
    if op.fn != "Add":
        raise FoldError(
            f"{op.fn} of two tensors has no hardware op (Add: AddStreams; Mul by a "
            "per-channel gate: ChannelMul)"
        )
    if node.output.shape != ctx.source.tensor(node.inputs[0]).shape or (
        node.output.shape != ctx.source.tensor(node.inputs[1]).shape
    ):
        raise FoldError("an Add that broadcasts one operand has no hardware op")
    a, ma, ca = affine_codes(ctx, ctx.value(node.inputs[0], transposed=True), node.name)
    b, mb, cb = affine_codes(ctx, ctx.value(node.inputs[1], transposed=True), node.name)
    if (a.flat_from, a.flat_perm, a.perm) != (b.flat_from, b.flat_perm, b.perm):
        raise FoldError("the operands of the add have different layouts")
    if not np.array_equal(ma, mb):
        value = pending_add(ctx, node.name, a, b, ma, mb, ca + cb)
        ctx.states[node.output.name] = replace(value, perm=a.perm, flat_perm=a.flat_perm)
        return
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
    ctx.states[node.output.name] = replace(a, source=source, chain=chain)


def lower_gate(ctx: Lowering, node: Node) -> None:
    """``image * gate`` with the gate of shape (N, C, 1, 1): a ``ChannelMul`` of the codes.
    Either operand may be transposed (a channels-last model); the product keeps the
    image's layout."""
    values = [ctx.value(t, transposed=True) for t in node.inputs]
    shapes = [
        v.stream_shape(ctx.source.tensor(t).shape) for v, t in zip(values, node.inputs, strict=True)
    ]
    if len(shapes[0]) != 4 or shapes[0][2:] == (1, 1):
        values.reverse()
        shapes.reverse()
    n, c = shapes[0][:2]
    if len(shapes[0]) != 4 or shapes[1] != (n, c, 1, 1) or shapes[0][2:] == (1, 1):
        raise FoldError(
            f"Mul of tensors {shapes[0]} and {shapes[1]}: only an image times a per-channel "
            "gate (N, C, 1, 1) has a hardware op (ChannelMul)"
        )
    inputs = values
    x, mx, cx = affine_codes(ctx, ctx.materialize(inputs[0]), node.name)
    g, mg, cg = affine_codes(ctx, ctx.materialize(inputs[1]), node.name)
    if np.any(cx != 0) or np.any(cg != 0):
        raise FoldError(
            "the image and the gate of a Mul must both have zero point 0 (an unsigned ReLU or "
            "sigmoid quantizer, or a signed symmetric one) so the product of codes is exact"
        )
    tx, tg = x.source.tensor, g.source.tensor
    assert tx is not None and tg is not None
    if len(tg.shape) == 4:
        tg = ctx.emit(ctx.unique(f"{node.name}.gate"), hw.Flatten(), [tg]).output
    corners = np.stack(
        [p * q for p in (x.source.lo, x.source.hi) for q in (g.source.lo, g.source.hi)]
    )
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    op = hw.ChannelMul(
        channels=c, idt=tx.qtype, gdt=tg.qtype, odt=smallest_qtype(int(lo.min()), int(hi.max()))
    )
    out = ctx.emit(ctx.unique(node.name), op, [tx, tg]).output
    chain = Chain.start(np.zeros(c), mx * mg, 4)
    ctx.states[node.output.name] = Value(Source(lo, hi, out), chain, perm=x.perm)


def lower_concat(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Concat)
    if op.axis != 1:
        raise FoldError(f"Concat along axis {op.axis}: only channel concatenation (axis 1)")
    parts = [_head(ctx, ctx.value(t), node.name) for t in node.inputs]
    if any(v.flat_from is not None for v, _, _ in parts):
        raise FoldError("Concat of flattened images is not supported")
    out = parts[0][0].source.tensor
    assert out is not None
    for value, _, _ in parts[1:]:  # a chain of two-input concatenations
        right = value.source.tensor
        assert right is not None
        odt = smallest_qtype(
            min(out.qtype.min, right.qtype.min), max(out.qtype.max, right.qtype.max)
        )
        cat = hw.ConcatStreams(
            channels=(out.shape[-1], right.shape[-1]), idts=(out.qtype, right.qtype), odt=odt
        )
        out = ctx.emit(ctx.unique(node.name), cat, [out, right]).output
    lo = np.concatenate([v.source.lo for v, _, _ in parts])
    hi = np.concatenate([v.source.hi for v, _, _ in parts])
    zero = np.concatenate([z for _, z, _ in parts])
    scale = np.concatenate([s for _, _, s in parts])
    rank = len(node.output.shape)
    ctx.states[node.output.name] = Value(Source(lo, hi, out), Chain.start(zero, scale, rank))


def _head(ctx: Lowering, value: Value, who: str) -> tuple[Value, np.ndarray, np.ndarray]:
    """(value on a stream, zero, scale) with real value = (code - zero) * scale per channel;
    a quantizer's own head when the chain has no further ops (bit-exact)."""
    value = ctx.materialize(value)
    if not value.chain.ops:
        return value, value.chain.head.zero, value.chain.head.scale
    value, m, c = affine_codes(ctx, value, who)
    return value, -c / m, m


def lower_resize(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Resize)
    value = ctx.materialize(ctx.value(node.inputs[0]))
    x = value.source.tensor
    assert x is not None
    up = hw.Upsample(channels=x.shape[-1], factor=op.factor, dt=x.qtype)
    out = ctx.emit(ctx.unique(node.name), up, [x]).output
    ctx.states[node.output.name] = replace(value, source=replace(value.source, tensor=out))


def lower_transpose(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Transpose)
    value = ctx.value(node.inputs[0], transposed=True)
    if len(op.perm) == 2:
        ctx.states[node.output.name] = value
        return
    if len(op.perm) != 4 or value.flat_from is not None:
        raise FoldError(f"Transpose {op.perm} of a {len(op.perm)}-D tensor")
    before = value.perm or (0, 1, 2, 3)
    perm = tuple(before[p] for p in op.perm)
    identity = perm == (0, 1, 2, 3)
    ctx.states[node.output.name] = replace(value, perm=None if identity else perm)


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
    in_shape = ctx.source.tensor(node.inputs[0]).shape
    out_shape = node.output.shape
    value = ctx.materialize(ctx.value(node.inputs[0], transposed=True))
    if len(in_shape) == 2 and out_shape == in_shape + (1, 1):  # a gate: the (N, C) stream
        ctx.states[node.output.name] = replace(value, chain=value.chain.with_rank(4))
        return
    if len(in_shape) != 4 or len(out_shape) != 2:
        raise FoldError(f"reshape {in_shape} -> {out_shape} would reorder the stream")
    _, ch, h, w = value.stream_shape(in_shape)
    x = value.source.tensor
    assert x is not None
    if h * w > 1 or value.perm is not None:
        kept = replace(value, flat_from=(ch, h, w), perm=None, flat_perm=value.perm)
        ctx.states[node.output.name] = kept
        return
    flat = ctx.emit(ctx.unique(node.name), hw.Flatten(), [x]).output
    ctx.states[node.output.name] = Value(
        replace(value.source, tensor=flat), value.chain.with_rank(2)
    )


def unsupported(reason: str) -> Callable[[Lowering, Node], None]:
    """A handler that reports ``reason`` for every node of its op type."""

    def handler(ctx: Lowering, node: Node) -> None:
        raise FoldError(reason)

    return handler
