"""Float and quantizer operators as read from QONNX (NCHW, ONNX semantics).

These ops exist between ``compiler.frontend`` and lowering; after lowering no graph holds
them. Their values are real numbers (the reference evaluates them in float64, see
``alveoflow.compiler.semantics.nn_kernels``); every output is ``FLOAT32`` in the IR.

Conventions
- Constant operands are weights, never graph tensors (the frontend folds initializer-only
  subgraphs). A quantized weight keeps its integer codes: ``Conv``/``Linear`` carry
  ``weight`` (codes of ``wdt``, or plain floats when ``wdt`` is FLOAT32) and
  ``weight_scale`` (one entry per output channel); the real weight is
  ``weight * weight_scale`` (zero point 0).
- Quantizer parameters (``scale``, ``zero_point``, ...) keep their ONNX broadcast shapes.
- Batch is dimension 0 and is never reshaped away (``Reshape.shape`` excludes it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.ir.core import Op, OutSpec, Shape, TensorInfo
from alveoflow.compiler.ir.hw import Pads, Pair, conv_out_dim
from alveoflow.compiler.ir.qtype import FLOAT32, QType
from alveoflow.errors import GraphError

ROUNDING_MODES = ("ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN")
BINARY_FNS = ("Add", "Sub", "Mul", "Div")


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise GraphError(msg)


def layout_of(shape: Shape) -> str:
    return {4: "NCHW", 2: "NC"}.get(len(shape), "ANY")


def _float(shape: Shape) -> OutSpec:
    return OutSpec(tuple(shape), FLOAT32, layout_of(shape))


def _fits(param: np.ndarray, shape: Shape, what: str) -> None:
    """``param`` broadcasts to ``shape`` without enlarging it."""
    try:
        out = np.broadcast_shapes(param.shape, shape)
    except ValueError:
        out = None
    _need(out == tuple(shape), f"{what} of shape {param.shape} does not broadcast to {shape}")


def code_dtype(qtype: QType) -> type[np.signedinteger]:
    """The narrowest numpy signed integer dtype holding every value of ``qtype``."""
    bits = qtype.bits + (0 if qtype.signed or qtype.bipolar else 1)
    if bits <= 8:
        return np.int8
    return np.int16 if bits <= 16 else np.int32 if bits <= 32 else np.int64


def quant_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """Integer code range of a QONNX ``Quant`` (qonnx ``min_int``/``max_int``)."""
    if signed:
        lo = -(1 << (bits - 1)) + (1 if narrow else 0)
        return lo, (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - (1 if narrow else 0)


@dataclass(frozen=True)
class Quant(Op):
    """QONNX ``Quant``: ``codes = clamp(round(x / scale + zero_point), lo, hi)`` with the
    node's rounding mode; output ``(codes - zero_point) * scale``."""

    bits: int
    signed: bool
    narrow: bool = False
    rounding_mode: str = "ROUND"

    weight_names = ("scale", "zero_point")
    required_weights = ("scale", "zero_point")

    def code_range(self) -> tuple[int, int]:
        return quant_range(self.bits, self.signed, self.narrow)

    def qtype(self) -> QType:
        return QType(self.bits, signed=self.signed)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(self.bits >= 2 or not self.signed, "a 1-bit signed Quant must be a BipolarQuant")
        _need(1 <= self.bits <= 32, f"bit width {self.bits} out of range 1..32")
        _need(self.rounding_mode in ROUNDING_MODES, f"rounding mode {self.rounding_mode!r}")
        _need(bool(np.all(weights["scale"] > 0)), "Quant scale must be positive")
        for key in self.weight_names:
            _fits(weights[key], x.shape, key)
        return (_float(x.shape),)


@dataclass(frozen=True)
class BipolarQuant(Op):
    """QONNX ``BipolarQuant``: ``(x >= 0 ? +1 : -1) * scale``."""

    weight_names = ("scale",)
    required_weights = ("scale",)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(bool(np.all(weights["scale"] > 0)), "BipolarQuant scale must be positive")
        _fits(weights["scale"], x.shape, "scale")
        return (_float(x.shape),)


