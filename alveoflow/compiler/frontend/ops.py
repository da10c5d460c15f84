"""ONNX/QONNX node -> IR node converters of the compute ops (quantizers, conv/linear,
BatchNorm, arithmetic, activations, pooling), and ``CONVERTERS``, the table of every
converter by ONNX op type (the data-movement ones are in ``layout``; the converter contract
is in ``convert``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from alveoflow.compiler.frontend import layout
from alveoflow.compiler.frontend.consts import Const, attrs, int_codes
from alveoflow.compiler.frontend.convert import (
    Alias,
    Converted,
    Scope,
    Steps,
    Weights,
    f64,
    fail,
    need_const,
)
from alveoflow.compiler.frontend.layout import CHANNELS_LAST, channels_last
from alveoflow.compiler.ir import QType, nn
from alveoflow.compiler.ir.qtype import FLOAT32

# -- quantizers ------------------------------------------------------------------------------


def quant(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    scale = f64(need_const(scope, node.input[1], "Quant scale"))
    zero = f64(need_const(scope, node.input[2], "Quant zero point"))
    bits = f64(need_const(scope, node.input[3], "Quant bit width"))
    if bits.size != 1 or bits.reshape(-1)[0] != round(float(bits.reshape(-1)[0])):
        raise fail(f"Quant bit width must be one integer, got {bits}")
    nbits, signed = int(bits.reshape(-1)[0]), bool(at.get("signed", 1))
    if nbits == 1 and signed:
        if np.any(zero != 0):
            raise fail("a 1-bit signed Quant with a non-zero zero point is not supported")
        return nn.BipolarQuant(), [node.input[0]], {"scale": scale}
    op = nn.Quant(nbits, signed, bool(at.get("narrow", 0)), str(at.get("rounding_mode", "ROUND")))
    return op, [node.input[0]], {"scale": scale, "zero_point": zero}


def bipolar_quant(scope: Scope, node: onnx.NodeProto) -> Converted:
    scale = f64(need_const(scope, node.input[1], "BipolarQuant scale"))
    return nn.BipolarQuant(), [node.input[0]], {"scale": scale}


def trunc(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    consts = [f64(need_const(scope, t, "Trunc parameter")) for t in node.input[1:]]
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
        raise fail(f"Trunc with {len(node.input)} inputs (expected 5 or 6)")
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
    return f64(c), np.ones(rows), FLOAT32


def _codes_array(codes: np.ndarray, wdt: QType) -> np.ndarray:
    return codes.astype(np.float64) if wdt.is_float else int_codes(codes, wdt)


def _pads(at: dict[str, Any], rank: int = 2) -> tuple[int, int, int, int]:
    auto = str(at.get("auto_pad", "NOTSET"))
    if auto not in ("NOTSET", "VALID"):
        raise fail(f"auto_pad={auto} is not supported; export with explicit pads")
    pads = [int(p) for p in at.get("pads", [0] * 2 * rank)]
    if len(pads) != 4:
        raise fail(f"only 2-D spatial ops are supported (pads {pads})")
    return pads[0], pads[1], pads[2], pads[3]


def _pair(at: dict[str, Any], key: str, default: int = 1) -> tuple[int, int]:
    v = [int(x) for x in at.get(key, [default, default])]
    if len(v) != 2:
        raise fail(f"only 2-D spatial ops are supported ({key}={v})")
    return v[0], v[1]


def conv(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    wc = need_const(scope, node.input[1], "Conv weight")
    codes, scale, wdt = weight_codes(wc, 0)
    if codes.ndim != 4:
        raise fail(f"only 2-D convolutions are supported (weight shape {codes.shape})")
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
        weights["bias"] = f64(need_const(scope, node.input[2], "Conv bias")).reshape(-1)
    return op, [node.input[0]], weights


def _linear(x: str, wc: Const, out_axis: int, alpha: float, bias: np.ndarray | None) -> Converted:
    codes, scale, wdt = weight_codes(wc, out_axis)
    if codes.ndim != 2:
        raise fail(f"only 2-D weight matrices are supported, got {codes.shape}")
    if out_axis == 1:
        codes = codes.T
    weights: Weights = {"weight": _codes_array(codes, wdt), "weight_scale": scale * alpha}
    if bias is not None:
        weights["bias"] = np.broadcast_to(bias.reshape(-1), (codes.shape[0],)).copy()
    return nn.Linear(wdt), [x], weights


def gemm(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    if int(at.get("transA", 0)):
        raise fail("Gemm with transA=1 is not supported")
    wc = need_const(scope, node.input[1], "Gemm weight (B)")
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = f64(need_const(scope, node.input[2], "Gemm bias (C)")) * float(at.get("beta", 1))
    out_axis = 0 if int(at.get("transB", 0)) else 1
    return _linear(node.input[0], wc, out_axis, float(at.get("alpha", 1.0)), bias)


def matmul(scope: Scope, node: onnx.NodeProto) -> Converted:
    wc = need_const(scope, node.input[1], "MatMul weight (second operand)")
    return _linear(node.input[0], wc, 1, 1.0, None)


def batchnorm(scope: Scope, node: onnx.NodeProto) -> Converted:
    names = ("scale", "bias", "mean", "var")
    weights = {
        k: f64(need_const(scope, t, f"BatchNorm {k}"))
        for k, t in zip(names, node.input[1:5], strict=True)
    }
    return nn.BatchNorm(float(attrs(node).get("epsilon", 1e-5))), [node.input[0]], weights


def binary(scope: Scope, node: onnx.NodeProto) -> Converted:
    a, b = node.input[0], node.input[1]
    ca, cb = scope.const(a), scope.const(b)
    if ca is None and cb is None:
        return nn.Binary(node.op_type), [a, b], {}
    if ca is not None and cb is not None:
        raise fail("both operands constant (should have been folded)")
    x, c = (b, ca) if ca is not None else (a, cb)
    assert c is not None
    return nn.BinaryConst(node.op_type, const_first=ca is not None), [x], {"const": f64(c)}


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
        raise fail("dilated MaxPool is not supported")
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
            raise fail("AveragePool with ceil_mode=1 that changes the output size")
    op = nn.AveragePool(kernel, stride, pads, bool(at.get("count_include_pad", 0)))
    return op, [node.input[0]], {}


def global_avgpool(scope: Scope, node: onnx.NodeProto) -> Converted:
    shape = scope.info(node.input[0]).shape
    if len(shape) != 4:
        raise fail(f"GlobalAveragePool of a {len(shape)}-D tensor")
    return nn.AveragePool((shape[2], shape[3]), (1, 1)), [node.input[0]], {}


def _scalar_input(scope: Scope, node: onnx.NodeProto, index: int, what: str) -> float | None:
    if len(node.input) <= index or not node.input[index]:
        return None
    value = f64(need_const(scope, node.input[index], what))
    if value.size != 1:
        raise fail(f"{what} must be one number, got shape {value.shape}")
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


def reduce_mean(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    shape = scope.info(node.input[0]).shape
    axes = [int(a) for a in at.get("axes", [])]
    if len(node.input) > 1 and node.input[1]:
        axes = [int(a) for a in need_const(scope, node.input[1], "ReduceMean axes").value]
    axes = sorted(a % len(shape) for a in axes)
    if len(shape) != 4 or axes != [2, 3]:
        raise fail(f"ReduceMean over axes {axes} (only the spatial mean of NCHW, axes 2 and 3)")
    pool = nn.AveragePool((shape[2], shape[3]), (1, 1))
    if int(at.get("keepdims", 1)):
        return pool, [node.input[0]], {}
    return Steps([node.input[0]], [("", pool, {}), ("flatten", nn.Reshape((shape[1],)), {})])


def relu(scope: Scope, node: onnx.NodeProto) -> Converted:
    return nn.Relu(), [node.input[0]], {}


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
    "Resize": layout.resize,
    "Upsample": layout.resize,
    "ReduceMean": reduce_mean,
    "MaxPool": maxpool,
    "AveragePool": avgpool,
    "GlobalAveragePool": global_avgpool,
    "Reshape": layout.reshape,
    "Flatten": layout.flatten,
    "Transpose": layout.transpose,
    "Pad": layout.pad,
    "Concat": layout.concat,
    "Identity": layout.identity,
    "Dropout": layout.identity,
}


__all__ = ["CHANNELS_LAST", "CONVERTERS", "Alias", "Scope", "Steps", "channels_last"]
