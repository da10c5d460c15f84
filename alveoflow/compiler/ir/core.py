"""The immutable IR: tensor descriptions, operators, nodes and graphs.

Contracts
- ``TensorInfo``: name, shape, element ``QType`` and layout. Dimension 0 is the batch; the IR
  records it as 1 and executors accept any batch size.
- ``Op``: a frozen dataclass of typed parameters. ``infer`` computes the output shapes and
  types from the input infos and weights and raises ``GraphError`` on a mismatch, so a node
  cannot be built with inconsistent shapes or types.
- ``Node``: a named op application. Its weights are read-only numpy arrays (never copied
  when a graph is rewritten). Names come from the Brevitas module paths and never change.
  ``block`` is the residual block (module path, e.g. ``layer3.2``) the node belongs to, or
  ``""``: set by the frontend, carried through lowering, read by the physical design.
- ``Graph``: inputs, nodes in topological order, outputs, and JSON-able metadata. Built only
  through ``Graph.build``, which sorts and verifies; a pass returns a new graph or the same
  object when nothing changed.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from alveoflow.compiler.ir.qtype import QType
from alveoflow.errors import GraphError

Shape = tuple[int, ...]
LAYOUTS = ("NCHW", "NHWC", "NC", "ANY")


@dataclass(frozen=True)
class TensorInfo:
    """One tensor: name, shape (batch first), element type, layout."""

    name: str
    shape: Shape
    qtype: QType
    layout: str = "ANY"

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise GraphError(f"tensor {self.name}: unknown layout {self.layout!r}")
        if any(d <= 0 for d in self.shape):
            raise GraphError(f"tensor {self.name}: non-positive dimension in {self.shape}")

    @property
    def elems_per_frame(self) -> int:
        return int(np.prod(self.shape[1:], dtype=np.int64))


@dataclass(frozen=True)
class OutSpec:
    """What ``Op.infer`` returns for one output: shape, type and layout (no name yet)."""

    shape: Shape
    qtype: QType
    layout: str = "ANY"


OP_TYPES: dict[str, type[Op]] = {}


class Op:
    """Base of every operator. Subclasses are frozen dataclasses.

    Class attributes a subclass may set:
    - ``weight_names``: the weight arrays the op may carry; ``required_weights`` those it must.
    - ``num_inputs``: how many input tensors it takes (None: variadic).
    - ``num_outputs``: how many outputs it produces (default 1).
    - ``on_host``: True for boundary ops executed by the host runtime, not the card.
    """

    weight_names: ClassVar[tuple[str, ...]] = ()
    required_weights: ClassVar[tuple[str, ...]] = ()
    num_inputs: ClassVar[int | None] = 1
    on_host: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        OP_TYPES[cls.__name__] = cls

    @property
    def kind(self) -> str:
        return type(self).__name__

    def num_outputs(self) -> int:
        return 1

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        raise NotImplementedError(f"{self.kind}.infer")

    def params(self) -> dict[str, Any]:
        """The op's parameters as a plain dict (for reports and serialization)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


