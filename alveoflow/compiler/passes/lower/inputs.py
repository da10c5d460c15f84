"""The model input: what the host does to it (``QuantizeInput``), and its codes on the card.

The hw graph's input is the model's own input (its QONNX shape, NCHW or (N, F), float),
except for UINT8-annotated pixel models, whose card takes uint8 NHWC pixels as they are
(``PixelInput``; the normalisation that follows folds into the first layer).

A float input starts as a ``FloatInput`` state. The nodes that read it decide
(``lower_float_input``, called before every node's own handler):

- Reshape/Flatten/Transpose: a layout step of the host (no card op).
- With a declared grid (``--input-quant``, ``graph.meta["input_quant"]``) anything else
  turns it into codes on that grid: the host checks that the input lies on the grid (or
  rounds it, ``round_input``) and the card gets ``code`` with value
  ``scale * (code - zero_point)``; the float ops that follow fold exactly into thresholds,
  weights and biases like any other chain.
- Without one, Add/Sub/Mul/Div by constants become arithmetic steps of the host, and the
  first quantizer becomes the host's own quantization (its rounding, range and scale): the
  card receives that quantizer's codes.
- Anything else (a conv or FC of the float input) is an error that names ``--input-quant``
  and the grids the user most likely means.
"""

from __future__ import annotations

import numpy as np

from alveoflow.compiler.config import InputQuant
from alveoflow.compiler.ir import Node, QType, TensorInfo, hw, nn
from alveoflow.compiler.ir.qtype import FLOAT32
from alveoflow.compiler.passes.lower.requant import quant_spec
from alveoflow.compiler.passes.lower.state import FloatInput, Lowering, Source, Value
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError, per_channel

EXAMPLE_GRIDS = (
    "uint8:0.0039215686 for inputs in [0, 1] (x = code / 255), "
    "int8:0.0078740157 for inputs in [-1, 1] (x = code / 127)"
)
_ARITHMETIC = {("Add", False): "Add", ("Sub", False): "Sub", ("Mul", False): "Mul"}
_ARITHMETIC |= {("Div", False): "Div", ("Sub", True): "rSub", ("Div", True): "rDiv"}
_ARITHMETIC |= {("Add", True): "Add", ("Mul", True): "Mul"}


def setup_input(ctx: Lowering) -> None:
    """The state of the graph input (see the module docstring)."""
    (inp,) = ctx.source.inputs
    ctx.meta["model_input_shape"] = list(inp.shape)  # NCHW, as the QONNX model takes it
    text = ctx.source.meta.get("input_quant")
    grid = InputQuant.parse(text) if text else None
    if grid is None and not inp.qtype.is_float:
        _pixel_input(ctx, inp)
        return
    tensor = TensorInfo(inp.name, inp.shape, FLOAT32, inp.layout)
    round_input = bool(ctx.source.meta.get("round_input", False))
    ctx.states[inp.name] = FloatInput(tensor, inp.shape, (), grid, round_input)
    ctx.meta["input_kind"] = "float"


def _pixel_input(ctx: Lowering, inp: TensorInfo) -> None:
    if inp.qtype != QType.uint(8) or len(inp.shape) != 4:
        raise FoldError(
            f"graph input {inp.name} is {inp.qtype} {inp.shape}: only UINT8 NCHW pixel input "
            "or float input is supported"
        )
    n, c, h, w = inp.shape
    info = ctx.add_input(TensorInfo(inp.name, (n, h, w, c), inp.qtype, "NHWC"))
    tensor = ctx.emit("pixel_input", hw.PixelInput(), [info]).output
    source = Source(np.zeros(c, np.int64), np.full(c, 255, np.int64), tensor)
    ctx.states[inp.name] = Value(source, Chain.start(np.zeros(c), np.ones(c), 4))
    ctx.meta["input_kind"] = "pixels"


