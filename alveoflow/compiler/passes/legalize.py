"""``legalize``: the last pass; every node must be a hardware op the flow can build.

Raises ONE ``LegalizationError`` that lists every problem with its reason: nodes lowering
could not map (``nn.Unmapped``, with the reason lowering gave), float ops left over, card ops
reading or writing float streams, and host ops away from the graph boundary. Nodes that are
unmapped only because an earlier node was are summarised in one line naming their cause,
so the root problems stay readable. Returns the graph unchanged when it is legal.
"""

from __future__ import annotations

from collections import defaultdict

from alveoflow.compiler.ir import Graph, Node, hw, nn
from alveoflow.compiler.passes.lower.state import DOWNSTREAM
from alveoflow.errors import LegalizationError

HW_OPS = tuple(
    cls
    for cls in vars(hw).values()
    if isinstance(cls, type) and issubclass(cls, hw.Op) and cls is not hw.Op
)
MAX_STREAM_BITS = 32


def _node_problem(graph: Graph, node: Node) -> str | None:
    op = node.op
    if isinstance(op, nn.Unmapped):
        return f"{op.source_kind}: {op.reason}"
    if not isinstance(op, HW_OPS):
        return f"{op.kind} is not a hardware op (lowering left it in place)"
    if op.on_host:
        return _host_problem(graph, node)
    for t in graph.input_infos(node) + node.outputs:
        if t.qtype.is_float:
            return f"card op {op.kind} has float stream {t.name}"
        if t.qtype.bits > MAX_STREAM_BITS:
            return f"stream {t.name} is {t.qtype} (more than {MAX_STREAM_BITS} bits)"
    return None


def _host_problem(graph: Graph, node: Node) -> str | None:
    inputs = {t.name for t in graph.inputs}
    if isinstance(node.op, hw.QuantizeInput | hw.PixelInput) and node.inputs[0] not in inputs:
        return f"host op {node.op.kind} must read the graph input"
    if isinstance(node.op, hw.DequantizeOutput) and node.output.name not in graph.outputs:
        return f"host op {node.op.kind} must produce a graph output"
    return None


def legalize(graph: Graph) -> Graph:
    """Check that ``graph`` is fully mapped to hardware (see the module docstring)."""
    problems: list[tuple[str, str]] = []
    downstream: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes:
        op = node.op
        if isinstance(op, nn.Unmapped) and op.reason.startswith(DOWNSTREAM):
            downstream[op.reason[len(DOWNSTREAM) :]].append(node.name)
            continue
        reason = _node_problem(graph, node)
        if reason is not None:
            problems.append((node.name, reason))
    for cause, names in downstream.items():
        shown = ", ".join(names[:4]) + (f", ... ({len(names)} in all)" if len(names) > 4 else "")
        problems.append(
            (f"{len(names)} node(s) after {cause}", f"not lowered because {cause} was not: {shown}")
        )
    if problems:
        raise LegalizationError(problems)
    return graph