@dataclass(frozen=True)
class Trunc(Op):
    """QONNX ``Trunc`` (version 1 or 2, as qonnx executes it): drops ``in_bits - out_bits``
    low bits of ``round(x / scale + zero_point)`` with the rounding mode. Version 2 also
    clamps to the ``signed``/``narrow`` range and rescales by ``output_scale``."""

    in_bits: int
    out_bits: int
    rounding_mode: str = "FLOOR"
    signed: bool = True
    narrow: bool = False
    version: int = 1

    weight_names = ("scale", "zero_point", "output_scale")
    required_weights = ("scale", "zero_point")

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(self.version in (1, 2), f"Trunc version {self.version}")
        _need(self.version == 1 or "output_scale" in weights, "Trunc v2 needs output_scale")
        _need(self.rounding_mode in ROUNDING_MODES, f"rounding mode {self.rounding_mode!r}")
        for key, value in weights.items():
            _fits(value, x.shape, key)
        return (_float(x.shape),)


def _check_weight_codes(wdt: QType, w: np.ndarray, scale: np.ndarray, rows: int) -> None:
    _need(scale.shape == (rows,), f"weight_scale shape {scale.shape}, expected ({rows},)")
    _need(wdt.contains(w), f"weights do not fit {wdt}")


@dataclass(frozen=True)
class Conv(Op):
    """ONNX ``Conv`` (NCHW) of the real weight ``weight * weight_scale`` plus ``bias``.
    ``pads`` is (top, left, bottom, right), padding with ``pad_value`` (0 in ONNX; another
    value when a constant ``Pad`` was fused into the conv); ``group`` as in ONNX."""

    kernel: Pair
    stride: Pair = (1, 1)
    pads: Pads = (0, 0, 0, 0)
    dilation: Pair = (1, 1)
    group: int = 1
    wdt: QType = FLOAT32
    pad_value: float = 0.0

    weight_names = ("weight", "weight_scale", "bias")
    required_weights = ("weight", "weight_scale")

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(len(x.shape) == 4, f"Conv input {x.name} must be 4-D NCHW, got {x.shape}")
        w = weights["weight"]
        out_ch = w.shape[0]
        _need(w.ndim == 4 and w.shape[2:] == self.kernel, f"weight shape {w.shape}")
        _need(x.shape[1] == w.shape[1] * self.group, f"{x.shape[1]} input channels vs {w.shape}")
        _need(out_ch % self.group == 0, f"group {self.group} does not divide {out_ch}")
        _check_weight_codes(self.wdt, w, weights["weight_scale"], out_ch)
        if "bias" in weights:
            _need(weights["bias"].shape == (out_ch,), "bias must have one entry per channel")
        eff = [(k - 1) * d + 1 for k, d in zip(self.kernel, self.dilation, strict=True)]
        oh = conv_out_dim(x.shape[2], eff[0], self.stride[0], self.pads[0], self.pads[2])
        ow = conv_out_dim(x.shape[3], eff[1], self.stride[1], self.pads[1], self.pads[3])
        _need(oh > 0 and ow > 0, f"kernel {self.kernel} does not fit input {x.shape}")
        return (_float((x.shape[0], out_ch, oh, ow)),)


@dataclass(frozen=True)
class Linear(Op):
    """``y = x @ (weight * weight_scale).T + bias`` for x of shape (N, in); weight (out, in)
    (ONNX ``MatMul``/``Gemm`` store (in, out): the frontend transposes)."""

    wdt: QType = FLOAT32

    weight_names = ("weight", "weight_scale", "bias")
    required_weights = ("weight", "weight_scale")

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        w = weights["weight"]
        _need(len(x.shape) == 2, f"Linear input {x.name} must be (N, features), got {x.shape}")
        _need(w.ndim == 2 and w.shape[1] == x.shape[1], f"weight {w.shape} vs input {x.shape}")
        _check_weight_codes(self.wdt, w, weights["weight_scale"], w.shape[0])
        if "bias" in weights:
            _need(weights["bias"].shape == (w.shape[0],), "bias must have one entry per output")
        return (_float((x.shape[0], w.shape[0])),)


