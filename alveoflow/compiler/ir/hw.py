"""Hardware operators: what the card computes, on integer codes, in NHWC streams.

Every op here is defined exactly by the bit-exact reference executor
(``alveoflow.compiler.semantics``); the HLS library (``alveoflow/hw/hls/include``) implements
the same semantics. Streams carry elements in (n, h, w, c) order, c innermost.

Folding fields (``pe``, ``simd``, ``mmv``) default to 1 (fully folded) and are set by
``compiler.folding``; they change speed and cost, never the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.ir.core import Op, OutSpec, TensorInfo
from alveoflow.compiler.ir.qtype import QType
from alveoflow.errors import GraphError

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # top, left, bottom, right


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise GraphError(msg)


def _check_in(info: TensorInfo, last: int, qtype: QType, what: str = "input") -> None:
    _need(
        info.shape[-1] == last, f"{what} {info.name} has last dim {info.shape[-1]}, expected {last}"
    )
    _need(info.qtype == qtype, f"{what} {info.name} is {info.qtype}, expected {qtype}")


def _check_image(info: TensorInfo, channels: int, qtype: QType) -> None:
    """An NHWC image input of ``channels`` channels of ``qtype`` (the window ops)."""
    _need(len(info.shape) == 4, f"input {info.name} must be NHWC, got shape {info.shape}")
    _check_in(info, channels, qtype)


def _check_thresholds(
    weights: Mapping[str, np.ndarray], rows: int, odt: QType, offset: int
) -> None:
    t = weights.get("thresholds")
    if t is None:
        return
    _need(t.ndim == 2 and t.shape[0] == rows, f"thresholds shape {t.shape}, expected ({rows}, n)")
    _need(bool(np.all(np.diff(t, axis=1) >= 0)), "thresholds must be sorted ascending per row")
    _need(
        odt.contains(np.array([offset, offset + t.shape[1]])),
        f"outputs {offset}..{offset + t.shape[1]} do not fit {odt}",
    )


def conv_out_dim(size: int, kernel: int, stride: int, pad_a: int, pad_b: int) -> int:
    return (size + pad_a + pad_b - kernel) // stride + 1


@dataclass(frozen=True)
class MVAU(Op):
    """Matrix-vector-activation unit. For each input vector x (last axis, length ``mw``):
    ``acc[r] = sum_c weights[r, c] * x[c]``; with ``thresholds`` (mh, n), sorted per row:
    ``out[r] = #{j: thresholds[r, j] <= acc[r]} + out_offset``; without: ``out[r] = acc[r] +
    bias[r]`` (bias optional). Weights are values of ``wdt`` (bipolar: -1/+1), shape (mh, mw).
    For a convolution ``mw = kh*kw*c`` in (ky, kx, c) order, after a ``SlidingWindow``.
    ``external_weights`` marks weights streamed from card memory (the final FC)."""

    mw: int
    mh: int
    wdt: QType
    idt: QType
    odt: QType
    pe: int = 1
    simd: int = 1
    mmv: int = 1
    out_offset: int = 0
    external_weights: bool = False

    weight_names = ("weights", "thresholds", "bias")
    required_weights = ("weights",)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_in(x, self.mw, self.idt)
        w = weights["weights"]
        _need(w.shape == (self.mh, self.mw), f"weights shape {w.shape} != {(self.mh, self.mw)}")
        _need(self.wdt.contains(w), f"weights do not fit {self.wdt}")
        _need("thresholds" not in weights or "bias" not in weights, "thresholds and bias exclude")
        _check_thresholds(weights, self.mh, self.odt, self.out_offset)
        if "bias" in weights:
            _need(weights["bias"].shape == (self.mh,), "bias must have shape (mh,)")
        _check_folding(self.mh, self.pe, self.mw, self.simd)
        return (OutSpec(x.shape[:-1] + (self.mh,), self.odt, x.layout),)


@dataclass(frozen=True)
class VVAU(Op):
    """Depthwise (vector-vector) unit after a ``SlidingWindow`` of k = kh*kw elements:
    ``acc[c] = sum_i weights[c, i] * x[i*channels + c]``; thresholds/bias as ``MVAU``."""

    channels: int
    kernel_elems: int
    wdt: QType
    idt: QType
    odt: QType
    pe: int = 1
    simd: int = 1
    out_offset: int = 0

    weight_names = ("weights", "thresholds", "bias")
    required_weights = ("weights",)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_in(x, self.channels * self.kernel_elems, self.idt)
        w = weights["weights"]
        _need(w.shape == (self.channels, self.kernel_elems), f"weights shape {w.shape}")
        _need(self.wdt.contains(w), f"weights do not fit {self.wdt}")
        _check_thresholds(weights, self.channels, self.odt, self.out_offset)
        _check_folding(self.channels, self.pe, self.kernel_elems, self.simd)
        return (OutSpec(x.shape[:-1] + (self.channels,), self.odt, x.layout),)


@dataclass(frozen=True)
class Thresholding(Op):
    """Per-channel multi-threshold: ``out[c] = #{j: thresholds[c, j] <= x[c]} + out_offset``."""

    channels: int
    idt: QType
    odt: QType
    pe: int = 1
    out_offset: int = 0

    weight_names = ("thresholds",)
    required_weights = ("thresholds",)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_in(x, self.channels, self.idt)
        _check_thresholds(weights, self.channels, self.odt, self.out_offset)
        _check_folding(self.channels, self.pe)
        return (OutSpec(x.shape, self.odt, x.layout),)


