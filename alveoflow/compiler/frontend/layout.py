"""Converters of the data-movement ops: Reshape/Flatten, Transpose, Pad, Concat, Identity,
nearest Resize/Upsample, and the wrapper for qonnx's channels-last form of an op
(``channels_last``). See ``convert`` for the converter contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from alveoflow.compiler.frontend.consts import Const, attrs, transposed
from alveoflow.compiler.frontend.convert import (
    Alias,
    Converted,
    Scope,
    Steps,
    f64,
    fail,
    need_const,
)
from alveoflow.compiler.ir import TensorInfo, nn


def _reshape_to(scope: Scope, x: str, target: list[int]) -> Converted:
    shape = scope.info(x).shape
    try:
        full = (
            np.empty(shape, dtype=np.int8)
            .reshape([shape[i] if d == 0 else d for i, d in enumerate(target)])
            .shape
        )
    except ValueError as err:
        raise fail(f"cannot reshape {shape} to {target}: {err}") from None
    if full[0] != shape[0]:
        raise fail(f"reshape {shape} -> {full} moves the batch dimension")
    if tuple(full) == tuple(shape):
        return Alias(x)
    return nn.Reshape(tuple(int(d) for d in full[1:])), [x], {}


def reshape(scope: Scope, node: onnx.NodeProto) -> Converted:
    target = need_const(scope, node.input[1], "Reshape target shape").value
    return _reshape_to(scope, node.input[0], [int(d) for d in np.asarray(target).reshape(-1)])


def flatten(scope: Scope, node: onnx.NodeProto) -> Converted:
    axis = int(attrs(node).get("axis", 1))
    if axis != 1:
        raise fail(f"Flatten with axis={axis} (only axis=1 keeps the batch)")
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
        raise fail(f"Pad mode {at.get('mode')!r} (only 'constant' is supported)")
    if len(node.input) > 1 and node.input[1]:
        pads = [int(p) for p in need_const(scope, node.input[1], "Pad pads").value.reshape(-1)]
    else:
        pads = [int(p) for p in at.get("pads", [])]
    value = 0.0
    if len(node.input) > 2 and node.input[2]:
        value = float(f64(need_const(scope, node.input[2], "Pad value")).reshape(-1)[0])
    if len(node.input) > 3 and node.input[3]:
        raise fail("Pad with explicit axes is not supported")
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise fail(f"Pad {pads}: only H/W padding of a 4-D tensor is supported")
    return nn.Pad((pads[2], pads[3], pads[6], pads[7]), value), [node.input[0]], {}


def concat(scope: Scope, node: onnx.NodeProto) -> Converted:
    rank = len(scope.info(node.input[0]).shape)
    axis = int(attrs(node)["axis"]) % rank
    if any(scope.const(t) is not None for t in node.input):
        raise fail("Concat with a constant operand is not supported")
    return nn.Concat(axis), list(node.input), {}


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
        raise fail(f"Resize coordinate_transformation_mode {mode!r} is not supported")
    nearest = str(at.get("nearest_mode", "round_prefer_floor"))
    if nearest not in _NEAREST:
        raise fail(f"Resize nearest_mode {nearest!r} is not supported")
    return np.clip(_NEAREST[nearest](pos), 0, size - 1).astype(np.int64)


def _resize_factors(scope: Scope, node: onnx.NodeProto, shape: tuple[int, ...]) -> list[float]:
    """Per-axis scales of a Resize (opset 10: scales; 11+: roi, scales, sizes) or Upsample."""
    names = list(node.input[1:])
    if node.op_type == "Resize" and len(names) >= 2:
        names = names[1:]  # skip roi
    scales = names[0] if names and names[0] else ""
    sizes = names[1] if len(names) > 1 and names[1] else ""
    if scales and need_const(scope, scales, "Resize scales").value.size:
        return [float(v) for v in f64(need_const(scope, scales, "Resize scales")).reshape(-1)]
    if sizes:
        out = need_const(scope, sizes, "Resize sizes").value.reshape(-1)
        return [float(o) / s for o, s in zip(out, shape, strict=True)]
    raise fail("Resize needs constant scales or sizes")


def resize(scope: Scope, node: onnx.NodeProto) -> Converted:
    at = attrs(node)
    mode = str(at.get("mode", "nearest"))
    if mode != "nearest":
        raise fail(f"Resize mode {mode!r}: only nearest-neighbour upsampling is supported")
    shape = scope.info(node.input[0]).shape
    factors = _resize_factors(scope, node, shape)
    if len(shape) != 4 or len(factors) != 4 or factors[0] != 1 or factors[1] != 1:
        raise fail(f"Resize with scales {factors} (only H and W of a 4-D tensor)")
    ints = tuple(int(round(f)) for f in factors[2:])
    if any(f != i or i < 1 for f, i in zip(factors[2:], ints, strict=True)):
        raise fail(f"Resize by {factors[2:]}: only integer upsampling factors are supported")
    for axis, f in zip((2, 3), ints, strict=True):
        got = _source_index(shape[axis] * f, shape[axis], float(f), at)
        if not np.array_equal(got, np.arange(shape[axis] * f) // f):
            raise fail(
                "this Resize does not repeat each pixel (coordinate_transformation_mode "
                f"{at.get('coordinate_transformation_mode')!r}); use mode 'nearest' with "
                "'asymmetric' coordinates and nearest_mode 'floor', as PyTorch exports it"
            )
    return nn.Resize((ints[0], ints[1])), [node.input[0]], {}


def identity(scope: Scope, node: onnx.NodeProto) -> Converted:
    return Alias(node.input[0])


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
            raise fail(f"channels-last {node.op_type} with several inputs is not supported")
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