@dataclass(frozen=True)
class BatchNorm(Op):
    """ONNX ``BatchNormalization`` (inference): ``(x - mean) / sqrt(var + eps) * scale + bias``
    over channel axis 1."""

    eps: float = 1e-5

    weight_names = ("scale", "bias", "mean", "var")
    required_weights = weight_names

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(len(x.shape) >= 2, "BatchNorm needs a channel axis")
        for key in self.weight_names:
            _need(weights[key].shape == (x.shape[1],), f"{key} must have {x.shape[1]} entries")
        return (_float(x.shape),)


@dataclass(frozen=True)
class BinaryConst(Op):
    """``x <fn> const`` (or ``const <fn> x`` when ``const_first``), ``fn`` one of Add, Sub,
    Mul, Div, with ONNX broadcasting; the constant may not enlarge the shape."""

    fn: str
    const_first: bool = False

    weight_names = ("const",)
    required_weights = ("const",)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(self.fn in BINARY_FNS, f"unknown binary function {self.fn!r}")
        _fits(weights["const"], x.shape, "constant")
        return (_float(x.shape),)


@dataclass(frozen=True)
class Binary(Op):
    """``a <fn> b`` of two tensors (a residual ``Add``; a ``Mul`` by a per-channel gate of
    shape (N, C, 1, 1)), with ONNX broadcasting that does not enlarge the larger operand."""

    fn: str
    num_inputs = 2

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        a, b = inputs
        _need(self.fn in BINARY_FNS, f"unknown binary function {self.fn!r}")
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            shape = None
        _need(shape in (a.shape, b.shape), f"operand shapes differ: {a.shape} vs {b.shape}")
        assert shape is not None
        return (_float(shape),)


ACTIVATIONS = ("Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid")


@dataclass(frozen=True)
class Activation(Op):
    """A non-decreasing per-element function: ``Sigmoid``, ``Tanh``,
    ``LeakyRelu`` (``x`` or ``alpha * x`` below 0) or ``HardSigmoid``
    (``clip(alpha * x + beta, 0, 1)``), as ONNX defines them."""

    fn: str
    alpha: float = 0.0
    beta: float = 0.0

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        _need(self.fn in ACTIVATIONS, f"unknown activation {self.fn!r}")
        _need(self.fn != "LeakyRelu" or self.alpha >= 0, "LeakyRelu needs alpha >= 0")
        _need(self.fn != "HardSigmoid" or self.alpha > 0, "HardSigmoid needs alpha > 0")
        return (_float(inputs[0].shape),)


@dataclass(frozen=True)
class Clip(Op):
    """``min(max(x, lo), hi)`` (ONNX ``Clip``; Brevitas/PyTorch ``HardTanh``)."""

    lo: float = float("-inf")
    hi: float = float("inf")

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        _need(self.lo <= self.hi, f"Clip bounds {self.lo} > {self.hi}")
        return (_float(inputs[0].shape),)


@dataclass(frozen=True)
class Resize(Op):
    """Nearest-neighbour upsampling of H and W by integer factors:
    ``out[n, c, y, x] = in[n, c, y // factor[0], x // factor[1]]`` (the frontend checks that
    the ONNX ``Resize``/``Upsample`` it reads computes exactly this)."""

    factor: Pair

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(len(x.shape) == 4, f"Resize input {x.name} must be 4-D NCHW")
        _need(min(self.factor) >= 1, f"upsampling factors {self.factor} must be >= 1")
        n, c, h, w = x.shape
        return (_float((n, c, h * self.factor[0], w * self.factor[1])),)


@dataclass(frozen=True)
class Relu(Op):
    """``max(x, 0)``."""

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        return (_float(inputs[0].shape),)