@dataclass(frozen=True)
class SlidingWindow(Op):
    """Convolution input generator over an NHWC image: for each output pixel the
    kh*kw*c window in (ky, kx, c) order; out-of-image positions of channel c read
    ``pad_values[c]`` (one entry: the same for every channel). Per-channel pad values let a
    pixel-input first layer pad with the (integer) mean pixel, i.e. zero after normalisation.
    A 1x1 window with stride 2 is the down-sampler of a strided 1x1 conv."""

    channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    pads: Pads = (0, 0, 0, 0)
    pad_values: tuple[int, ...] = (0,)
    dt: QType = QType(2)
    simd: int = 1

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_image(x, self.channels, self.dt)
        _need(len(self.pad_values) in (1, self.channels), "pad_values: 1 or one per channel")
        _need(
            self.dt.contains(np.array(self.pad_values)), f"pad {self.pad_values} not in {self.dt}"
        )
        oh, ow = _window_out(x.shape[1:3], self.kernel, self.stride, self.pads)
        _check_folding(self.channels, 1, self.channels, self.simd)
        k = self.kernel[0] * self.kernel[1]
        return (OutSpec((x.shape[0], oh, ow, k * self.channels), self.dt, "NHWC"),)


@dataclass(frozen=True)
class StreamingMaxPool(Op):
    """Max over kh x kw windows with stride; padded positions never win."""

    channels: int
    kernel: Pair
    stride: Pair
    pads: Pads = (0, 0, 0, 0)
    dt: QType = QType(2)
    pe: int = 1

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_image(x, self.channels, self.dt)
        oh, ow = _window_out(x.shape[1:3], self.kernel, self.stride, self.pads)
        _check_folding(self.channels, self.pe)
        return (OutSpec((x.shape[0], oh, ow, self.channels), self.dt, "NHWC"),)


@dataclass(frozen=True)
class SumPool(Op):
    """Sum (no division) over kh x kw windows with stride; a global pool has kernel = (H, W).
    The 1/N of an average pool is folded into what follows."""

    channels: int
    kernel: Pair
    stride: Pair
    idt: QType
    odt: QType
    pe: int = 1

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_image(x, self.channels, self.idt)
        n = self.kernel[0] * self.kernel[1]
        _need(
            self.odt.contains(np.array([self.idt.min * n, self.idt.max * n])),
            f"sum of {n} {self.idt} values does not fit {self.odt}",
        )
        oh, ow = _window_out(x.shape[1:3], self.kernel, self.stride, (0, 0, 0, 0))
        _check_folding(self.channels, self.pe)
        return (OutSpec((x.shape[0], oh, ow, self.channels), self.odt, "NHWC"),)


