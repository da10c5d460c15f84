"""ONNX/QONNX node -> IR node converters (one small function per op type).

A converter gets the ``Scope`` (look-ups of constants and tensor infos) and the ONNX node and
returns ``(op, dynamic inputs, weights)`` or ``Alias(tensor)`` for ops that vanish
(``Identity``, a ``Flatten`` of an already flat tensor). It raises ``UnsupportedOpError``
with a reason the reader attaches to the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import onnx

from alveoflow.compiler.frontend.consts import Const, attrs, int_codes, transposed
from alveoflow.compiler.ir import QType, TensorInfo, nn
from alveoflow.compiler.ir.core import Op
from alveoflow.compiler.ir.qtype import FLOAT32
from alveoflow.errors import UnsupportedOpError

Weights = dict[str, np.ndarray]


class Scope(Protocol):
    def const(self, name: str) -> Const | None: ...

    def info(self, name: str) -> TensorInfo: ...


@dataclass(frozen=True)
class Alias:
    """The node's output is its input tensor ``source`` (the node disappears)."""

    source: str


@dataclass(frozen=True)
class Steps:
    """The node becomes a chain of ops: the first reads ``inputs``, each next one the
    previous output. Each step is ``(suffix, op, weights)``: the node is named
    ``<name>.<suffix>``, or ``<name>`` for the empty suffix (the node's own op)."""

    inputs: list[str]
    ops: list[tuple[str, Op, Weights]]


Converted = tuple[Op, list[str], Weights] | Alias | Steps


def _fail(msg: str) -> UnsupportedOpError:
    return UnsupportedOpError(msg)


def _need_const(scope: Scope, name: str, what: str) -> Const:
    c = scope.const(name) if name else None
    if c is None:
        raise _fail(f"{what} must be a constant (initializer), not a computed tensor")
    return c


def _f64(c: Const) -> np.ndarray:
    return np.asarray(c.value, dtype=np.float64)


def _dynamic(scope: Scope, node: onnx.NodeProto) -> list[str]:
    return [t for t in node.input if t and scope.const(t) is None]


# -- quantizers ------------------------------------------------------------------------------


