"""``$readmemh`` files of the RTL library, packed from the same data as the HLS headers.

Word layouts (docs/rtl.md, and each module's header comment):

- ``mvau_weights(w, wdt, pe, simd)``: NF*SF lines of PE*SIMD*WB bits; line ``nf*SF + sf`` is
  the concatenation over PE rows of the HLS words ``weights[pe][nf*SF + sf]``
  (``alveoflow.compiler.codegen.pack.mvau_words``), PE 0 at the LSB.
- ``vvau_weights(w, wdt, pe, simd)``: CF*KF lines, likewise from ``pack.vvau_words``.
- ``threshold_rows(t, pe, tb)``: R/PE lines of PE*NT*TB bits; line ``nf`` holds rows
  ``nf*PE + p`` (``pack.interleave_rows``), threshold ``j`` of PE ``p`` at lane ``p*NT + j``,
  two's complement.
- ``bias_rows(b, pe, bb)``: R/PE lines of PE*BB bits, bias of row ``nf*PE + p`` at lane ``p``.

``text(words, bits)`` writes any (depth, nw) uint32 array as memh text.
"""

from __future__ import annotations

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.ir import QType
from alveoflow.hw.rtl import words as W


def text(words: np.ndarray, bits: int) -> str:
    """memh text: one hexadecimal word per line, word 0 first."""
    return "\n".join(W.hex_lines(words, bits)) + "\n"


def _signed_codes(values: np.ndarray, bits: int) -> np.ndarray:
    v = np.asarray(values).astype(np.int64)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"values outside {bits}-bit two's complement")
    return (v & ((1 << bits) - 1)).astype(np.uint64)


def mvau_weights(w: np.ndarray, wdt: QType, pe: int, simd: int) -> str:
    mh, mw = w.shape
    nf, sf = mh // pe, mw // simd
    codes = pack.weight_codes(w, wdt).reshape(nf, pe, sf, simd)  # row nf*PE + pe
    lines = codes.transpose(0, 2, 1, 3).reshape(nf * sf, pe * simd)  # [nf*SF + sf][pe, i]
    return text(W.pack(lines, wdt.bits), pe * simd * wdt.bits)


def vvau_weights(w: np.ndarray, wdt: QType, pe: int, simd: int) -> str:
    ch, kk = w.shape
    cf, kf = ch // pe, kk // simd
    codes = pack.weight_codes(w, wdt).reshape(cf, pe, kf, simd)  # channel cf*PE + pe
    lines = codes.transpose(0, 2, 1, 3).reshape(cf * kf, pe * simd)
    return text(W.pack(lines, wdt.bits), pe * simd * wdt.bits)


def threshold_rows(t: np.ndarray, pe: int, tb: int) -> str:
    rows = pack.interleave_rows(t, pe)  # (PE, R/PE, NT)
    npe, nf, nt = rows.shape
    lines = rows.transpose(1, 0, 2).reshape(nf, npe * nt)
    return text(W.pack(_signed_codes(lines, tb), tb), npe * nt * tb)


def bias_rows(b: np.ndarray, pe: int, bb: int) -> str:
    rows = pack.interleave_rows(np.asarray(b).reshape(-1), pe)  # (PE, R/PE)
    lines = rows.T
    return text(W.pack(_signed_codes(lines, bb), bb), lines.shape[1] * bb)
