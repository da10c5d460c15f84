"""Constant folding of initializer-only subgraphs, in numpy (float64 for real values).

A ``Const`` is a folded value; when it was produced by a quantizer (``Quant`` or
``BipolarQuant`` of a constant, e.g. a weight quantizer) it also keeps the integer codes,
the scale and zero point, so weights enter the IR as integer codes plus a scale.
Shape arithmetic (``Shape``/``Gather``/``Unsqueeze``/``Concat`` feeding a ``Reshape``)
folds too, using the static shapes of dynamic tensors (batch 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from alveoflow.compiler.ir import nn
from alveoflow.compiler.ir.qtype import BIPOLAR, QType
from alveoflow.compiler.semantics import nn_kernels
from alveoflow.errors import UnsupportedOpError


@dataclass(frozen=True)
class QuantInfo:
    """Integer codes of a quantized constant: value = (codes - zero) * scale. Codes are
    stored in the narrowest numpy integer dtype that holds ``qtype``."""

    codes: np.ndarray
    scale: np.ndarray
    zero: np.ndarray
    qtype: QType


class Const:
    """A folded value (initializers keep their dtype). A quantized constant computes its
    real value only when asked: weights usually need just their codes."""

    def __init__(self, value: np.ndarray | None = None, quant: QuantInfo | None = None) -> None:
        assert value is not None or quant is not None
        self._value = value
        self.quant = quant

    @property
    def value(self) -> np.ndarray:
        if self._value is None:
            q = self.quant
            assert q is not None
            self._value = (q.codes.astype(np.float64) - q.zero) * q.scale
        return self._value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.quant.codes.shape if self._value is None and self.quant else self.value.shape


def int_codes(codes: np.ndarray, qtype: QType) -> np.ndarray:
    """``codes`` in the narrowest integer dtype of ``qtype``."""
    return codes.astype(nn.code_dtype(qtype), copy=False)


def attrs(node: onnx.NodeProto) -> dict[str, Any]:
    """The node's attributes as Python values (strings decoded)."""
    out: dict[str, Any] = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode()
        out[a.name] = value
    return out