@dataclass(frozen=True)
class AddStreams(Op):
    """Element-wise ``out = clamp(a + b + offset, odt.min, odt.max)`` (saturating add)."""

    channels: int
    idt_a: QType
    idt_b: QType
    odt: QType
    offset: int = 0
    pe: int = 1
    num_inputs = 2

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        a, b = inputs
        _check_in(a, self.channels, self.idt_a, "input a")
        _check_in(b, self.channels, self.idt_b, "input b")
        _need(a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}")
        _check_folding(self.channels, self.pe)
        return (OutSpec(a.shape, self.odt, a.layout),)


@dataclass(frozen=True)
class DuplicateStreams(Op):
    """Copies one stream to ``copies`` identical outputs (fan-out in hardware)."""

    channels: int
    dt: QType
    copies: int = 2
    pe: int = 1

    def num_outputs(self) -> int:
        return self.copies

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_in(x, self.channels, self.dt)
        _need(self.copies >= 2, "DuplicateStreams needs at least 2 copies")
        return tuple(OutSpec(x.shape, x.qtype, x.layout) for _ in range(self.copies))


@dataclass(frozen=True)
class ConcatStreams(Op):
    """Channel concatenation of two image (or (N, C)) streams: for every pixel, the
    ``channels[0]`` elements of input 0, then the ``channels[1]`` of input 1. Values are
    unchanged; ``odt`` holds both input types (``idts``). (More inputs: a chain of these.)"""

    channels: tuple[int, int]
    idts: tuple[QType, QType]
    odt: QType
    pe: int = 1
    num_inputs = 2

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        _need(len(self.channels) == len(self.idts) == 2, "one channels/idt per input")
        _check_folding(self.channels[0], self.pe)
        _check_folding(self.channels[1], self.pe)
        for k, (x, ch, dt) in enumerate(zip(inputs, self.channels, self.idts, strict=True)):
            _check_in(x, ch, dt, f"input {k}")
            _need(x.shape[:-1] == inputs[0].shape[:-1], f"input {k}: shape {x.shape}")
            _need(self.odt.contains(np.array([dt.min, dt.max])), f"{dt} does not fit {self.odt}")
        shape = inputs[0].shape[:-1] + (sum(self.channels),)
        return (OutSpec(shape, self.odt, inputs[0].layout),)


@dataclass(frozen=True)
class Upsample(Op):
    """Nearest-neighbour upsampling of an NHWC image by integer factors:
    ``out[n, y, x, c] = in[n, y // factor[0], x // factor[1], c]``. Each input row is read
    once and its pixels are written ``factor[1]`` times, the row ``factor[0]`` times."""

    channels: int
    factor: Pair
    dt: QType
    pe: int = 1

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_image(x, self.channels, self.dt)
        _need(min(self.factor) >= 1, f"factors {self.factor} must be >= 1")
        _check_folding(self.channels, self.pe)
        n, h, w, c = x.shape
        return (OutSpec((n, h * self.factor[0], w * self.factor[1], c), self.dt, "NHWC"),)


@dataclass(frozen=True)
class ChannelMul(Op):
    """Per-image, per-channel scaling of an image stream (squeeze-and-excitation):
    ``out[n, h, w, c] = x[n, h, w, c] * g[n, c]``. Input 0 is the NHWC image ``x`` (``idt``),
    input 1 the gate ``g`` of shape (N, C) (``gdt``); the gate of an image is read before
    its pixels. ``odt`` holds every product."""

    channels: int
    idt: QType
    gdt: QType
    odt: QType
    pe: int = 1
    num_inputs = 2

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        x, g = inputs
        _check_image(x, self.channels, self.idt)
        _need(len(g.shape) == 2, f"gate {g.name} must be (N, C), got {g.shape}")
        _check_in(g, self.channels, self.gdt, "gate")
        corners = np.array(
            [a * b for a in (self.idt.min, self.idt.max) for b in (self.gdt.min, self.gdt.max)]
        )
        _need(
            self.odt.contains(corners),
            f"products of {self.idt} and {self.gdt} do not fit {self.odt}",
        )
        _check_folding(self.channels, self.pe)
        return (OutSpec(x.shape, self.odt, "NHWC"),)


