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


@dataclass(frozen=True)
class QuantizeInput(Op):
    """Host side: float NCHW (or NC) input -> integer codes, NHWC (or NC).
    ``code = clamp(round_half_even(x / scale[c] + zero_point), odt.min, odt.max)`` computed in
    float32, the same way Brevitas/QONNX ``Quant`` does. ``scale`` has one entry per channel
    or a single entry."""

    scale: tuple[float, ...]
    zero_point: float
    odt: QType
    on_host = True

    def infer(
        self, inputs: Sequence[TensorInfo], weights: Mapping[str, np.ndarray]
    ) -> tuple[OutSpec, ...]:
        (x,) = inputs
        _need(x.qtype.is_float, f"QuantizeInput takes a float tensor, got {x.qtype}")
        return (OutSpec(_to_nhwc(x.shape), self.odt, "NHWC" if len(x.shape) == 4 else "NC"),)


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
