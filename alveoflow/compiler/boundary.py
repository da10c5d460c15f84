"""The host/card boundary of a lowered graph: one definition that both sides use.

A compiled graph is ``host prefix -> card part -> host suffix``:

- prefix: ``QuantizeInput`` (float NCHW/NC -> integer codes NHWC/NC) or ``PixelInput``
  (uint8 NHWC pixels, passed through), or nothing (the graph input is already card codes);
- card part: every op with ``on_host == False`` (what a backend, or the card, runs);
- suffix: ``DequantizeOutput`` (integer logits codes -> float32). ``LabelSelect`` (top-k) runs
  on the card.

``host_plan(graph)`` splits a graph that way and returns a ``HostPlan``: the stage parameters
and the card sub-graph. The compiler's physical design takes its DMA ends from it and the
runtime its host stages (``runtime.packing``), so both agree on what crosses the boundary.
Card arrays hold integer codes in a *storage dtype* (``storage_dtype``): the narrowest numpy
integer type of the code's width and signedness (top-k indices: uint32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.ir import Graph, QType, TensorInfo, hw
from alveoflow.compiler.semantics.host import HostQuant
from alveoflow.errors import ConfigError, GraphError

INPUT_KINDS = ("quantize", "pixels", "codes")


def storage_dtype(qtype: QType) -> np.dtype:
    """The numpy dtype the card (and its buffers) use for codes of ``qtype``."""
    if qtype.is_float:
        return np.dtype(np.float32)
    if qtype.bipolar:
        return np.dtype(np.int8)
    for bits in (8, 16, 32, 64):
        if qtype.bits <= bits:
            return np.dtype(f"{'int' if qtype.signed else 'uint'}{bits}")
    raise GraphError(f"no storage dtype for {qtype}")


@dataclass(frozen=True)
class InputStage:
    """What the host does to the user's input before the card sees it."""

    kind: str  # one of INPUT_KINDS
    user: TensorInfo  # the graph input (shape batch-first, batch recorded as 1)
    card: TensorInfo  # the card's input tensor
    scale: np.ndarray  # float64, one entry or one per channel (quantize only)
    zero_point: float
    lo: int
    hi: int
    host: HostQuant | None = None  # the full QuantizeInput stage (quantize only)

    @property
    def user_dtype(self) -> np.dtype:
        return np.dtype(np.float32) if self.user.qtype.is_float else storage_dtype(self.user.qtype)

    @property
    def quantizer(self) -> HostQuant:
        """The host quantisation (``host``, or a plain round-half-even one of ``scale``,
        ``zero_point``, ``lo``, ``hi`` when the stage was made without it)."""
        if self.host is not None:
            return self.host
        scale = tuple(float(v) for v in np.asarray(self.scale, np.float64).reshape(-1))
        return HostQuant(scale, float(self.zero_point), int(self.lo), int(self.hi))

    @property
    def card_dtype(self) -> np.dtype:
        return storage_dtype(self.card.qtype)


@dataclass(frozen=True)
class OutputStage:
    """One graph output: the card tensor it comes from and what the host does to it."""

    name: str  # graph output name
    kind: str  # "logits" (dequantised), "topk" (card LabelSelect) or "codes"
    card: TensorInfo
    scale: np.ndarray  # float64 (logits only)
    shift: np.ndarray

    @property
    def card_dtype(self) -> np.dtype:
        return storage_dtype(self.card.qtype)


@dataclass(frozen=True)
class HostPlan:
    """The host/card split of a graph (see the module docstring)."""

    input: InputStage
    outputs: tuple[OutputStage, ...]
    card_graph: Graph
    fc_node: str | None  # the MVAU whose weights live in card memory, if any

    def output(self, kind: str) -> OutputStage | None:
        return next((o for o in self.outputs if o.kind == kind), None)

    @property
    def card_outputs(self) -> tuple[str, ...]:
        return self.card_graph.outputs


def host_plan(graph: Graph) -> HostPlan:
    """Split ``graph`` into host prefix, card part and host suffix."""
    if len(graph.inputs) != 1:
        raise ConfigError(f"the runtime needs a graph with one input, got {len(graph.inputs)}")
    stage = input_stage(graph)
    outputs = output_stages(graph)
    card_outs = tuple(dict.fromkeys(o.card.name for o in outputs))
    card_nodes = [n for n in graph.nodes if not n.op.on_host]
    host_mid = [
        n.name for n in card_nodes if any(graph.tensors[t].qtype.is_float for t in n.inputs)
    ]
    if host_mid:
        raise ConfigError(f"nodes {host_mid} take float tensors but are not host ops")
    card_graph = Graph.build([stage.card], card_nodes, card_outs, graph.meta)
    external = [n.name for n in card_nodes if getattr(n.op, "external_weights", False)]
    if len(external) > 1:
        raise ConfigError(f"at most one layer may keep its weights in card memory: {external}")
    return HostPlan(stage, outputs, card_graph, external[0] if external else None)


def output_stages(graph: Graph) -> tuple[OutputStage, ...]:
    """What the host does with each graph output (cheap: no card graph is built)."""
    return tuple(_output_stage(graph, name) for name in graph.outputs)


def input_stage(graph: Graph) -> InputStage:
    """What the host does to the user's input (cheap: no card graph is built)."""
    user = graph.inputs[0]
    first = [n for n in graph.consumers(user.name)]
    host = [n for n in first if n.op.on_host]
    no_scale = np.ones(1, np.float32)
    if not host:
        return InputStage("codes", user, user, no_scale, 0.0, 0, 0)
    if len(first) != 1:
        raise ConfigError(f"graph input {user.name} feeds {len(first)} nodes; expected one")
    node = host[0]
    if isinstance(node.op, hw.PixelInput):
        return InputStage("pixels", user, node.output, no_scale, 0.0, 0, 255)
    if isinstance(node.op, hw.QuantizeInput):
        odt = node.op.odt
        if odt.bipolar or odt.is_float:
            raise ConfigError(f"{node.name}: cannot quantise the input to {odt}")
        params = HostQuant.of(node.op, graph.meta.get("input_quant", ""))
        scale = np.asarray(node.op.scale, dtype=np.float64)
        return InputStage(
            "quantize", user, node.output, scale, node.op.zero_point, params.lo, params.hi, params
        )
    raise ConfigError(f"unexpected host op {node.op.kind} ({node.name}) at the graph input")


def _output_stage(graph: Graph, name: str) -> OutputStage:
    node = graph.producer(name)
    info = graph.tensor(name)
    none = np.zeros(1)
    if node is not None and isinstance(node.op, hw.DequantizeOutput):
        src = graph.tensor(node.inputs[0])
        scale = np.asarray(node.op.scale, dtype=np.float64)
        shift = np.asarray(node.op.shift, dtype=np.float64)
        return OutputStage(name, "logits", src, scale, shift)
    if node is not None and node.op.on_host:
        raise ConfigError(f"unexpected host op {node.op.kind} ({node.name}) at output {name}")
    if node is not None and isinstance(node.op, hw.LabelSelect):
        return OutputStage(name, "topk", info, none, none)
    return OutputStage(name, "codes", info, none, none)
