"""Stream words as the harness and the ``$readmemh`` files hold them (pure numpy).

A word of ``lanes`` elements of ``bits`` bits has element ``i`` at bits ``[i*bits,
(i+1)*bits)`` (lane 0 at the LSB, as in the HLS library). In memory a word is ``ceil(W/32)``
little-endian ``uint32`` (low 32 bits first), ``W`` the stream's word width, unused high bits 0.

- ``kind(qtype)``: the RTL element kind (0 unsigned, 1 signed, 2 bipolar).
- ``to_codes`` / ``from_codes``: element values <-> unsigned codes (two's complement for
  signed types; bipolar: 1 = +1, 0 = -1).
- ``pack(codes, bits, word_bits)`` / ``unpack(words, bits, lanes)``: (n, lanes) codes <->
  (n, nw) uint32 words.
"""

from __future__ import annotations

import numpy as np

from alveoflow.compiler.ir import QType
from alveoflow.errors import ConfigError

UNSIGNED, SIGNED, BIPOLAR = 0, 1, 2


def kind(qtype: QType) -> int:
    if qtype.is_float:
        raise ConfigError("an RTL stream carries integer codes, not FLOAT32")
    return BIPOLAR if qtype.bipolar else (SIGNED if qtype.signed else UNSIGNED)


def to_codes(values: np.ndarray, qtype: QType) -> np.ndarray:
    """Values of ``qtype`` -> unsigned codes (uint64) of ``qtype.bits`` bits."""
    v = np.asarray(values).astype(np.int64)
    if not qtype.contains(v):
        raise ConfigError(f"values outside {qtype} cannot be put on a stream")
    if qtype.bipolar:
        return (v > 0).astype(np.uint64)
    return (v & ((1 << qtype.bits) - 1)).astype(np.uint64)


def from_codes(codes: np.ndarray, qtype: QType) -> np.ndarray:
    """Unsigned codes -> values (int64) of ``qtype``."""
    c = np.asarray(codes).astype(np.int64) & ((1 << qtype.bits) - 1)
    if qtype.bipolar:
        return 2 * c - 1
    if qtype.signed:
        return np.where(c >= 1 << (qtype.bits - 1), c - (1 << qtype.bits), c)
    return c


def nwords(word_bits: int) -> int:
    return (word_bits + 31) // 32


def pack(codes: np.ndarray, bits: int, word_bits: int | None = None) -> np.ndarray:
    """(n, lanes) codes of ``bits`` bits -> (n, nw) uint32 words."""
    c = np.asarray(codes, dtype=np.uint64)
    if c.ndim == 1:
        c = c[:, None]
    n, lanes = c.shape
    width = lanes * bits if word_bits is None else word_bits
    if width < lanes * bits:
        raise ConfigError(f"{lanes} lanes of {bits} bits do not fit a {width}-bit word")
    nw = nwords(width)
    shifts = np.arange(bits, dtype=np.uint64)
    bitmat = ((c[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(n, lanes * bits)
    full = np.zeros((n, nw * 32), dtype=np.uint8)
    full[:, : lanes * bits] = bitmat
    packed = np.packbits(full, axis=1, bitorder="little")  # (n, nw*4) bytes, LSB byte first
    return np.ascontiguousarray(packed).view("<u4").reshape(n, nw).astype(np.uint32)


def unpack(words: np.ndarray, bits: int, lanes: int) -> np.ndarray:
    """(n, nw) uint32 words -> (n, lanes) codes (uint64) of ``bits`` bits."""
    w = np.ascontiguousarray(np.asarray(words, dtype="<u4"))
    if w.ndim == 1:
        w = w[:, None]
    n = w.shape[0]
    allbits = np.unpackbits(w.view(np.uint8).reshape(n, -1), axis=1, bitorder="little")
    if allbits.shape[1] < lanes * bits:
        raise ConfigError(f"words of {allbits.shape[1]} bits hold no {lanes} x {bits} bits")
    lane_bits = allbits[:, : lanes * bits].reshape(n, lanes, bits).astype(np.uint64)
    weights = np.left_shift(np.uint64(1), np.arange(bits, dtype=np.uint64))
    return (lane_bits * weights).sum(axis=2, dtype=np.uint64)


def hex_lines(words: np.ndarray, word_bits: int) -> list[str]:
    """Each (nw,) uint32 word as ``ceil(word_bits/4)`` hex digits, most significant first."""
    digits = (word_bits + 3) // 4
    w = np.asarray(words, dtype=np.uint32)
    out = []
    for row in w.reshape(w.shape[0], -1):
        value = 0
        for i, part in enumerate(row.tolist()):
            value |= int(part) << (32 * i)
        out.append(f"{value:0{digits}x}")
    return out