def quant(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    scale = _f64(_need_const(scope, node.input[1], "Quant scale"))
    zero = _f64(_need_const(scope, node.input[2], "Quant zero point"))
    bits = _f64(_need_const(scope, node.input[3], "Quant bit width"))
    if bits.size != 1 or bits.reshape(-1)[0] != round(float(bits.reshape(-1)[0])):
        raise _fail(f"Quant bit width must be one integer, got {bits}")
    nbits, signed = int(bits.reshape(-1)[0]), bool(at.get("signed", 1))
    if nbits == 1 and signed:
        if np.any(zero != 0):
            raise _fail("a 1-bit signed Quant with a non-zero zero point is not supported")
        return nn.BipolarQuant(), [node.input[0]], {"scale": scale}
    op = nn.Quant(nbits, signed, bool(at.get("narrow", 0)), str(at.get("rounding_mode", "ROUND")))
    return op, [node.input[0]], {"scale": scale, "zero_point": zero}


def bipolar_quant(scope: Scope, node: onnx.NodeProto) -> Converted:
    scale = _f64(_need_const(scope, node.input[1], "BipolarQuant scale"))
    return nn.BipolarQuant(), [node.input[0]], {"scale": scale}


def trunc(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    consts = [_f64(_need_const(scope, t, "Trunc parameter")) for t in node.input[1:]]
    weights = {"scale": consts[0], "zero_point": consts[1]}
    mode = str(at.get("rounding_mode", "FLOOR")).upper()
    if len(consts) == 4:  # v1: scale, zero point, input bits, output bits
        op = nn.Trunc(int(consts[2]), int(consts[3]), mode)
    elif len(consts) == 5:  # v2: scale, zero point, input bits, output scale, output bits
        weights["output_scale"] = consts[3]
        op = nn.Trunc(
            int(consts[2]),
            int(consts[4]),
            mode,
            bool(at.get("signed", 1)),
            bool(at.get("narrow", 0)),
            version=2,
        )
    else:
        raise _fail(f"Trunc with {len(node.input)} inputs (expected 5 or 6)")
    return op, [node.input[0]], weights


# -- linear ops ------------------------------------------------------------------------------


def weight_codes(c: Const, out_axis: int) -> tuple[np.ndarray, np.ndarray, QType]:
    """(codes or float values, per-output-channel scale, wdt) of a weight constant.

    Quantized weights whose scale varies only along the output axis and whose zero point
    is 0 keep their codes; anything else stays float (``FLOAT32``)."""
    shape = c.shape
    rows = shape[out_axis]
    q = c.quant
    if q is not None and not np.any(q.zero):
        if q.scale.size == 1:
            return q.codes, np.full(rows, float(q.scale.reshape(-1)[0])), q.qtype
        full = np.broadcast_to(q.scale, shape)
        per_row = np.moveaxis(full, out_axis, 0).reshape(rows, -1)
        if np.all(per_row == per_row[:, :1]):
            return q.codes, per_row[:, 0].astype(np.float64), q.qtype
    return _f64(c), np.ones(rows), FLOAT32


def _codes_array(codes: np.ndarray, wdt: QType) -> np.ndarray:
    return codes.astype(np.float64) if wdt.is_float else int_codes(codes, wdt)


def _pads(at: dict[str, Any], rank: int = 2) -> tuple[int, int, int, int]:
    auto = str(at.get("auto_pad", "NOTSET"))
    if auto not in ("NOTSET", "VALID"):
        raise _fail(f"auto_pad={auto} is not supported; export with explicit pads")
    pads = [int(p) for p in at.get("pads", [0] * 2 * rank)]
    if len(pads) != 4:
        raise _fail(f"only 2-D spatial ops are supported (pads {pads})")
    return pads[0], pads[1], pads[2], pads[3]


def _pair(at: dict[str, Any], key: str, default: int = 1) -> tuple[int, int]:
    v = [int(x) for x in at.get(key, [default, default])]
    if len(v) != 2:
        raise _fail(f"only 2-D spatial ops are supported ({key}={v})")
    return v[0], v[1]


def conv(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    wc = _need_const(scope, node.input[1], "Conv weight")
    codes, scale, wdt = weight_codes(wc, 0)
    if codes.ndim != 4:
        raise _fail(f"only 2-D convolutions are supported (weight shape {codes.shape})")
    op = nn.Conv(
        kernel=(codes.shape[2], codes.shape[3]),
        stride=_pair(at, "strides"),
        pads=_pads(at),
        dilation=_pair(at, "dilations"),
        group=int(at.get("group", 1)),
        wdt=wdt,
    )
    weights: Weights = {"weight": _codes_array(codes, wdt), "weight_scale": scale}
    if len(node.input) > 2 and node.input[2]:
        weights["bias"] = _f64(_need_const(scope, node.input[2], "Conv bias")).reshape(-1)
    return op, [node.input[0]], weights


def _linear(x: str, wc: Const, out_axis: int, alpha: float, bias: np.ndarray | None) -> Converted:
    codes, scale, wdt = weight_codes(wc, out_axis)
    if codes.ndim != 2:
        raise _fail(f"only 2-D weight matrices are supported, got {codes.shape}")
    if out_axis == 1:
        codes = codes.T
    weights: Weights = {"weight": _codes_array(codes, wdt), "weight_scale": scale * alpha}
    if bias is not None:
        weights["bias"] = np.broadcast_to(bias.reshape(-1), (codes.shape[0],)).copy()
    return nn.Linear(wdt), [x], weights


def gemm(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    if int(at.get("transA", 0)):
        raise _fail("Gemm with transA=1 is not supported")
    wc = _need_const(scope, node.input[1], "Gemm weight (B)")
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = _f64(_need_const(scope, node.input[2], "Gemm bias (C)")) * float(at.get("beta", 1))
    out_axis = 0 if int(at.get("transB", 0)) else 1
    return _linear(node.input[0], wc, out_axis, float(at.get("alpha", 1.0)), bias)


def matmul(scope: Scope, node: onnx.NodeProto) -> Converted:
    wc = _need_const(scope, node.input[1], "MatMul weight (second operand)")
    return _linear(node.input[0], wc, 1, 1.0, None)


def batchnorm(scope: Scope, node: onnx.NodeProto) -> Converted:
    names = ("scale", "bias", "mean", "var")
    weights = {
        k: _f64(_need_const(scope, t, f"BatchNorm {k}"))
        for k, t in zip(names, node.input[1:5], strict=True)
    }
    return nn.BatchNorm(float(attrs(node).get("epsilon", 1e-5))), [node.input[0]], weights


def binary(scope: Scope, node: onnx.NodeProto) -> Converted:
    a, b = node.input[0], node.input[1]
    ca, cb = scope.const(a), scope.const(b)
    if ca is None and cb is None:
        return nn.Binary(node.op_type), [a, b], {}
    if ca is not None and cb is not None:
        raise _fail("both operands constant (should have been folded)")
    x, c = (b, ca) if ca is not None else (a, cb)
    assert c is not None
    return nn.BinaryConst(node.op_type, const_first=ca is not None), [x], {"const": _f64(c)}


# -- pooling and layout ----------------------------------------------------------------------


def _ceil_pads(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> tuple[int, int, int, int]:
    """Extra end padding that makes floor-mode output sizes equal ceil-mode ones."""
    extra = []
    for i in range(2):
        span = size[i] + pads[i] + pads[i + 2] - kernel[i]
        out = -(-span // stride[i]) + 1
        if (out - 1) * stride[i] >= size[i] + pads[i]:
            out -= 1  # the last window must start inside the (left-padded) input
        extra.append(max(0, (out - 1) * stride[i] + kernel[i] - (size[i] + pads[i] + pads[i + 2])))
    return pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]


def maxpool(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    if _pair(at, "dilations") != (1, 1):
        raise _fail("dilated MaxPool is not supported")
    kernel, stride, pads = _pair(at, "kernel_shape"), _pair(at, "strides"), _pads(at)
    if int(at.get("ceil_mode", 0)):
        hw = scope.info(node.input[0]).shape[2:]
        pads = _ceil_pads((hw[0], hw[1]), kernel, stride, pads)
    return nn.MaxPool(kernel, stride, pads), [node.input[0]], {}


def avgpool(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    kernel, stride, pads = _pair(at, "kernel_shape"), _pair(at, "strides"), _pads(at)
    if int(at.get("ceil_mode", 0)):
        hw = scope.info(node.input[0]).shape[2:]
        if _ceil_pads((hw[0], hw[1]), kernel, stride, pads) != pads:
            raise _fail("AveragePool with ceil_mode=1 that changes the output size")
    op = nn.AveragePool(kernel, stride, pads, bool(at.get("count_include_pad", 0)))
    return op, [node.input[0]], {}


def global_avgpool(scope: Scope, node: onnx.NodeProto) -> Converted:
    shape = scope.info(node.input[0]).shape
    if len(shape) != 4:
        raise _fail(f"GlobalAveragePool of a {len(shape)}-D tensor")
    return nn.AveragePool((shape[2], shape[3]), (1, 1)), [node.input[0]], {}


def _reshape_to(scope: Scope, x: str, target: list[int]) -> Converted:
    shape = scope.info(x).shape
    try:
        full = (
            np.empty(shape, dtype=np.int8)
            .reshape([shape[i] if d == 0 else d for i, d in enumerate(target)])
            .shape
        )
    except ValueError as err:
        raise _fail(f"cannot reshape {shape} to {target}: {err}") from None
    if full[0] != shape[0]:
        raise _fail(f"reshape {shape} -> {full} moves the batch dimension")
    if tuple(full) == tuple(shape):
        return Alias(x)
    return nn.Reshape(tuple(int(d) for d in full[1:])), [x], {}


def reshape(scope: Scope, node: onnx.NodeProto) -> Converted:
    target = _need_const(scope, node.input[1], "Reshape target shape").value
    return _reshape_to(scope, node.input[0], [int(d) for d in np.asarray(target).reshape(-1)])


def flatten(scope: Scope, node: onnx.NodeProto) -> Converted:
    axis = int(attrs(node).get("axis", 1))
    if axis != 1:
        raise _fail(f"Flatten with axis={axis} (only axis=1 keeps the batch)")
    return _reshape_to(scope, node.input[0], [0, -1])


def transpose(scope: Scope, node: onnx.NodeProto) -> Converted:
    rank = len(scope.info(node.input[0]).shape)
    perm = tuple(int(p) for p in attrs(node).get("perm", range(rank - 1, -1, -1)))
    if perm == tuple(range(rank)):
        return Alias(node.input[0])
    return nn.Transpose(perm), [node.input[0]], {}


def pad(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    if str(at.get("mode", "constant")) != "constant":
        raise _fail(f"Pad mode {at.get('mode')!r} (only 'constant' is supported)")
    if len(node.input) > 1 and node.input[1]:
        pads = [int(p) for p in _need_const(scope, node.input[1], "Pad pads").value.reshape(-1)]
    else:
        pads = [int(p) for p in at.get("pads", [])]
    value = 0.0
    if len(node.input) > 2 and node.input[2]:
        value = float(_f64(_need_const(scope, node.input[2], "Pad value")).reshape(-1)[0])
    if len(node.input) > 3 and node.input[3]:
        raise _fail("Pad with explicit axes is not supported")
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise _fail(f"Pad {pads}: only H/W padding of a 4-D tensor is supported")
    return nn.Pad((pads[2], pads[3], pads[6], pads[7]), value), [node.input[0]], {}


def concat(scope: Scope, node: onnx.NodeProto) -> Converted:
    rank = len(scope.info(node.input[0]).shape)
    axis = int(attrs(node)["axis"]) % rank
    if any(scope.const(t) is not None for t in node.input):
        raise _fail("Concat with a constant operand is not supported")
    return nn.Concat(axis), list(node.input), {}


def _scalar_input(scope: Scope, node: onnx.NodeProto, index: int, what: str) -> float | None:
    if len(node.input) <= index or not node.input[index]:
        return None
    value = _f64(_need_const(scope, node.input[index], what))
    if value.size != 1:
        raise _fail(f"{what} must be one number, got shape {value.shape}")
    return float(value.reshape(-1)[0])


def clip(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    lo = _scalar_input(scope, node, 1, "Clip min")
    hi = _scalar_input(scope, node, 2, "Clip max")
    lo = float(at.get("min", -np.inf)) if lo is None else lo
    hi = float(at.get("max", np.inf)) if hi is None else hi
    return nn.Clip(lo, hi), [node.input[0]], {}


def activation(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    alpha, beta = {"LeakyRelu": (0.01, 0.0), "HardSigmoid": (0.2, 0.5)}.get(
        node.op_type, (0.0, 0.0)
    )
    op = nn.Activation(node.op_type, float(at.get("alpha", alpha)), float(at.get("beta", beta)))
    return op, [node.input[0]], {}


_NEAREST: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "round_prefer_floor": lambda v: np.ceil(v - 0.5),
    "round_prefer_ceil": lambda v: np.floor(v + 0.5),
    "floor": np.floor,
    "ceil": np.ceil,
}


def _source_index(out: int, size: int, scale: float, at: dict[str, Any]) -> np.ndarray:
    """The input index ONNX nearest ``Resize`` reads for each of ``out`` output indices."""
    y = np.arange(out, dtype=np.float64)
    mode = str(at.get("coordinate_transformation_mode", "half_pixel"))
    if mode in ("half_pixel", "pytorch_half_pixel"):
        pos = (y + 0.5) / scale - 0.5 if out > 1 or mode == "half_pixel" else 0.0 * y
    elif mode == "asymmetric":
        pos = y / scale
    elif mode == "tf_half_pixel_for_nn":
        pos = (y + 0.5) / scale
    elif mode == "align_corners":
        pos = y * (size - 1) / (out - 1) if out > 1 else 0.0 * y
    else:
        raise _fail(f"Resize coordinate_transformation_mode {mode!r} is not supported")
    nearest = str(at.get("nearest_mode", "round_prefer_floor"))
    if nearest not in _NEAREST:
        raise _fail(f"Resize nearest_mode {nearest!r} is not supported")
    return np.clip(_NEAREST[nearest](pos), 0, size - 1).astype(np.int64)


def _resize_factors(scope: Scope, node: onnx.NodeProto, shape: tuple[int, ...]) -> list[float]:
    """Per-axis scales of a Resize (opset 10: scales; 11+: roi, scales, sizes) or Upsample."""
    names = list(node.input[1:])
    if node.op_type == "Resize" and len(names) >= 2:
        names = names[1:]  # skip roi
    scales = names[0] if names and names[0] else ""
    sizes = names[1] if len(names) > 1 and names[1] else ""
    if scales and _need_const(scope, scales, "Resize scales").value.size:
        return [float(v) for v in _f64(_need_const(scope, scales, "Resize scales")).reshape(-1)]
    if sizes:
        out = _need_const(scope, sizes, "Resize sizes").value.reshape(-1)
        return [float(o) / s for o, s in zip(out, shape, strict=True)]
    raise _fail("Resize needs constant scales or sizes")


def resize(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    mode = str(at.get("mode", "nearest"))
    if mode != "nearest":
        raise _fail(f"Resize mode {mode!r}: only nearest-neighbour upsampling is supported")
    shape = scope.info(node.input[0]).shape
    factors = _resize_factors(scope, node, shape)
    if len(shape) != 4 or len(factors) != 4 or factors[0] != 1 or factors[1] != 1:
        raise _fail(f"Resize with scales {factors} (only H and W of a 4-D tensor)")
    ints = tuple(int(round(f)) for f in factors[2:])
    if any(f != i or i < 1 for f, i in zip(factors[2:], ints, strict=True)):
        raise _fail(f"Resize by {factors[2:]}: only integer upsampling factors are supported")
    for axis, f in zip((2, 3), ints, strict=True):
        got = _source_index(shape[axis] * f, shape[axis], float(f), at)
        if not np.array_equal(got, np.arange(shape[axis] * f) // f):
            raise _fail(
                "this Resize does not repeat each pixel (coordinate_transformation_mode "
                f"{at.get('coordinate_transformation_mode')!r}); use mode 'nearest' with "
                "'asymmetric' coordinates and nearest_mode 'floor', as PyTorch exports it"
            )
    return nn.Resize((ints[0], ints[1])), [node.input[0]], {}


def reduce_mean(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    shape = scope.info(node.input[0]).shape
    axes = [int(a) for a in at.get("axes", [])]
    if len(node.input) > 1 and node.input[1]:
        axes = [int(a) for a in _need_const(scope, node.input[1], "ReduceMean axes").value]
    axes = sorted(a % len(shape) for a in axes)
    if len(shape) != 4 or axes != [2, 3]:
        raise _fail(f"ReduceMean over axes {axes} (only the spatial mean of NCHW, axes 2 and 3)")
    pool = nn.AveragePool((shape[2], shape[3]), (1, 1))
    if int(at.get("keepdims", 1)):
        return pool, [node.input[0]], {}
    return Steps([node.input[0]], [("", pool, {}), ("flatten", nn.Reshape((shape[1],)), {})])


def identity(scope: Scope, node: onnx.NodeProto) -> Converted:
    return Alias(node.input[0])


def relu(scope: Scope, node: onnx.NodeProto) -> Converted:
    return nn.Relu(), [node.input[0]], {}


CHANNELS_LAST = "qonnx.custom_op.channels_last"


class _ChannelsFirst:
    """A scope that shows a channels-last op its activation input as NCHW and its conv
    weight (OHWI in the channels-last form) as OIHW."""

    def __init__(self, scope: Scope, node: onnx.NodeProto, to_first: tuple[int, ...]) -> None:
        self.scope, self.node, self.to_first = scope, node, to_first

    def const(self, name: str) -> Const | None:
        c = self.scope.const(name)
        if c is not None and self.node.op_type == "Conv" and name == self.node.input[1]:
            return transposed(c, self.to_first)
        return c

    def info(self, name: str) -> TensorInfo:
        info = self.scope.info(name)
        if name != self.node.input[0]:
            return info
        shape = tuple(info.shape[p] for p in self.to_first)
        return TensorInfo(info.name, shape, info.qtype, "NCHW")


def channels_last(
    converter: Callable[[Scope, onnx.NodeProto], Converted],
) -> Callable[[Scope, onnx.NodeProto], Converted]:
    """A converter for the qonnx channels-last form of an op (domain ``CHANNELS_LAST``: NHWC
    activations): Transpose to NCHW, the op, Transpose back (lowering cancels the pairs)."""

    def convert(scope: Scope, node: onnx.NodeProto) -> Converted:
        rank = len(scope.info(node.input[0]).shape)
        to_first = (0, rank - 1) + tuple(range(1, rank - 1))
        to_last = (0,) + tuple(range(2, rank)) + (1,)
        result = converter(_ChannelsFirst(scope, node, to_first), node)
        if isinstance(result, Alias):
            return result
        if isinstance(result, Steps) or len(result[1]) != 1:
            raise _fail(f"channels-last {node.op_type} with several inputs is not supported")
        op, inputs, weights = result
        return Steps(
            inputs,
            [
                ("to_nchw", nn.Transpose(to_first), {}),
                ("", op, weights),
                ("to_nhwc", nn.Transpose(to_last), {}),
            ],
        )

    return convert


CONVERTERS: dict[str, Callable[[Scope, onnx.NodeProto], Converted]] = {
    "Quant": quant,
    "IntQuant": quant,
    "BipolarQuant": bipolar_quant,
    "Trunc": trunc,
    "Conv": conv,
    "Gemm": gemm,
    "MatMul": matmul,
    "BatchNormalization": batchnorm,
    "Add": binary,
    "Sub": binary,
    "Mul": binary,
    "Div": binary,
    "Relu": relu,
    "Clip": clip,
    "Sigmoid": activation,
    "Tanh": activation,
    "LeakyRelu": activation,
    "HardSigmoid": activation,
    "Resize": resize,
    "Upsample": resize,
    "ReduceMean": reduce_mean,
    "MaxPool": maxpool,
    "AveragePool": avgpool,
    "GlobalAveragePool": global_avgpool,
    "Reshape": reshape,
    "Flatten": flatten,
    "Transpose": transpose,
    "Pad": pad,
    "Concat": concat,
    "Identity": identity,
    "Dropout": identity,
}