@dataclass(frozen=True)
class ScaleStream(Op):
    """Per-channel integer gain: ``out[c] = x[c] * factors[c]`` (``factors``, shape (C,),
    positive integers; ``odt`` holds every product). Puts one operand of an add on the
    other's scale (see ``passes.lower.addmix``)."""

    channels: int
    idt: QType
    odt: QType
    pe: int = 1

    weight_names = ("factors",)
    required_weights = ("factors",)

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _check_in(x, self.channels, self.idt)
        f = weights["factors"]
        _need(f.shape == (self.channels,), f"factors shape {f.shape}, expected ({self.channels},)")
        _need(bool(np.all(f >= 1)), "factors must be positive integers")
        ends = np.array([self.idt.min, self.idt.max])[:, None] * f[None, :]
        _need(self.odt.contains(ends), f"{self.idt} times the factors does not fit {self.odt}")
        _check_folding(self.channels, self.pe)
        return (OutSpec(x.shape, self.odt, x.layout),)


@dataclass(frozen=True)
class LabelSelect(Op):
    """Top-k: the indices of the k largest of ``labels`` scores, best first; ties go to the
    lower index. Output (N, k) of UINT32."""

    labels: int
    k: int
    idt: QType

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(len(x.shape) == 2, f"LabelSelect takes (N, labels), got {x.shape}")
        _check_in(x, self.labels, self.idt)
        _need(1 <= self.k <= self.labels, f"k={self.k} out of range 1..{self.labels}")
        return (OutSpec((x.shape[0], self.k), QType.uint(32), "NC"),)


@dataclass(frozen=True)
class Flatten(Op):
    """Reshape (N, 1, 1, C) NHWC -> (N, C): free in a stream (no data movement)."""

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        size = int(np.prod(x.shape[1:]))
        _need(
            len(x.shape) == 2 or x.shape[1:-1] == (1,) * (len(x.shape) - 2),
            f"Flatten of {x.shape} would reorder data in the stream",
        )
        return (OutSpec((x.shape[0], size), x.qtype, "NC"),)


# -- host boundary ops --------------------------------------------------------------------


HOST_ROUNDING = (
    "ROUND",
    "HALF_EVEN",
    "CEIL",
    "FLOOR",
    "UP",
    "DOWN",
    "HALF_UP",
    "HALF_DOWN",
    "SIGN",
)
HOST_STEPS = ("reshape", "transpose", "Add", "Sub", "Mul", "Div", "rSub", "rDiv")
HostStep = tuple[str, tuple[float, ...]]
GRID_TOL = 1e-3  # see grid_tolerance