def lower_float_input(ctx: Lowering, node: Node) -> bool:
    """Handle ``node`` if it reads the float input as a host step; turn the input into
    codes when the node needs them. Returns True when ``node`` is done."""
    slots = [t for t in node.inputs if isinstance(ctx.states.get(t), FloatInput)]
    if not slots:
        return False
    tensor = slots[0]
    st = ctx.states[tensor]
    assert isinstance(st, FloatInput)
    single = len(node.inputs) == 1 and ctx.uses[tensor] == 1
    if single and isinstance(node.op, nn.Reshape | nn.Transpose):
        ctx.states[node.output.name] = _layout_step(node, st)
        return True
    if st.grid is not None:
        ctx.states[tensor] = grid_codes(ctx, st)
        return False
    if (
        single
        and isinstance(node.op, nn.BinaryConst)
        and (node.op.fn, node.op.const_first) in (_ARITHMETIC)
    ):
        values = per_channel(node.weights["const"], st.shape, f"the constant of {node.name}")
        uniform = values[:1] if np.all(values == values[0]) else values
        step = (_ARITHMETIC[(node.op.fn, node.op.const_first)], tuple(float(v) for v in uniform))
        ctx.states[node.output.name] = st.then(step, st.shape)
        return True
    if single and isinstance(node.op, nn.Quant | nn.BipolarQuant):
        _own_quantizer(ctx, node, st)
        return True
    raise FoldError(_no_grid_message(ctx, node, st))


def _layout_step(node: Node, st: FloatInput) -> FloatInput:
    op = node.op
    if isinstance(op, nn.Transpose):
        return st.then(("transpose", tuple(float(p) for p in op.perm)), node.output.shape)
    assert isinstance(op, nn.Reshape)
    return st.then(("reshape", tuple(float(d) for d in op.shape)), node.output.shape)


def _steps(st: FloatInput) -> tuple[tuple[hw.HostStep, ...], tuple[int, ...] | None]:
    """Host steps (integer arguments for layout steps, as the op stores them) and, when the
    4-D transposes at their end make the input channels-last (qonnx's channels-last form),
    that permutation, which then stays on the card as ``Value.perm`` so that the model's
    transposes back to NCHW cancel it (transposes commute with later one-constant steps).
    Other transposes (e.g. an NHWC model input made NCHW) run on the host."""
    steps: list[hw.HostStep] = []
    perm: tuple[int, ...] | None = None
    for kind, arg in st.steps:
        if kind == "transpose" and len(arg) == 4 and (perm is not None or _tail(st, kind, arg)):
            before = perm or (0, 1, 2, 3)
            perm = tuple(before[int(p)] for p in arg)
        elif kind in ("reshape", "transpose"):
            steps.append((kind, tuple(int(a) for a in arg)))
        else:
            steps.append((kind, arg))
    if perm is not None and perm != CHANNELS_LAST:
        return _steps_with_transposes(st), None
    return tuple(steps), None if perm == (0, 1, 2, 3) else perm


CHANNELS_LAST = (0, 2, 3, 1)  # the transpose that makes an NCHW tensor NHWC


def _steps_with_transposes(st: FloatInput) -> tuple[hw.HostStep, ...]:
    return tuple(
        (kind, tuple(int(a) for a in arg) if kind in ("reshape", "transpose") else arg)
        for kind, arg in st.steps
    )


def _tail(st: FloatInput, kind: str, arg: tuple[float, ...]) -> bool:
    """Only transposes and one-constant arithmetic follow this transpose."""
    rest = st.steps[st.steps.index((kind, arg)) + 1 :]
    return all(k == "transpose" or (k not in ("reshape",) and len(a) == 1) for k, a in rest)


