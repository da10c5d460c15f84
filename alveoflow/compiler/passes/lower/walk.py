"""``lower_to_hw``: the nn graph (QONNX semantics, NCHW, real values) -> hw ops on integer
NHWC streams, in one walk in topological order.

Each nn op has a handler (``HANDLERS``, keyed by op class) that updates the ``Value`` of its
output (``state``): per-element ops only extend a chain, quantizers turn chains into
thresholds, linear ops emit SlidingWindow + pending MVAU/VVAU, and so on. A node that cannot
be lowered becomes an ``nn.Unmapped`` placeholder carrying the reason, and so do the nodes
that depend on it; ``legalize`` then reports them all in one error. The pass never raises
for a per-node problem.

``graph.meta`` gains ``input_kind`` ("pixels" | "float"), ``model_input_shape``,
``num_classes``, ``quant_map`` (every nn quantizer output -> the hw tensor holding its
codes) and notes on the FC bias (``fc_bias``) or a missing top-k (``topk``).
"""

from __future__ import annotations

from collections.abc import Callable

from alveoflow.compiler.ir import Graph, Node, nn
from alveoflow.compiler.passes.lower import elementwise as ew
from alveoflow.compiler.passes.lower import io
from alveoflow.compiler.passes.lower.linear import lower_conv, lower_linear
from alveoflow.compiler.passes.lower.state import Lowering, Poisoned, PoisonedInput, unmapped
from alveoflow.compiler.passes.streamline.chain import FoldError
from alveoflow.errors import GraphError

Handler = Callable[[Lowering, Node], None]

HANDLERS: dict[type, Handler] = {
    nn.Conv: lower_conv,
    nn.Linear: lower_linear,
    nn.Quant: ew.lower_quantizer,
    nn.BipolarQuant: ew.lower_quantizer,
    nn.Trunc: ew.lower_quantizer,
    nn.BatchNorm: ew.lower_elementwise,
    nn.BinaryConst: ew.lower_elementwise,
    nn.Relu: ew.lower_elementwise,
    nn.Binary: ew.lower_add,
    nn.MaxPool: ew.lower_maxpool,
    nn.AveragePool: ew.lower_avgpool,
    nn.Reshape: ew.lower_reshape,
    nn.Transpose: ew.unsupported("Transpose has no hardware op (streams are NHWC)"),
    nn.Pad: ew.unsupported("a Pad that does not feed a conv or pool has no hardware op"),
    nn.Concat: ew.unsupported("Concat has no hardware op yet"),
}


def lower_to_hw(graph: Graph) -> Graph:
    """Lower an nn graph to hw ops (see the module docstring)."""
    ctx = Lowering(graph)
    io.setup_input(ctx)
    for node in graph.nodes:
        _lower_node(ctx, node)
    ctx.block = ""
    for index, name in enumerate(graph.outputs):
        st = ctx.states.get(name)
        if isinstance(st, Poisoned):
            ctx.outputs.append(st.tensor.name)
            continue
        try:
            io.finish_output(ctx, name, index)
        except PoisonedInput:
            continue
        except (FoldError, GraphError) as err:
            producer = graph.producer(name)
            assert producer is not None
            ctx.states.pop(name, None)
            unmapped(ctx, producer, f"output {name}: {err}", downstream=False)
            placeholder = ctx.state(name)
            assert isinstance(placeholder, Poisoned)
            ctx.outputs.append(placeholder.tensor.name)
    return ctx.build()


def _lower_node(ctx: Lowering, node: Node) -> None:
    ctx.block = node.block  # hw nodes emitted now belong to this node's residual block
    handler = HANDLERS.get(type(node.op))
    try:
        if handler is None:
            raise FoldError(f"no hardware mapping for {node.op.kind}")
        handler(ctx, node)
    except PoisonedInput as err:
        unmapped(ctx, node, str(err), downstream=True)
    except (FoldError, GraphError) as err:
        unmapped(ctx, node, str(err), downstream=False)
