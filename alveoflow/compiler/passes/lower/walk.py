"""``lower_to_hw``: the nn graph (QONNX semantics, NCHW, real values) -> hw ops on integer
NHWC streams, in one walk in topological order.

Each nn op has a handler (``HANDLERS``, keyed by op class) that updates the ``Value`` of its
output (``state``): per-element ops only extend a chain, quantizers turn chains into
thresholds, linear ops emit SlidingWindow + pending MVAU/VVAU, and so on. Nodes reading the
float model input go through ``inputs.lower_float_input`` first. A node that cannot be
lowered (or that the frontend could not read) becomes an ``nn.Unmapped`` placeholder
carrying the reason; a node that depends on one is checked for problems of its own
(``static_problem``) and otherwise marked as downstream of it; ``legalize`` then reports them
all in one error. The pass never raises for a per-node problem.

``graph.meta`` gains ``input_kind`` ("pixels" | "float"), ``model_input_shape``,
``num_classes``, ``quant_map`` (every nn quantizer output -> the hw tensor holding its
codes) and notes on the FC bias (``fc_bias``) or a missing top-k (``topk``).
"""

from __future__ import annotations

from collections.abc import Callable

from alveoflow.compiler.ir import Graph, Node, nn
from alveoflow.compiler.passes.lower import elementwise as ew
from alveoflow.compiler.passes.lower import inputs, io
from alveoflow.compiler.passes.lower.linear import lower_conv, lower_linear
from alveoflow.compiler.passes.lower.state import Lowering, Poisoned, PoisonedInput, unmapped
from alveoflow.compiler.passes.streamline.chain import FoldError
from alveoflow.errors import GraphError, UnsupportedOpError

Handler = Callable[[Lowering, Node], None]

PAD = "a Pad that does not feed a conv or pool has no hardware op"


def _unreadable(ctx: Lowering, node: Node) -> None:
    op = node.op
    assert isinstance(op, nn.Unmapped)
    raise FoldError(op.reason)


HANDLERS: dict[type, Handler] = {
    nn.Conv: lower_conv,
    nn.Linear: lower_linear,
    nn.Quant: ew.lower_quantizer,
    nn.BipolarQuant: ew.lower_quantizer,
    nn.Trunc: ew.lower_quantizer,
    nn.BatchNorm: ew.lower_elementwise,
    nn.BinaryConst: ew.lower_elementwise,
    nn.Relu: ew.lower_elementwise,
    nn.Clip: ew.lower_elementwise,
    nn.Activation: ew.lower_elementwise,
    nn.Binary: ew.lower_binary,
    nn.MaxPool: ew.lower_maxpool,
    nn.AveragePool: ew.lower_avgpool,
    nn.Reshape: ew.lower_reshape,
    nn.Transpose: ew.lower_transpose,
    nn.Pad: ew.unsupported(PAD),
    nn.Concat: ew.lower_concat,
    nn.Resize: ew.lower_resize,
    nn.Unmapped: _unreadable,
}


QUANTIZER_KINDS = ("Quant", "IntQuant", "BipolarQuant", "Trunc")


def check_quantized(graph: Graph) -> None:
    """A model without a single quantizer (activation or weight) is a float model: one-line
    ``UnsupportedOpError`` saying how to export a quantized one."""
    for node in graph.nodes:
        op = node.op
        if isinstance(op, nn.Quant | nn.BipolarQuant | nn.Trunc):
            return
        if isinstance(op, nn.Conv | nn.Linear) and not op.wdt.is_float:
            return
        if isinstance(op, nn.Unmapped) and op.source_kind in QUANTIZER_KINDS:
            return  # a quantizer the frontend could not read: reported with the rest
    label = graph.meta.get("source", "the model")
    raise UnsupportedOpError(
        f"{label} is a float model: it has no QONNX quantizers (Quant/BipolarQuant nodes); "
        "build it from Brevitas layers (QuantConv2d, QuantLinear, QuantReLU, ...) and export "
        "it with brevitas.export.export_qonnx(model, example_input, export_path=...)"
    )


def lower_to_hw(graph: Graph) -> Graph:
    """Lower an nn graph to hw ops (see the module docstring); ``UnsupportedOpError`` for a
    float model (``check_quantized``)."""
    check_quantized(graph)
    ctx = Lowering(graph)
    inputs.setup_input(ctx)
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
        own = static_problem(node)
        if own is not None or handler is None:
            raise FoldError(own or f"no hardware mapping for {node.op.kind}")
        if not inputs.lower_float_input(ctx, node):
            handler(ctx, node)
    except PoisonedInput as err:
        own = static_problem(node)
        unmapped(ctx, node, own or str(err), downstream=own is None)
    except (FoldError, GraphError) as err:
        unmapped(ctx, node, str(err), downstream=False)
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as err:  # never a traceback
        unmapped(ctx, node, f"cannot lower it ({type(err).__name__}: {err})", downstream=False)


def static_problem(node: Node) -> str | None:
    """A problem of ``node`` that does not depend on its inputs' values (reported even when
    an earlier node could not be lowered), or None."""
    op = node.op
    if isinstance(op, nn.Unmapped):
        return op.reason
    if type(op) not in HANDLERS:
        return f"no hardware mapping for {op.kind}"
    if isinstance(op, nn.Conv | nn.Linear) and op.wdt.is_float:
        return "weights are not quantized (no weight quantizer on them)"
    if isinstance(op, nn.Conv) and op.dilation != (1, 1):
        return f"dilated conv (dilation={op.dilation}) is not supported"
    if isinstance(op, nn.Binary) and op.fn not in ("Add", "Mul"):
        return f"{op.fn} of two tensors has no hardware op"
    if isinstance(op, nn.Concat) and op.axis != 1:
        return f"Concat along axis {op.axis}: only channel concatenation (axis 1)"
    if isinstance(op, nn.AveragePool) and any(op.pads):
        return "average pooling with padding is not supported (SumPool has no pads)"
    if isinstance(op, nn.Pad):
        return PAD
    return None
