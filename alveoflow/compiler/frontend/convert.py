"""What every ONNX -> IR converter shares: the ``Scope`` it reads constants and tensor infos
from, its result types (``(op, inputs, weights)``, ``Alias``, ``Steps``) and small helpers.

A converter gets the ``Scope`` and the ONNX node and returns ``(op, dynamic inputs,
weights)``, ``Alias(tensor)`` for ops that vanish (``Identity``, a ``Flatten`` of an already
flat tensor) or ``Steps`` for a node that becomes a chain of ops. It raises
``UnsupportedOpError`` with a reason the reader attaches to the node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import onnx

from alveoflow.compiler.frontend.consts import Const
from alveoflow.compiler.ir import TensorInfo
from alveoflow.compiler.ir.core import Op
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


def fail(msg: str) -> UnsupportedOpError:
    return UnsupportedOpError(msg)


def need_const(scope: Scope, name: str, what: str) -> Const:
    c = scope.const(name) if name else None
    if c is None:
        raise fail(f"{what} must be a constant (initializer), not a computed tensor")
    return c


def f64(c: Const) -> np.ndarray:
    return np.asarray(c.value, dtype=np.float64)


def dynamic(scope: Scope, node: onnx.NodeProto) -> list[str]:
    return [t for t in node.input if t and scope.const(t) is None]