def _pre_transpose(shape: tuple[int, ...], perm: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape before the transposes ``perm`` (``shape`` = that shape transposed)."""
    if perm is None:
        return shape
    out = [0] * len(shape)
    for i, p in enumerate(perm):
        out[p] = shape[i]
    return tuple(out)


def _check_rank(st: FloatInput, who: str) -> None:
    if len(st.shape) not in (2, 4):
        raise FoldError(f"{who}: the model input reaches it as a {len(st.shape)}-D tensor")


def grid_codes(ctx: Lowering, st: FloatInput) -> Value:
    """Emit the host's quantization to the declared grid; the Value of its codes."""
    grid = st.grid
    assert isinstance(grid, InputQuant)
    _check_rank(st, "the declared input grid")
    steps, perm = _steps(st)
    shape = _pre_transpose(st.shape, perm)
    channels = shape[1]
    if grid.dtype.bipolar:  # values -s/+s: hw codes 0/1, value (h - 0.5) * 2s
        odt, rounding, zero, scale = QType.uint(1), "SIGN", 0.5, 2 * grid.scale
    else:
        odt, rounding, zero, scale = grid.dtype, "ROUND", float(grid.zero_point), grid.scale
    op = hw.QuantizeInput(
        scale=(grid.scale,),
        zero_point=0.0 if grid.dtype.bipolar else float(grid.zero_point),
        odt=odt,
        steps=steps,
        rounding=rounding,
        on_grid=not st.round_input,
    )
    tensor = _emit_quantize(ctx, op, st, "input_quant")
    lo, hi = op.codes()
    source = Source(np.full(channels, lo, np.int64), np.full(channels, hi, np.int64), tensor)
    head = Chain.start(np.full(channels, zero), np.full(channels, scale), len(st.shape))
    ctx.input_codes = tensor.name
    return Value(source, head, perm=perm)


def _emit_quantize(ctx: Lowering, op: hw.QuantizeInput, st: FloatInput, name: str) -> TensorInfo:
    if st.tensor.name in ctx.hw:
        raise FoldError("the float model input is quantized twice; quantize it once")
    ctx.add_input(st.tensor)
    return ctx.emit(ctx.unique(name), op, [st.tensor]).output


def _own_quantizer(ctx: Lowering, node: Node, st: FloatInput) -> None:
    """The model's first quantizer (after the host steps) runs on the host."""
    _check_rank(st, node.name)
    steps, perm = _steps(st)
    shape = _pre_transpose(st.shape, perm)
    if perm is not None and any(np.asarray(w).size > 1 for w in node.weights.values()):
        raise FoldError("a per-channel input quantizer after a Transpose of the input")
    spec = quant_spec(node, shape, len(shape))
    op = node.op
    scale = per_channel(node.weights["scale"], shape, "input scale")
    if isinstance(op, nn.BipolarQuant):
        zero, lo, hi, odt, rounding = 0.0, 0, 1, QType.uint(1), "SIGN"
    else:
        assert isinstance(op, nn.Quant)
        zeros = per_channel(node.weights["zero_point"], shape, "input zero point")
        if not np.all(zeros == zeros[0]):
            raise FoldError("the input quantizer's zero point must be one scalar")
        zero, rounding, odt = float(zeros[0]), op.rounding_mode, op.qtype()
        lo, hi = op.code_range()
    uniform = bool(np.all(scale == scale[0]))
    qop = hw.QuantizeInput(
        scale=(float(scale[0]),) if uniform else tuple(float(s) for s in scale),
        zero_point=zero,
        odt=odt,
        steps=steps,
        rounding=rounding,
        code_range=None if (lo, hi) == (odt.min, odt.max) else (lo, hi),
    )
    tensor = _emit_quantize(ctx, qop, st, node.name)
    chans = scale.shape[0]
    source = Source(np.full(chans, lo, np.int64), np.full(chans, hi, np.int64), tensor)
    head = Chain.start(spec.zero, spec.scale, len(st.shape))
    ctx.states[node.output.name] = Value(source, head, perm=perm)
    ctx.record_quant(node.output.name, tensor.name, spec.label, perm)
    ctx.input_codes = tensor.name


def _no_grid_message(ctx: Lowering, node: Node, st: FloatInput) -> str:
    what = f"{node.op.kind}"
    if isinstance(node.op, nn.Conv | nn.Linear):
        what = f"a {'conv' if isinstance(node.op, nn.Conv) else 'fully connected layer'}"
    before = ""
    if st.steps:
        kinds = ", ".join(k for k, _ in st.steps)
        before = f" after float ops ({kinds})"
    return (
        f"the float model input reaches {what}{before} with no quantizer before it, so its "
        "integer grid is unknown: declare the grid the input lives on with --input-quant "
        f"DTYPE:SCALE[:ZERO_POINT] (input_quant= in Python), e.g. {EXAMPLE_GRIDS}; "
        "or quantize the input in the model (a QuantIdentity first)"
    )
