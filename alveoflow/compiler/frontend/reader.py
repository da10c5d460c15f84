"""``from_qonnx``: read a QONNX/ONNX model into the IR (``alveoflow.compiler.ir.nn`` ops).

Contract
- Accepts a path or an ``onnx.ModelProto`` exported by alveoflow, Brevitas or qonnx.
  Only this package touches ONNX protobufs; nothing is deep-copied or re-serialised.
- Initializer-only subgraphs are folded (``consts``); quantized weights become integer
  codes plus a per-output-channel scale on their ``Conv``/``Linear`` node.
- Node names are stable module paths (``naming``); a node's output tensor is named after the
  node, except graph outputs, which keep their ONNX names (``logits``).
- The graph input keeps its name and NCHW shape (symbolic batch -> 1); its QType comes
  from the qonnx ``finn_datatype`` annotation (UINT8 for pixel input) or FLOAT32.
- ``GraphError`` for a file that is not a readable ONNX model.
- A node that cannot be read (unknown op type, unsupported attributes) becomes an
  ``nn.Unmapped`` placeholder carrying the reason, with the output shapes ONNX shape
  inference gives, and reading goes on: lowering and ``legalize`` then report it together
  with every other problem of the model in one error. Only when a graph output cannot be
  produced at all does reading stop with ``UnsupportedOpError`` listing every problem.
- ``graph.meta``: ``source`` (file name), ``metadata`` (ONNX ``metadata_props``),
  ``onnx_names`` (IR node name -> ONNX node name), ``input_datatype``, and when given
  ``input_quant`` (a declared input grid, text form) and ``round_input``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx
from google.protobuf.message import DecodeError

from alveoflow.compiler.config import InputQuant
from alveoflow.compiler.frontend import ops
from alveoflow.compiler.frontend.consts import Const, fold, shape_const
from alveoflow.compiler.frontend.naming import stable_names
from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, hw, nn
from alveoflow.compiler.ir.nn import layout_of
from alveoflow.errors import AlveoflowError, GraphError, UnsupportedOpError

_DTYPES = {"UINT8": QType.uint(8), "INT8": QType.sint(8), "BIPOLAR": QType.bipolar_type()}


def load_model(source: str | os.PathLike[str] | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    """The model and a label for messages; ``GraphError`` if it is not a readable ONNX file."""
    if isinstance(source, onnx.ModelProto):
        model, label = source, source.graph.name or "<model>"
    else:
        path = Path(source)
        if not path.is_file():
            raise GraphError(f"{path} does not exist or is not a file")
        try:
            model = onnx.load(str(path))
        except (DecodeError, ValueError, RuntimeError, OSError) as err:
            raise GraphError(f"{path} is not a readable ONNX model: {err}") from None
        label = path.name
    if not model.graph.node or not model.graph.input or not model.graph.output:
        raise GraphError(f"{label} holds no ONNX graph (no nodes, inputs or outputs)")
    return model, label


def _toposort(nodes: Sequence[onnx.NodeProto], known: set[str]) -> list[onnx.NodeProto]:
    ready = set(known) | {""}
    pending, ordered = list(nodes), []
    while pending:
        rest = [n for n in pending if not all(t in ready for t in n.input)]
        done = [n for n in pending if all(t in ready for t in n.input)]
        if not done:
            stuck = ", ".join(sorted(n.name or n.op_type for n in rest)[:8])
            raise GraphError(f"ONNX graph has a cycle or undefined inputs at: {stuck}")
        for n in done:
            ordered.append(n)
            ready.update(n.output)
        pending = rest
    return ordered


def _input_qtype(model: onnx.ModelProto, name: str) -> QType:
    for ann in model.graph.quantization_annotation:
        if ann.tensor_name == name:
            for p in ann.quant_parameter_tensor_names:
                if p.key == "finn_datatype" and p.value in _DTYPES:
                    return _DTYPES[p.value]
    meta = {p.key: p.value for p in model.metadata_props}
    return _DTYPES.get(meta.get("alveoflow.input_datatype", ""), QType.float32())


def _shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    dims = vi.type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
    if not shape or any(d <= 0 for d in shape):
        raise GraphError(f"graph input {vi.name!r} has no usable static shape ({shape})")
    return (1,) + shape[1:]


class _Reader:
    """State of one read: constants, IR tensor infos, renames and collected problems."""

    def __init__(self, model: onnx.ModelProto) -> None:
        from onnx import numpy_helper

        g = model.graph
        self.consts: dict[str, Const] = {
            t.name: Const(numpy_helper.to_array(t)) for t in g.initializer
        }
        self.infos: dict[str, TensorInfo] = {}
        self.rename: dict[str, str] = {}
        self.nodes: list[Node] = []
        self.problems: list[tuple[str, str]] = []
        self.poisoned: set[str] = set()
        self.outputs = {o.name for o in g.output}
        self.model = model
        self._inferred: dict[str, tuple[int, ...]] | None = None

    # Scope protocol for the converters
    def const(self, name: str) -> Const | None:
        return self.consts.get(name)

    def info(self, name: str) -> TensorInfo:
        return self.infos[self.rename[name]]

    def visit(self, node: onnx.NodeProto, name: str) -> None:
        inputs = [t for t in node.input if t]
        if any(t in self.poisoned for t in inputs):
            self.poisoned.update(node.output)
            return
        try:
            if node.op_type == "Shape" and inputs and inputs[0] in self.rename:
                self.consts[node.output[0]] = shape_const(self.info(inputs[0]).shape)
            elif all(t in self.consts for t in inputs):
                self.consts[node.output[0]] = fold(node, [self.consts[t] for t in inputs])
            else:
                self._convert(node, name)
        except (AlveoflowError, KeyError) as err:
            reason = str(err) if isinstance(err, AlveoflowError) else f"unknown tensor {err}"
            self._placeholder(node, name, reason)
        except (ValueError, IndexError, TypeError, ZeroDivisionError) as err:  # odd attributes
            self._placeholder(node, name, f"cannot read it ({type(err).__name__}: {err})")

    def _convert(self, node: onnx.NodeProto, name: str) -> None:
        converter = ops.CONVERTERS.get(node.op_type)
        if converter is not None and node.domain == ops.CHANNELS_LAST:
            converter = ops.channels_last(converter)
        if converter is None:
            domain = f" of domain {node.domain!r}" if node.domain else ""
            raise UnsupportedOpError(f"unsupported op type {node.op_type}{domain}")
        result = converter(self, node)
        if isinstance(result, ops.Alias):
            self.rename[node.output[0]] = self.rename[result.source]
            return
        if isinstance(result, ops.Steps):
            chain, inputs = result.ops, result.inputs
        else:
            op, inputs, weights = result
            chain = [("", op, weights)]
        infos = [self.info(t) for t in inputs]
        built = []
        for k, (suffix, op, weights) in enumerate(chain):
            last = k == len(chain) - 1
            node_name = f"{name}.{suffix}" if suffix else name
            out = node.output[0] if last and node.output[0] in self.outputs else node_name
            built.append(Node.create(node_name, op, infos, out, weights))
            infos = [built[-1].output]
        self.nodes += built
        self.infos.update((n.output.name, n.output) for n in built)
        self.rename[node.output[0]] = infos[0].name

    def _placeholder(self, node: onnx.NodeProto, name: str, reason: str) -> None:
        """An ``nn.Unmapped`` node standing for ``node`` (see the module docstring)."""
        inputs = [t for t in node.input if t and t in self.rename]
        shapes = [self._out_shape(node, t) for t in node.output]
        if not inputs or any(s is None for s in shapes):
            self.problems.append((f"{name} ({node.op_type})", reason))
            self.poisoned.update(node.output)
            return
        op = nn.Unmapped(node.op_type, reason, tuple(s for s in shapes if s is not None))
        outs = [name] if len(node.output) == 1 else [f"{name}:{k}" for k in range(len(shapes))]
        outs = [t if t in self.outputs else o for t, o in zip(node.output, outs, strict=True)]
        ir = Node.create(name, op, [self.info(t) for t in inputs], outs)
        self.nodes.append(ir)
        for onnx_name, info in zip(node.output, ir.outputs, strict=True):
            self.infos[info.name] = info
            self.rename[onnx_name] = info.name

    def _out_shape(self, node: onnx.NodeProto, tensor: str) -> tuple[int, ...] | None:
        """Shape of an output of an unreadable node: from ONNX shape inference, else (for a
        one-output node) the shape of its first input."""
        if self._inferred is None:
            self._inferred = _inferred_shapes(self.model)
        shape = self._inferred.get(tensor)
        if shape is None and len(node.output) == 1 and node.input and node.input[0] in self.rename:
            shape = self.info(node.input[0]).shape
        return shape


def _inferred_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Static shapes (batch 1) of every tensor ONNX shape inference can type."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError):
        return {}
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = list(vi.type.tensor_type.shape.dim)
        if not dims or any(not d.HasField("dim_value") for d in dims[1:]):
            continue
        shape = (1,) + tuple(int(d.dim_value) for d in dims[1:])
        if all(d > 0 for d in shape):
            shapes[vi.name] = shape
    return shapes


def _dynamic_nodes(ordered: Sequence[onnx.NodeProto], consts: set[str]) -> set[int]:
    """ids of the nodes that depend on the graph input (the rest fold to constants)."""
    known = set(consts)
    dynamic: set[int] = set()
    for node in ordered:
        shape_only = node.op_type == "Shape"  # static shapes: constant even of a dynamic input
        if shape_only or all(t in known for t in node.input if t):
            known.update(node.output)
        else:
            dynamic.add(id(node))
    return dynamic


def from_qonnx(
    source: str | os.PathLike[str] | onnx.ModelProto,
    input_quant: InputQuant | None = None,
    round_input: bool = False,
) -> Graph:
    """Read a QONNX model into an IR graph of ``nn`` ops (see the module docstring).
    ``input_quant``: the declared integer grid of a float input (``BuildConfig.input_quant``),
    recorded as ``graph.meta["input_quant"]`` (its text form) for lowering; ``round_input``:
    the host rounds inputs off that grid instead of rejecting them."""
    model, label = load_model(source)
    g = model.graph
    reader = _Reader(model)
    dynamic_inputs = [vi for vi in g.input if vi.name not in reader.consts]
    if len(dynamic_inputs) != 1:
        names = [vi.name for vi in dynamic_inputs]
        raise GraphError(f"{label}: expected exactly one graph input, found {names}")
    vi = dynamic_inputs[0]
    shape = _shape(vi)
    graph_input = TensorInfo(vi.name, shape, _input_qtype(model, vi.name), layout_of(shape))
    reader.infos[vi.name] = graph_input
    reader.rename[vi.name] = vi.name
    ordered = _toposort(g.node, set(reader.consts) | {vi.name})
    dynamic = _dynamic_nodes(ordered, set(reader.consts))
    named = stable_names([(n.name, n.op_type) for n in ordered if id(n) in dynamic])
    it = iter(named)
    names = [next(it) if id(n) in dynamic else f"const:{n.name}" for n in ordered]
    for node, name in zip(ordered, names, strict=True):
        reader.visit(node, name)
    for out in g.output:
        if out.name not in reader.rename and out.name not in reader.poisoned:
            reader.problems.append((out.name, "graph output is constant or not produced"))
    if reader.problems:
        problems = reader.problems + [
            (f"{n.name} ({n.op.source_kind})", n.op.reason)
            for n in reader.nodes
            if isinstance(n.op, nn.Unmapped)
        ]
        lines = "\n".join(f"  - {n}: {r}" for n, r in problems)
        raise UnsupportedOpError(
            f"{label}: {len(problems)} node(s) cannot be read:\n{lines}\n"
            "Change the model to use supported layers, or export it with alveoflow.export."
        )
    onnx_names = {name: node.name for node, name in zip(ordered, names, strict=True)}
    meta: dict[str, Any] = {
        "source": label,
        "metadata": {p.key: p.value for p in model.metadata_props},
        "onnx_names": {n.name: onnx_names.get(n.name, "") for n in reader.nodes},
        "input_datatype": graph_input.qtype.name,
    }
    if input_quant is not None:
        meta["input_quant"] = input_quant.to_text()
    if round_input:
        meta["round_input"] = True
    outputs = [reader.rename[o.name] for o in g.output]
    return Graph.build([graph_input], assign_blocks(reader.nodes), outputs, meta)


def assign_blocks(nodes: Sequence[Node]) -> list[Node]:
    """``nodes`` with their residual block set (``Node.block``).

    A block is the module that performs a residual add: the module path of every ``Add`` of
    two computed tensors (``layer1.0.add`` -> ``layer1.0``). A node belongs to the innermost
    block whose path is a prefix of its own name (names are module paths, see ``naming``).
    Files without module scopes (``Add_3``) have no blocks."""
    scopes = {n.name.rsplit(".", 1)[0] for n in nodes if _residual_add(n) and "." in n.name}
    if not scopes:
        return list(nodes)
    return [n.in_block(_innermost(n.name, scopes)) for n in nodes]


def _residual_add(node: Node) -> bool:
    op = node.op
    return (isinstance(op, nn.Binary) and op.fn == "Add") or isinstance(op, hw.AddStreams)


def _innermost(name: str, scopes: set[str]) -> str:
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        prefix = ".".join(parts[:k])
        if prefix in scopes:
            return prefix
    return ""


__all__ = ["assign_blocks", "from_qonnx", "load_model", "nn"]