def freeze_array(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr`` (no copy when it is already read-only)."""
    a = np.asarray(arr)
    if not a.flags.writeable:
        return a
    a = a.copy()
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Node:
    """One op application: ``outputs = op(inputs, weights)``."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    outputs: tuple[TensorInfo, ...]
    weights: Mapping[str, np.ndarray] = field(default_factory=lambda: types.MappingProxyType({}))
    block: str = ""

    @staticmethod
    def create(
        name: str,
        op: Op,
        inputs: Sequence[TensorInfo],
        outputs: str | Sequence[str],
        weights: Mapping[str, np.ndarray] | None = None,
        block: str = "",
    ) -> Node:
        """Build a node, inferring its output infos; raises ``GraphError`` on any mismatch."""
        frozen = {k: freeze_array(v) for k, v in (weights or {}).items()}
        _check_weights(name, op, frozen)
        if op.num_inputs is not None and len(inputs) != op.num_inputs:
            raise GraphError(
                f"{name} ({op.kind}): expects {op.num_inputs} inputs, got {len(inputs)}"
            )
        try:
            specs = op.infer(tuple(inputs), frozen)
        except GraphError as err:
            raise GraphError(f"{name} ({op.kind}): {err}") from None
        out_names = [outputs] if isinstance(outputs, str) else list(outputs)
        if len(out_names) != len(specs):
            raise GraphError(f"{name} ({op.kind}): {len(specs)} outputs, {len(out_names)} names")
        infos = tuple(
            TensorInfo(n, tuple(int(d) for d in s.shape), s.qtype, s.layout)
            for n, s in zip(out_names, specs, strict=True)
        )
        return Node(
            name, op, tuple(t.name for t in inputs), infos, types.MappingProxyType(frozen), block
        )

    @property
    def output(self) -> TensorInfo:
        """The single output (for single-output ops)."""
        if len(self.outputs) != 1:
            raise GraphError(f"{self.name} has {len(self.outputs)} outputs")
        return self.outputs[0]

    def with_op(self, op: Op, inputs: Sequence[TensorInfo]) -> Node:
        """The same node (name, outputs' names, weights) with new parameters, re-inferred."""
        return Node.create(
            self.name, op, inputs, [t.name for t in self.outputs], self.weights, self.block
        )

    def in_block(self, block: str) -> Node:
        """The same node, member of residual block ``block``."""
        return dataclasses.replace(self, block=block)


def _check_weights(name: str, op: Op, weights: Mapping[str, np.ndarray]) -> None:
    unknown = set(weights) - set(op.weight_names)
    if unknown:
        raise GraphError(f"{name} ({op.kind}): unknown weights {sorted(unknown)}")
    missing = set(op.required_weights) - set(weights)
    if missing:
        raise GraphError(f"{name} ({op.kind}): missing weights {sorted(missing)}")


@dataclass(frozen=True)
class Graph:
    """An immutable dataflow graph. Build it with ``Graph.build``."""

    inputs: tuple[TensorInfo, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))

    @staticmethod
    def build(
        inputs: Sequence[TensorInfo],
        nodes: Iterable[Node],
        outputs: Sequence[str],
        meta: Mapping[str, Any] | None = None,
    ) -> Graph:
        """Sort ``nodes`` topologically, verify every invariant and return the graph."""
        ordered = _toposort(tuple(inputs), tuple(nodes))
        graph = Graph(
            tuple(inputs), ordered, tuple(outputs), types.MappingProxyType(dict(meta or {}))
        )
        graph.verify()
        return graph

    # -- look-ups ---------------------------------------------------------------------------
    @functools.cached_property
    def tensors(self) -> Mapping[str, TensorInfo]:
        table = {t.name: t for t in self.inputs}
        for node in self.nodes:
            table.update((t.name, t) for t in node.outputs)
        return types.MappingProxyType(table)

    @functools.cached_property
    def _producers(self) -> Mapping[str, Node]:
        return {t.name: n for n in self.nodes for t in n.outputs}

    def tensor(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise GraphError(f"no tensor named {name!r}") from None

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise GraphError(f"no node named {name!r}")

    def producer(self, tensor: str) -> Node | None:
        return self._producers.get(tensor)

    def consumers(self, tensor: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if tensor in n.inputs)

    def input_infos(self, node: Node) -> tuple[TensorInfo, ...]:
        table = self.tensors
        return tuple(table[t] for t in node.inputs)

    def output_infos(self) -> tuple[TensorInfo, ...]:
        table = self.tensors
        return tuple(table[t] for t in self.outputs)

    # -- rewriting --------------------------------------------------------------------------
    def replace(self, remove: Iterable[str], add: Iterable[Node]) -> Graph:
        """A new graph without the nodes named in ``remove`` and with ``add``; sorted and verified.

        Convention: a replacement keeps the tensor names that the rest of the graph consumes,
        so consumers need no rewiring.
        """
        drop = set(remove)
        missing = drop - {n.name for n in self.nodes}
        if missing:
            raise GraphError(f"cannot remove unknown nodes {sorted(missing)}")
        kept = [n for n in self.nodes if n.name not in drop]
        return Graph.build(self.inputs, kept + list(add), self.outputs, self.meta)

    def with_meta(self, **updates: Any) -> Graph:
        meta = dict(self.meta)
        meta.update(updates)
        return Graph(self.inputs, self.nodes, self.outputs, types.MappingProxyType(meta))

    # -- invariants -------------------------------------------------------------------------
    def verify(self) -> None:
        """Raise ``GraphError`` unless names are unique, order is topological, every node
        re-infers to its recorded outputs and every graph output exists."""
        known: dict[str, TensorInfo] = {}
        for t in self.inputs:
            _define(known, t, "graph input")
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise GraphError(f"duplicate node name {node.name!r}")
            names.add(node.name)
            missing = [t for t in node.inputs if t not in known]
            if missing:
                raise GraphError(f"{node.name}: inputs {missing} are not defined before it")
            again = Node.create(
                node.name,
                node.op,
                [known[t] for t in node.inputs],
                [t.name for t in node.outputs],
                node.weights,
            )
            if again.outputs != node.outputs:
                raise GraphError(f"{node.name}: recorded outputs {node.outputs} != {again.outputs}")
            for t in node.outputs:
                _define(known, t, node.name)
        for name in self.outputs:
            if name not in known:
                raise GraphError(f"graph output {name!r} is not produced by any node")


def _define(known: dict[str, TensorInfo], info: TensorInfo, where: str) -> None:
    if info.name in known:
        raise GraphError(f"tensor {info.name!r} defined twice (again by {where})")
    known[info.name] = info


def _toposort(inputs: tuple[TensorInfo, ...], nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    """Stable topological order (Kahn), keeping the given order among ready nodes."""
    available = {t.name for t in inputs}
    pending = list(nodes)
    ordered: list[Node] = []
    while pending:
        progressed = False
        rest = []
        for node in pending:
            if all(t in available for t in node.inputs):
                ordered.append(node)
                available.update(t.name for t in node.outputs)
                progressed = True
            else:
                rest.append(node)
        if not progressed:
            stuck = {n.name: [t for t in n.inputs if t not in available] for n in rest}
            raise GraphError(f"graph has a cycle or undefined inputs: {stuck}")
        pending = rest
    return tuple(ordered)
