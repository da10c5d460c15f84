"""C++ spelling of IR things: identifiers, element types, accumulator and threshold widths.

- ``ident(name)``: a C identifier from a node/tensor/IP name (``layer1.0.conv2`` ->
  ``layer1_0_conv2``); ``Namer`` adds a prefix and keeps names unique within one scope.
- ``ctype(qtype)``: the library's element type (``ap_uint<B>``, ``ap_int<B>``,
  ``alveo::bipolar``); ``storage_ctype`` the byte-multiple type the host stores it in.
- ``signed_bits(lo, hi)``: the width of the smallest two's-complement type holding [lo, hi].
"""

from __future__ import annotations

from alveoflow.compiler.ir import QType
from alveoflow.compiler.physical.design import ident
from alveoflow.errors import GraphError

__all__ = ["Namer", "ctype", "ident", "signed_bits", "storage_bits", "storage_ctype"]


class Namer:
    """Unique, sanitised, prefixed identifiers within one scope (deterministic)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.used: set[str] = set()

    def __call__(self, name: str) -> str:
        base = self.prefix + ident(name)
        out, i = base, 1
        while out in self.used:
            i += 1
            out = f"{base}_{i}"
        self.used.add(out)
        return out


def ctype(q: QType) -> str:
    """The HLS library's element type for codes of ``q``."""
    if q.is_float:
        raise GraphError("float tensors have no hardware element type")
    if q.bipolar:
        return "alveo::bipolar"
    return f"ap_{'int' if q.signed else 'uint'}<{q.bits}>"


def storage_bits(q: QType) -> int:
    """Bits of the host storage element (numpy dtype) of codes of ``q``: 8, 16, 32 or 64."""
    if q.bipolar:
        return 8
    for bits in (8, 16, 32, 64):
        if q.bits <= bits:
            return bits
    raise GraphError(f"no storage type for {q}")


def storage_ctype(q: QType) -> str:
    signed = q.signed or q.bipolar
    return f"ap_{'int' if signed else 'uint'}<{storage_bits(q)}>"


def signed_bits(lo: int, hi: int) -> int:
    """Width of the smallest signed type holding every integer in [lo, hi]."""
    neg = int(-lo - 1).bit_length() if lo < 0 else 0
    return max(neg, int(max(hi, 0)).bit_length()) + 1


def value_range(q: QType) -> tuple[int, int]:
    return int(q.min), int(q.max)
