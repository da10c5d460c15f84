"""What lowering knows about each nn tensor, and the hw graph it is building.

Every real-valued nn tensor is represented as ``Value``: an integer ``Source`` (a hw tensor
of codes, or a ``Pending`` accumulator whose producer is emitted only once we know whether
thresholds follow) plus a ``Chain`` from those integers to the real values, per channel.
A 4-D nn tensor (NCHW) maps to an NHWC hw stream; ``perm`` marks a 4-D value that is that
tensor transposed (a layout-only Transpose: only a Transpose back or a flatten may read it);
``flat_from`` marks a 2-D value that is the flattening of a 4-D stream, in NCHW order or,
with ``perm``, in the order of the transposed tensor (its consumer reorders weights to the
stream's (h, w, c)).

``FloatInput`` is the model's float input before it reaches integer codes: the layout (and,
when the model quantizes its own input, the arithmetic) ops read so far become steps of the
host's ``QuantizeInput`` (see ``io``).

``Lowering`` holds the hw nodes built so far, the ``Value`` of every nn tensor, and the
quantizer map recorded in ``graph.meta["quant_map"]`` (nn Quant output -> hw tensor), which
lets tests compare every surviving quantized intermediate code for code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, nn, smallest_qtype
from alveoflow.compiler.ir.core import Op
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError

# emit(name, thresholds | None, direction | None, odt, out_offset) -> hw tensor
EmitFn = Callable[[str, np.ndarray | None, np.ndarray | None, QType, int], TensorInfo]


@dataclass
class Pending:
    """An integer result not yet emitted (MVAU/VVAU accumulator or a stream sum).

    ``negatable``: rows can be negated (weights flip sign), so a decreasing function of the
    accumulator can still be thresholded. ``saturating_add``: an ``AddStreams`` whose
    requantization may be a plain saturating add."""

    name: str
    emit: EmitFn
    negatable: bool
    kind: str = "mvau"
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    lo: np.ndarray  # per-channel integer range
    hi: np.ndarray
    tensor: TensorInfo | None = None
    pending: Pending | None = None


@dataclass(frozen=True)
class Value:
    source: Source
    chain: Chain
    flat_from: tuple[int, int, int] | None = None  # (C, H, W) of a flattened 4-D stream
    perm: tuple[int, ...] | None = None  # the nn tensor is the stream's NCHW view transposed
    flat_perm: tuple[int, ...] | None = None  # the image was transposed so before flattening

    def stream_shape(self, nn_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The NCHW shape of the stream behind an nn tensor of ``nn_shape``."""
        if self.perm is None:
            return nn_shape
        out = [0] * len(nn_shape)
        for i, p in enumerate(self.perm):
            out[p] = nn_shape[i]
        return tuple(out)


@dataclass(frozen=True)
class FloatInput:
    """The model's float input after host ``steps`` (layout, arithmetic), now of ``shape``.

    ``tensor`` is the hw graph input (the model's own input: float, its own shape); ``grid``
    the declared input grid (``InputQuant``) or None; ``round_input``: off-grid input is
    rounded, not rejected."""

    tensor: TensorInfo
    shape: tuple[int, ...]
    steps: tuple[tuple[str, tuple[float, ...]], ...] = ()
    grid: Any = None
    round_input: bool = False

    def then(self, step: tuple[str, tuple[float, ...]], shape: tuple[int, ...]) -> FloatInput:
        return replace(self, steps=self.steps + (step,), shape=tuple(shape))


@dataclass(frozen=True)
class Poisoned:
    """Output of a node that could not be lowered (``cause`` names it)."""

    tensor: TensorInfo
    cause: str


State = Value | FloatInput | Poisoned