@dataclass(frozen=True)
class QuantizeInput(Op):
    """Host side: the model's float input (its own shape, NCHW or (N, F)) -> integer codes,
    NHWC (or (N, F)). In order:

    1. ``steps``: float ops of the model between its input and the quantizer, in float64:
       ``("reshape", shape without batch)``, ``("transpose", perm)``, or an arithmetic step
       ``(fn, constants)`` with ``fn`` one of Add, Sub, Mul, Div (``x fn c``) or rSub, rDiv
       (``c fn x``) and ``constants`` one value or one per channel (axis 1).
    2. ``y = float32(float32(x / scale[c]) + zero_point)`` (the quantizer's own arithmetic,
       ``nn_kernels.scaled_input``); ``scale`` one entry per channel or a single one.
    3. ``code = clamp(rounding(y), lo, hi)`` with ``code_range`` (lo, hi) (default: the range
       of ``odt``) and a QONNX rounding mode; ``SIGN`` (a bipolar quantizer, values -1/+1)
       gives ``y >= 0 ? 1 : 0``, the hw code of +1 and -1.
    4. ``on_grid``: the input must lie on the grid (a declared ``--input-quant``): an input
       whose ``x / scale + zero_point`` (float64) is more than ``grid_tolerance`` from the
       value of its code (``code``, or ``2 * code - 1`` for ``SIGN``) is an error.
    5. 4-D results are written NHWC."""

    scale: tuple[float, ...]
    zero_point: float
    odt: QType
    steps: tuple[HostStep, ...] = ()
    rounding: str = "ROUND"
    code_range: tuple[int, int] | None = None
    on_grid: bool = False
    on_host = True

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(x.qtype.is_float, f"QuantizeInput takes a float tensor, got {x.qtype}")
        _need(self.rounding in HOST_ROUNDING, f"unknown rounding {self.rounding!r}")
        shape = x.shape
        for kind, arg in self.steps:
            _need(kind in HOST_STEPS, f"unknown host step {kind!r}")
            if kind == "reshape":
                _need(int(np.prod(arg)) == int(np.prod(shape[1:])), f"reshape {shape} -> {arg}")
                shape = (shape[0],) + tuple(int(d) for d in arg)
            elif kind == "transpose":
                _need(sorted(arg) == list(range(len(shape))) and arg[0] == 0, f"perm {arg}")
                shape = tuple(shape[int(p)] for p in arg)
            else:
                _need(len(arg) in (1, shape[1] if len(shape) > 1 else 1), f"{kind} constants")
        _need(len(self.scale) in (1, shape[1] if len(shape) > 1 else 1), "one scale per channel")
        lo, hi = self.codes()
        _need(self.odt.contains(np.array([lo, hi])), f"code range {lo}..{hi} not in {self.odt}")
        _need(len(shape) in (2, 4), f"quantized input must be 2-D or 4-D, got {shape}")
        return (OutSpec(_to_nhwc(shape), self.odt, "NHWC" if len(shape) == 4 else "NC"),)

    def codes(self) -> tuple[int, int]:
        """(lo, hi) of the hw codes."""
        if self.code_range is not None:
            return self.code_range
        return self.odt.min, self.odt.max


def grid_tolerance(y: np.ndarray) -> np.ndarray:
    """How far ``x / scale + zero_point`` may lie from a code and still be on the grid:
    ``GRID_TOL``, widened by float32 resolution for large codes (users compute inputs in
    float32)."""
    return GRID_TOL + np.abs(y) * 2.0**-22


@dataclass(frozen=True)
class PixelInput(Op):
    """Host side: uint8 pixels given NHWC pass through unchanged (the first layer's
    thresholds hold the normalisation)."""

    on_host = True

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(x.qtype == QType.uint(8) and x.layout == "NHWC", "PixelInput takes UINT8 NHWC")
        return (OutSpec(x.shape, x.qtype, "NHWC"),)


@dataclass(frozen=True)
class DequantizeOutput(Op):
    """Host side: integer codes (N, C) -> float32 ``scale[c] * code + shift[c]`` (per channel,
    or single entries broadcast), computed in float64 and rounded to float32."""

    scale: tuple[float, ...]
    shift: tuple[float, ...]
    on_host = True

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(not x.qtype.is_float, "DequantizeOutput takes integer codes")
        return (OutSpec(x.shape, QType.float32(), x.layout),)


def _to_nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) == 4:
        n, c, h, w = shape
        return (n, h, w, c)
    return shape


def _window_out(hw: tuple[int, ...], kernel: Pair, stride: Pair, pads: Pads) -> Pair:
    oh = conv_out_dim(hw[0], kernel[0], stride[0], pads[0], pads[2])
    ow = conv_out_dim(hw[1], kernel[1], stride[1], pads[1], pads[3])
    _need(oh > 0 and ow > 0, f"window {kernel}/{stride} does not fit image {hw} with pads {pads}")
    return oh, ow


def _check_folding(rows: int, pe: int, cols: int = 1, simd: int = 1) -> None:
    _need(pe >= 1 and rows % pe == 0, f"PE={pe} must divide {rows}")
    _need(simd >= 1 and cols % simd == 0, f"SIMD={simd} must divide {cols}")
