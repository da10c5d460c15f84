"""Reference kernels of the float/quantizer ops (``alveoflow.compiler.ir.nn``), in float64.

These define what "evaluating the QONNX model in float64" means: every op is computed in
float64 in ONNX order, quantizers as qonnx executes them (scale, add the zero point, clamp,
round with the node's rounding mode; ``ROUND`` is half-to-even). One step is not float64:
a quantizer's scaled input ``x / scale + zero_point`` is rounded to float32 (each step once),
because that is the number Brevitas and qonnx round. Exported scales are float32, so a tie
of the model's own arithmetic (``0.5 / (1/3) = 1.5``) is ``1.49999996`` in float64 but
exactly ``1.5`` in float32, and Brevitas rounds it to 2. The compiler's threshold search
calls the same functions (``quantizer_codes``, ``apply_elementwise``), so an integer
threshold equals this evaluation by construction, ties included.

Inputs of any dtype are promoted to float64; outputs are float64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from alveoflow.compiler.ir import nn
from alveoflow.compiler.semantics.registry import kernel
from alveoflow.errors import UnsupportedOpError

Tensor = torch.Tensor
Weights = Mapping[str, Tensor]


def _f64(t: Tensor) -> Tensor:
    return t if t.dtype == torch.float64 else t.to(torch.float64)


def _round_half_up(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def _round_half_down(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.ceil(x.abs() - 0.5)


def _round_up(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.ceil(x.abs())


ROUNDING: dict[str, Callable[[Tensor], Tensor]] = {
    "ROUND": torch.round,  # half to even
    "HALF_EVEN": torch.round,
    "CEIL": torch.ceil,
    "FLOOR": torch.floor,
    "UP": _round_up,
    "DOWN": torch.trunc,
    "HALF_UP": _round_half_up,
    "HALF_DOWN": _round_half_down,
}


# -- quantizers: codes and the (zero, scale) that turn codes into the op's output values ----


def _trunc_scale(op: nn.Trunc, w: Weights) -> Tensor:
    if op.version == 1:
        return torch.tensor(2.0 ** (op.in_bits - op.out_bits), dtype=torch.float64)
    return 2.0 ** torch.round(torch.log2(_f64(w["output_scale"]) / _f64(w["scale"])))


def scaled_input(x: Tensor, scale: Tensor, zero_point: Tensor) -> Tensor:
    """``x / scale + zero_point`` as the quantizer computes it before rounding: in float32
    (see the module docstring), each step rounded once; returned as float64."""
    y = (_f64(x) / _f64(scale)).to(torch.float32)
    return (y + _f64(zero_point).to(torch.float32)).to(torch.float64)


def quantizer_codes(op: Any, x: Tensor, w: Weights) -> Tensor:
    """Integer codes (as float64) a quantizer op assigns to real inputs ``x``."""
    x = _f64(x)
    if isinstance(op, nn.Quant):
        lo, hi = op.code_range()
        y = scaled_input(x, w["scale"], w["zero_point"])
        return ROUNDING[op.rounding_mode](torch.clamp(y, lo, hi))
    if isinstance(op, nn.BipolarQuant):
        return torch.where(x >= 0, 1.0, -1.0).to(torch.float64)
    if isinstance(op, nn.Trunc):
        y = torch.round(scaled_input(x, w["scale"], w["zero_point"])) / _trunc_scale(op, w)
        if op.version == 2:
            lo, hi = nn.quant_range(op.out_bits, op.signed, op.narrow)
            y = torch.clamp(y, lo, hi)
        return ROUNDING[op.rounding_mode](y)
    raise UnsupportedOpError(f"{type(op).__name__} is not a quantizer")


def quantizer_head(op: Any, w: Weights) -> tuple[Tensor, Tensor]:
    """(zero, scale) with output value = (codes - zero) * scale, as the kernel computes it."""
    if isinstance(op, nn.Quant):
        return _f64(w["zero_point"]), _f64(w["scale"])
    if isinstance(op, nn.BipolarQuant):
        return torch.zeros((), dtype=torch.float64), _f64(w["scale"])
    if isinstance(op, nn.Trunc):
        zero = _f64(w["zero_point"])
        if op.version == 1:
            return zero, _f64(w["scale"])
        return zero / _trunc_scale(op, w), _f64(w["output_scale"])
    raise UnsupportedOpError(f"{type(op).__name__} is not a quantizer")


def quantize(op: Any, x: Tensor, w: Weights) -> Tensor:
    zero, scale = quantizer_head(op, w)
    return (quantizer_codes(op, x, w) - zero) * scale


for _quantizer in (nn.Quant, nn.BipolarQuant, nn.Trunc):
    kernel(_quantizer)(lambda op, xs, w: [quantize(op, xs[0], w)])


# -- per-element ops with constants (also used by the threshold search) ---------------------

_BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "Add": torch.add,
    "Sub": torch.sub,
    "Mul": torch.mul,
    "Div": torch.div,
}


def batchnorm(op: nn.BatchNorm, x: Tensor, w: Weights) -> Tensor:
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean, var = _f64(w["mean"]).view(shape), _f64(w["var"]).view(shape)
    scale, bias = _f64(w["scale"]).view(shape), _f64(w["bias"]).view(shape)
    return (_f64(x) - mean) / torch.sqrt(var + op.eps) * scale + bias


def binary_const(op: nn.BinaryConst, x: Tensor, w: Weights) -> Tensor:
    c = _f64(w["const"])
    fn = _BINARY[op.fn]
    return fn(c, _f64(x)) if op.const_first else fn(_f64(x), c)


def relu(op: nn.Relu, x: Tensor, w: Weights) -> Tensor:
    return torch.relu(_f64(x))


def activation(op: nn.Activation, x: Tensor, w: Weights) -> Tensor:
    x = _f64(x)
    if op.fn == "Sigmoid":
        return torch.sigmoid(x)
    if op.fn == "Tanh":
        return torch.tanh(x)
    if op.fn == "LeakyRelu":
        return torch.where(x < 0, x * op.alpha, x)
    return torch.clamp(x * op.alpha + op.beta, 0.0, 1.0)  # HardSigmoid


def clip(op: nn.Clip, x: Tensor, w: Weights) -> Tensor:
    return torch.clamp(_f64(x), op.lo, op.hi)


ELEMENTWISE: dict[type, Callable[[Any, Tensor, Weights], Tensor]] = {
    nn.BatchNorm: batchnorm,
    nn.BinaryConst: binary_const,
    nn.Relu: relu,
    nn.Activation: activation,
    nn.Clip: clip,
}


def apply_elementwise(op: Any, x: Tensor, w: Weights) -> Tensor:
    """One per-element op (``ELEMENTWISE`` or a quantizer) on ``x``."""
    if type(op) in ELEMENTWISE:
        return ELEMENTWISE[type(op)](op, x, w)
    return quantize(op, x, w)


for _elementwise in ELEMENTWISE:
    kernel(_elementwise)(lambda op, xs, w: [apply_elementwise(op, xs[0], w)])


@kernel(nn.Binary)
def _binary(op: nn.Binary, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    return [_BINARY[op.fn](_f64(xs[0]), _f64(xs[1]))]


# -- linear ops ------------------------------------------------------------------------------


def real_weight(w: Weights) -> Tensor:
    """``weight * weight_scale`` (scale per output channel, broadcast over the rest)."""
    weight = _f64(w["weight"])
    scale = _f64(w["weight_scale"]).view((-1,) + (1,) * (weight.dim() - 1))
    return weight * scale


def _pad(x: Tensor, pads: tuple[int, int, int, int], value: float) -> Tensor:
    top, left, bottom, right = pads
    if not any(pads):
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


@kernel(nn.Conv)
def _conv(op: nn.Conv, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    x = _pad(_f64(xs[0]), op.pads, op.pad_value)
    bias = _f64(w["bias"]) if "bias" in w else None
    out = F.conv2d(x, real_weight(w), bias, op.stride, 0, op.dilation, op.group)
    return [out]


@kernel(nn.Linear)
def _linear(op: nn.Linear, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    out = _f64(xs[0]) @ real_weight(w).T
    if "bias" in w:
        out = out + _f64(w["bias"])
    return [out]


# -- pooling and layout ----------------------------------------------------------------------


@kernel(nn.MaxPool)
def _maxpool(op: nn.MaxPool, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    x = _pad(_f64(xs[0]), op.pads, float("-inf"))
    return [F.max_pool2d(x, op.kernel, op.stride)]


@kernel(nn.AveragePool)
def _avgpool(op: nn.AveragePool, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    x = _f64(xs[0])
    if not any(op.pads):
        return [F.avg_pool2d(x, op.kernel, op.stride)]
    sums = F.avg_pool2d(_pad(x, op.pads, 0.0), op.kernel, op.stride, divisor_override=1)
    if op.count_include_pad:
        return [sums / (op.kernel[0] * op.kernel[1])]
    ones = _pad(torch.ones_like(x[:1, :1]), op.pads, 0.0)
    counts = F.avg_pool2d(ones, op.kernel, op.stride, divisor_override=1)
    return [sums / counts]


@kernel(nn.Reshape)
def _reshape(op: nn.Reshape, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    x = _f64(xs[0])
    return [x.reshape((x.shape[0],) + tuple(op.shape))]


@kernel(nn.Resize)
def _resize(op: nn.Resize, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    x = _f64(xs[0]).repeat_interleave(op.factor[0], dim=2)
    return [x.repeat_interleave(op.factor[1], dim=3)]


@kernel(nn.Transpose)
def _transpose(op: nn.Transpose, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    return [_f64(xs[0]).permute(*op.perm)]


@kernel(nn.Pad)
def _padk(op: nn.Pad, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    return [_pad(_f64(xs[0]), op.pads, op.value)]


@kernel(nn.Concat)
def _concat(op: nn.Concat, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    return [torch.cat([_f64(x) for x in xs], dim=op.axis)]


@kernel(nn.Unmapped)
def _unmapped(op: nn.Unmapped, xs: Sequence[Tensor], w: Weights) -> list[Tensor]:
    raise UnsupportedOpError(
        f"cannot execute an unmapped {op.source_kind} node ({op.reason}); fix the lowering"
    )