class Lowering:
    def __init__(self, graph: Graph) -> None:
        self.source = graph
        self.hw_inputs: list[TensorInfo] = []
        self.nodes: list[Node] = []
        self.hw: dict[str, TensorInfo] = {}
        self.states: dict[str, State] = {}
        self.uses = {t: len(graph.consumers(t)) + graph.outputs.count(t) for t in graph.tensors}
        self.quant_map: dict[str, dict[str, Any]] = {}
        self.outputs: list[str] = []
        self.meta: dict[str, Any] = {}
        self.reserved = set(graph.outputs)  # graph outputs keep their names for DequantizeOutput
        self.input_codes: str | None = None  # hw tensor of the input's codes (QuantizeInput)
        self.block = ""  # residual block of the nn node being lowered (``Node.block``)
        self._blocks = {n.name: n.block for n in graph.nodes}

    # -- hw graph building --------------------------------------------------------------------
    def add_input(self, info: TensorInfo) -> TensorInfo:
        self.hw_inputs.append(info)
        self.hw[info.name] = info
        return info

    def emit(
        self,
        name: str,
        op: Op,
        inputs: list[TensorInfo],
        weights: Mapping[str, np.ndarray] | None = None,
        outputs: list[str] | None = None,
    ) -> Node:
        if outputs is None:  # tensors are named after their node, unless that is an output name
            outputs = [f"{name}.raw" if name in self.reserved else name]
        node = Node.create(name, op, inputs, outputs, weights, self.block)
        self.nodes.append(node)
        for t in node.outputs:
            self.hw[t.name] = t
        return node

    def unique(self, name: str) -> str:
        taken = {n.name for n in self.nodes} | set(self.hw)
        if name not in taken:
            return name
        i = 1
        while f"{name}_{i}" in taken:
            i += 1
        return f"{name}_{i}"

    # -- states -------------------------------------------------------------------------------
    def state(self, tensor: str) -> State:
        return self.states[tensor]

    def value(self, tensor: str, transposed: bool = False) -> Value:
        """The Value of an nn tensor; pending sources of shared tensors are emitted raw.
        ``transposed``: the caller handles ``Value.perm`` (a Transpose or a flatten)."""
        st = self.states[tensor]
        if isinstance(st, Poisoned):
            raise PoisonedInput(st.cause)
        if isinstance(st, FloatInput):  # io.lower_float_input turns it into codes first
            raise FoldError("consumes the float model input, which has no integer grid")
        if st.perm is not None and not transposed:
            raise FoldError(
                "reads a transposed tensor (a Transpose that changes the layout): only a "
                "Transpose back or a flatten into a fully connected layer may read it"
            )
        if st.source.pending is not None and self.uses[tensor] > 1:
            st = self.materialize(st)
            self.states[tensor] = st
        return st

    def materialize(self, value: Value) -> Value:
        """Emit a pending source without thresholds (its raw integer result)."""
        pending = value.source.pending
        if pending is None:
            return value
        lo, hi = value.source.lo, value.source.hi
        odt = smallest_qtype(int(lo.min()), int(hi.max()))
        tensor = self.fire(pending, None, None, odt, 0)
        return replace(value, source=Source(lo, hi, tensor))

    def fire(
        self,
        pending: Pending,
        thresholds: np.ndarray | None,
        direction: np.ndarray | None,
        odt: QType,
        offset: int,
        name: str | None = None,
    ) -> TensorInfo:
        assert not pending.done, f"{pending.name} emitted twice"
        pending.done = True
        outer, self.block = self.block, self._blocks.get(pending.name, self.block)
        try:  # the unit belongs to the block of the node that created it
            return pending.emit(name or pending.name, thresholds, direction, odt, offset)
        finally:
            self.block = outer

    def record_quant(
        self,
        nn_tensor: str,
        hw_tensor: str,
        codes: str = "identity",
        perm: tuple[int, ...] | None = None,
    ) -> None:
        """``perm``: the nn tensor is the stream's NCHW view transposed by it."""
        entry: dict[str, Any] = {"tensor": hw_tensor, "codes": codes}
        if perm is not None:
            entry["perm"] = list(perm)
        self.quant_map[nn_tensor] = entry

    def build(self) -> Graph:
        meta = dict(self.source.meta)
        meta.update(self.meta)
        meta["quant_map"] = self.quant_map
        return Graph.build(self.hw_inputs, self.nodes, self.outputs, meta)


class PoisonedInput(FoldError):
    """Raised when a node consumes the output of a node that could not be lowered."""


DOWNSTREAM = "downstream of unmapped node "


def unmapped(ctx: Lowering, node: Node, reason: str, downstream: bool) -> None:
    """Leave an ``Unmapped`` placeholder for ``node`` and poison its outputs.

    ``downstream``: ``reason`` is the name of the unmapped node this one depends on."""
    inputs = [ctx.hw[t] for t in _hw_names(ctx, node)]
    op = nn.Unmapped(
        source_kind=node.op.source_kind if isinstance(node.op, nn.Unmapped) else node.op.kind,
        reason=DOWNSTREAM + reason if downstream else reason,
        out_shapes=tuple(t.shape for t in node.outputs),
    )
    name = ctx.unique(node.name)
    outs = [name] if len(node.outputs) == 1 else [f"{name}:{i}" for i in range(len(node.outputs))]
    placed = ctx.emit(name, op, inputs, outputs=outs)
    cause = reason if downstream else name
    for nn_out, hw_out in zip(node.outputs, placed.outputs, strict=True):
        ctx.states[nn_out.name] = Poisoned(hw_out, cause)


def _hw_names(ctx: Lowering, node: Node) -> list[str]:
    names = []
    for t in node.inputs:
        st = ctx.states.get(t)
        if isinstance(st, FloatInput) and st.tensor.name not in ctx.hw:
            ctx.add_input(st.tensor)  # the placeholder reads the model input
        if isinstance(st, Poisoned | FloatInput):
            names.append(st.tensor.name)
        elif isinstance(st, Value) and st.source.tensor is not None:
            names.append(st.source.tensor.name)
    return list(dict.fromkeys(names))