def _pool_shape(x: TensorInfo, kernel: Pair, stride: Pair, pads: Pads) -> Shape:
    _need(len(x.shape) == 4, f"pool input {x.name} must be 4-D NCHW")
    oh = conv_out_dim(x.shape[2], kernel[0], stride[0], pads[0], pads[2])
    ow = conv_out_dim(x.shape[3], kernel[1], stride[1], pads[1], pads[3])
    _need(oh > 0 and ow > 0, f"pool window {kernel} does not fit {x.shape}")
    return (x.shape[0], x.shape[1], oh, ow)


@dataclass(frozen=True)
class MaxPool(Op):
    """ONNX ``MaxPool`` (padding is -inf; ceil mode already turned into extra end pads)."""

    kernel: Pair
    stride: Pair
    pads: Pads = (0, 0, 0, 0)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        return (_float(_pool_shape(inputs[0], self.kernel, self.stride, self.pads)),)


@dataclass(frozen=True)
class AveragePool(Op):
    """ONNX ``AveragePool`` / ``GlobalAveragePool`` (kernel = the whole image)."""

    kernel: Pair
    stride: Pair
    pads: Pads = (0, 0, 0, 0)
    count_include_pad: bool = False

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        return (_float(_pool_shape(inputs[0], self.kernel, self.stride, self.pads)),)


@dataclass(frozen=True)
class Reshape(Op):
    """Row-major reshape keeping the batch: output shape ``(N,) + shape``."""

    shape: tuple[int, ...]

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        size = int(np.prod(x.shape[1:]))
        _need(int(np.prod(self.shape)) == size, f"cannot reshape {x.shape} to (N, {self.shape})")
        return (_float((x.shape[0],) + tuple(self.shape)),)


@dataclass(frozen=True)
class Transpose(Op):
    """ONNX ``Transpose`` with ``perm[0] == 0`` (the batch stays first)."""

    perm: tuple[int, ...]

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(sorted(self.perm) == list(range(len(x.shape))), f"bad perm {self.perm}")
        _need(self.perm[0] == 0, "Transpose may not move the batch axis")
        return (_float(tuple(x.shape[p] for p in self.perm)),)


@dataclass(frozen=True)
class Pad(Op):
    """Constant padding of H and W of an NCHW tensor: pads (top, left, bottom, right)."""

    pads: Pads
    value: float = 0.0

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(len(x.shape) == 4, "Pad supports 4-D NCHW tensors")
        _need(min(self.pads) >= 0, "negative pads (cropping) are not supported")
        n, c, h, w = x.shape
        t, left, b, r = self.pads
        return (_float((n, c, h + t + b, w + left + r)),)


@dataclass(frozen=True)
class Concat(Op):
    """ONNX ``Concat`` along ``axis`` (not the batch)."""

    axis: int
    num_inputs = None

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        _need(len(inputs) >= 1, "Concat needs inputs")
        rank = len(inputs[0].shape)
        _need(0 < self.axis < rank, f"Concat axis {self.axis} out of range 1..{rank - 1}")
        rest = {t.shape[: self.axis] + t.shape[self.axis + 1 :] for t in inputs}
        _need(len(rest) == 1, f"Concat shapes differ off axis {self.axis}")
        total = sum(t.shape[self.axis] for t in inputs)
        shape = inputs[0].shape[: self.axis] + (total,) + inputs[0].shape[self.axis + 1 :]
        return (_float(shape),)


@dataclass(frozen=True)
class Unmapped(Op):
    """Placeholder lowering leaves for a node it could not map to hardware: keeps the
    graph well-formed so ``legalize`` can report every such node at once. Never executed."""

    source_kind: str
    reason: str
    out_shapes: tuple[tuple[int, ...], ...]
    num_inputs = None

    def num_outputs(self) -> int:
        return len(self.out_shapes)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        return tuple(OutSpec(s, FLOAT32, "ANY") for s in self.out_shapes)
