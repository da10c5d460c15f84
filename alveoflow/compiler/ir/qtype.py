"""Quantized element types.

A ``QType`` describes the integer codes carried by a tensor after streamlining: ``bits`` wide,
two's-complement ``signed`` or unsigned, or ``bipolar`` (1 bit: code 1 means +1, code 0 means
-1; the *value* of a bipolar element is -1 or +1, and that value is what arrays hold).
``FLOAT32`` (``QType.float32()``) marks tensors that are still real-valued (only before
streamlining, and at the host boundary).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from alveoflow.errors import GraphError

_NAME = re.compile(r"^(UINT|INT)(\d+)$")


@dataclass(frozen=True, order=True)
class QType:
    """An integer element type: bits, signedness, bipolar; or float32 when ``bits == 0``."""

    bits: int
    signed: bool = False
    bipolar: bool = False

    def __post_init__(self) -> None:
        if self.bits < 0 or self.bits > 64:
            raise GraphError(f"QType bit width must be 0..64, got {self.bits}")
        if self.bipolar and (self.bits != 1 or self.signed):
            raise GraphError("a bipolar QType is 1 bit and not 'signed'")

    @staticmethod
    def float32() -> QType:
        return QType(0)

    @staticmethod
    def uint(bits: int) -> QType:
        return QType(bits, signed=False)

    @staticmethod
    def sint(bits: int) -> QType:
        return QType(bits, signed=True)

    @staticmethod
    def bipolar_type() -> QType:
        return QType(1, bipolar=True)

    @property
    def is_float(self) -> bool:
        return self.bits == 0

    @property
    def min(self) -> int:
        """Smallest value (not code) of the type."""
        self._require_int()
        if self.bipolar:
            return -1
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        """Largest value of the type."""
        self._require_int()
        if self.bipolar:
            return 1
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def name(self) -> str:
        if self.is_float:
            return "FLOAT32"
        if self.bipolar:
            return "BIPOLAR"
        return f"{'INT' if self.signed else 'UINT'}{self.bits}"

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def parse(name: str) -> QType:
        """Inverse of ``name``: 'UINT2', 'INT8', 'BIPOLAR', 'FLOAT32'."""
        if name == "FLOAT32":
            return QType.float32()
        if name == "BIPOLAR":
            return QType.bipolar_type()
        m = _NAME.match(name)
        if not m:
            raise GraphError(f"unknown QType name {name!r}")
        return QType(int(m.group(2)), signed=m.group(1) == "INT")

    def contains(self, values: np.ndarray) -> bool:
        """True when every element of ``values`` is a legal value of this type."""
        if self.is_float:
            return True
        arr = np.asarray(values)
        if arr.size == 0:
            return True
        if self.bipolar:
            return bool(np.all((arr == -1) | (arr == 1)))
        if arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
            return False
        return bool(arr.min() >= self.min and arr.max() <= self.max)

    def storage_bits(self) -> int:
        """Bits one element occupies on a stream or in a memory word."""
        return 32 if self.is_float else self.bits

    def _require_int(self) -> None:
        if self.is_float:
            raise GraphError("FLOAT32 has no integer range")


def smallest_qtype(lo: int, hi: int) -> QType:
    """The narrowest QType holding every integer in [lo, hi] (unsigned when lo >= 0)."""
    if lo > hi:
        raise GraphError(f"empty range [{lo}, {hi}]")
    if lo >= 0:
        return QType.uint(max(1, int(hi).bit_length()))
    bits = max(int(-lo - 1).bit_length(), int(max(hi, 0)).bit_length()) + 1
    return QType.sint(bits)


FLOAT32 = QType.float32()
BIPOLAR = QType.bipolar_type()