def real_array(a: np.ndarray) -> np.ndarray:
    """Floats as float64; integers unchanged."""
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def _quant(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    """Quant of a constant, computed like the float64 reference (``nn_kernels``)."""
    at = attrs(node)
    x, scale, zero = (np.asarray(a.value, dtype=np.float64) for a in args[:3])
    bits = int(args[3].value)
    signed, narrow = bool(at.get("signed", 1)), bool(at.get("narrow", 0))
    if bits == 1 and signed:
        return _bipolar(args[0].value, scale)
    op = nn.Quant(bits, signed, narrow, str(at.get("rounding_mode", "ROUND")).upper())
    w = {"scale": torch.from_numpy(scale), "zero_point": torch.from_numpy(zero)}
    codes = nn_kernels.quantizer_codes(op, torch.from_numpy(x), w).numpy()
    return Const(None, QuantInfo(int_codes(codes, op.qtype()), scale, zero, op.qtype()))


def _bipolar(x: np.ndarray, scale: np.ndarray) -> Const:
    codes = np.where(np.asarray(x) >= 0, np.int8(1), np.int8(-1))
    return Const(None, QuantInfo(codes, np.asarray(scale, np.float64), np.zeros(()), BIPOLAR))


def _bipolar_node(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    return _bipolar(args[0].value, args[1].value)


def _gather(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    axis = int(attrs(node).get("axis", 0))
    return Const(np.take(args[0].value, args[1].value.astype(np.int64), axis=axis))


def _axes(node: onnx.NodeProto, args: Sequence[Const]) -> list[int]:
    if len(args) > 1:
        return [int(a) for a in args[1].value.reshape(-1)]
    return [int(a) for a in attrs(node).get("axes", [])]


def _unsqueeze(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    value = args[0].value
    for axis in sorted(a % (value.ndim + len(_axes(node, args))) for a in _axes(node, args)):
        value = np.expand_dims(value, axis)
    return Const(value)


def _squeeze(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    axes = _axes(node, args)
    value = args[0].value
    return Const(np.squeeze(value, axis=tuple(axes)) if axes else np.squeeze(value))


def _reshape(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    value = args[0].value
    target = [int(d) for d in args[1].value.reshape(-1)]
    target = [value.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return Const(value.reshape(target))


def _slice(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    value = args[0].value
    starts, ends = args[1].value.reshape(-1), args[2].value.reshape(-1)
    axes = args[3].value.reshape(-1) if len(args) > 3 else np.arange(len(starts))
    steps = args[4].value.reshape(-1) if len(args) > 4 else np.ones(len(starts), np.int64)
    index = [slice(None)] * value.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[int(a)] = slice(int(s), int(e), int(st))
    return Const(value[tuple(index)])


def _cast(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    to = helper.tensor_dtype_to_np_dtype(int(attrs(node)["to"]))
    return Const(real_array(args[0].value.astype(to)))


def _constant(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    at = attrs(node)
    if "value" in at:
        return Const(real_array(numpy_helper.to_array(at["value"])))
    for key in ("value_float", "value_int"):
        if key in at:
            return Const(real_array(np.array(at[key])))
    for key in ("value_floats", "value_ints"):
        if key in at:
            return Const(real_array(np.array(list(at[key]))))
    raise UnsupportedOpError(f"Constant node with attributes {sorted(at)}")


def _elementwise(
    fn: Callable[..., np.ndarray],
) -> Callable[[onnx.NodeProto, Sequence[Const]], Const]:
    return lambda node, args: Const(np.asarray(fn(*(a.value for a in args))))


Folder = Callable[[onnx.NodeProto, Sequence[Const]], Const]


def _layout(folder: Folder) -> Folder:
    """A data-movement folder that also moves the codes/scale/zero of a quantized constant."""

    def fold_moved(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
        q = args[0].quant
        if q is None:
            return folder(node, args)
        shape = args[0].shape

        def move(a: np.ndarray) -> np.ndarray:
            if a.size == 1:
                return a
            return folder(node, [Const(np.broadcast_to(a, shape)), *args[1:]]).value

        info = QuantInfo(move(q.codes), move(q.scale), move(q.zero), q.qtype)
        return Const(None, info)

    return fold_moved


FOLDERS: dict[str, Folder] = {
    "Quant": _quant,
    "BipolarQuant": _bipolar_node,
    "Constant": _constant,
    "Identity": lambda node, args: args[0],
    "Gather": _gather,
    "Unsqueeze": _layout(_unsqueeze),
    "Squeeze": _layout(_squeeze),
    "Reshape": _layout(_reshape),
    "Flatten": _layout(
        lambda node, args: Const(
            args[0].value.reshape(
                int(np.prod(args[0].value.shape[: int(attrs(node).get("axis", 1))])), -1
            )
        )
    ),
    "Transpose": _layout(
        lambda node, args: Const(np.transpose(args[0].value, attrs(node).get("perm") or None))
    ),
    "Concat": lambda node, args: Const(
        np.concatenate([a.value for a in args], axis=int(attrs(node)["axis"]))
    ),
    "Slice": _slice,
    "Cast": _cast,
    "Add": _elementwise(np.add),
    "Sub": _elementwise(np.subtract),
    "Mul": _elementwise(np.multiply),
    "Div": _elementwise(lambda a, b: a // b if a.dtype.kind == b.dtype.kind == "i" else a / b),
    "Neg": _elementwise(np.negative),
    "Sqrt": _elementwise(np.sqrt),
    "Pow": _elementwise(np.power),
    "Floor": _elementwise(np.floor),
    "Ceil": _elementwise(np.ceil),
    "ConstantOfShape": lambda node, args: Const(
        np.full(
            [int(d) for d in args[0].value],
            numpy_helper.to_array(attrs(node)["value"]).reshape(-1)[0]
            if "value" in attrs(node)
            else 0.0,
        )
    ),
}


def transposed(c: Const, perm: Sequence[int]) -> Const:
    """``c`` transposed by ``perm`` (codes, scale and zero point too, for a quantized one)."""
    node = helper.make_node("Transpose", ["c"], ["t"], perm=list(perm))
    return FOLDERS["Transpose"](node, [c])


def fold(node: onnx.NodeProto, args: Sequence[Const]) -> Const:
    """Evaluate ``node`` on constant ``args``; ``UnsupportedOpError`` when we cannot."""
    folder = FOLDERS.get(node.op_type)
    if folder is None:
        raise UnsupportedOpError(f"cannot fold a constant {node.op_type} node")
    try:
        return folder(node, args)
    except (ValueError, IndexError, KeyError, TypeError) as err:
        raise UnsupportedOpError(f"cannot fold constant {node.op_type}: {err}") from None


def shape_const(shape: Sequence[int]) -> Const:
    """``Shape`` of a dynamic tensor: its static shape (batch 1)."""
    return Const(np.array(list(shape), dtype=np.int64))
