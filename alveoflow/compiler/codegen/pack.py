"""Weight and threshold packing into the HLS library's memory layouts (docs/weight_layouts.md).

Pure numpy functions; every result is deterministic for the same arrays.

- ``weight_codes(w, wdt)``: values -> unsigned bit codes (bipolar: 1 = +1, 0 = -1; signed:
  two's complement in ``wdt.bits``).
- ``mvau_words(w, wdt, pe, simd)``: (MH, MW) -> hex words ``[PE][NF*SF]``: row ``nf*PE+pe``,
  columns ``sf*SIMD + i`` at bits ``[i*B, (i+1)*B)`` (lane 0 at the LSB).
- ``vvau_words(w, wdt, pe, simd)``: (C, K*K) -> ``[PE][CF*KF]``, channel ``cf*PE+pe``, kernel
  positions ``kf*SIMD + s`` at lane ``s``.
- ``interleave_rows(t, pe)``: (R, ...) -> ``[PE][R/PE, ...]`` (row ``nf*PE + pe``), the layout
  of thresholds and biases.
- ``clamp_thresholds(t, lo, hi)``: thresholds outside the input range [lo, hi] replaced by
  ``lo`` / ``hi + 1``; the count ``#{t <= x}`` is unchanged for every x in range.
- ``rom_hex`` / ``rom_int``: the ``AF_ROM_HEX`` / ``AF_ROM_INT`` text of a packed array.
- ``fc_int8``, ``fc_csv``, ``npy_bytes``: the external FC weights file formats.
"""

from __future__ import annotations

import io

import numpy as np

from alveoflow.compiler.ir import QType
from alveoflow.errors import GraphError

WORDS_PER_LINE = 8
INTS_PER_LINE = 24


def weight_codes(w: np.ndarray, wdt: QType) -> np.ndarray:
    """Integer weight values -> unsigned codes (uint64) of ``wdt.bits`` bits."""
    v = np.asarray(w).astype(np.int64)
    if wdt.bipolar:
        return (v > 0).astype(np.uint64)
    return (v & ((1 << wdt.bits) - 1)).astype(np.uint64)


def hex_words(codes: np.ndarray, bits: int) -> np.ndarray:
    """(..., LANES) codes of ``bits`` bits -> (...) array of '0x..' strings, lane 0 at the LSB."""
    lanes = codes.shape[-1]
    lead = codes.shape[:-1]
    flat = codes.reshape(-1, lanes)
    bitmat = ((flat[:, :, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(
        np.uint8
    )
    bitmat = bitmat.reshape(flat.shape[0], lanes * bits)
    nbytes = (lanes * bits + 7) // 8
    packed = np.packbits(bitmat, axis=1, bitorder="little")  # (n, nbytes), byte 0 = LSBs
    packed = np.ascontiguousarray(packed[:, ::-1])  # most significant byte first
    text = packed.tobytes().hex()
    step = 2 * nbytes
    words = ['"0x' + text[i * step : (i + 1) * step] + '"' for i in range(flat.shape[0])]
    return np.array(words, dtype=object).reshape(lead)


def mvau_words(w: np.ndarray, wdt: QType, pe: int, simd: int) -> np.ndarray:
    mh, mw = w.shape
    nf, sf = mh // pe, mw // simd
    codes = weight_codes(w, wdt).reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3)
    return hex_words(np.ascontiguousarray(codes).reshape(pe, nf * sf, simd), wdt.bits)


def vvau_words(w: np.ndarray, wdt: QType, pe: int, simd: int) -> np.ndarray:
    ch, kk = w.shape
    cf, kf = ch // pe, kk // simd
    codes = weight_codes(w, wdt).reshape(cf, pe, kf, simd).transpose(1, 0, 2, 3)
    return hex_words(np.ascontiguousarray(codes).reshape(pe, cf * kf, simd), wdt.bits)


def interleave_rows(t: np.ndarray, pe: int) -> np.ndarray:
    """(R, ...) -> (PE, R/PE, ...): entry [pe][nf] is row nf*PE + pe."""
    arr = np.asarray(t).astype(np.int64)
    rows = arr.shape[0]
    rest = arr.shape[1:]
    return np.ascontiguousarray(arr.reshape(rows // pe, pe, *rest).swapaxes(0, 1))


def clamp_thresholds(t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    arr = np.asarray(t)
    if arr.dtype.kind == "f":
        # float thresholds of integer inputs: t <= x  <=>  ceil(t) <= x
        arr = np.ceil(np.clip(arr, lo - 1, hi + 1))
    return np.clip(arr.astype(np.int64) if arr.dtype.kind != "f" else arr, lo, hi + 1).astype(
        np.int64
    )


def _nested(items: np.ndarray, per_line: int, indent: str = "    ") -> str:
    """C initializer text with braces at every level but the outermost."""
    if items.ndim == 1:
        flat = [str(x) for x in items.tolist()]
        lines = [", ".join(flat[i : i + per_line]) for i in range(0, max(len(flat), 1), per_line)]
        return ("{" if len(lines) == 1 else "{\n" + indent) + (",\n" + indent).join(lines) + "}"
    return "{" + ",\n".join(_nested(sub, per_line, indent) for sub in items) + "}"


def _dims(shape: tuple[int, ...]) -> str:
    return "".join(f"[{d}]" for d in shape)


def _body(arr: np.ndarray, per_line: int) -> str:
    if arr.ndim > 1:
        return ",\n".join(_nested(sub, per_line) for sub in arr)
    return _nested(arr, per_line)[1:-1]


def rom_hex(name: str, word_type: str, words: np.ndarray, comment: str) -> str:
    """``AF_ROM_HEX`` text of an array of '0x..' word strings."""
    return (
        f"// {comment}\n"
        f"AF_ROM_HEX({name}, {word_type}, {_dims(words.shape)},\n"
        f"{_body(words, WORDS_PER_LINE)})\n"
    )


def rom_int(name: str, elem_type: str, values: np.ndarray, comment: str) -> str:
    """``AF_ROM_INT`` text of an integer array (values must fit 64-bit signed)."""
    v = np.asarray(values).astype(np.int64)
    return (
        f"// {comment}\n"
        f"AF_ROM_INT({name}, {elem_type}, {_dims(v.shape)},\n{_body(v, INTS_PER_LINE)})\n"
    )


def fc_int8(w: np.ndarray) -> np.ndarray:
    """The external FC weights as a C-contiguous int8 (MH, MW) array (row-major)."""
    arr = np.asarray(w)
    if arr.size and (arr.min() < -128 or arr.max() > 127):
        raise GraphError("external FC weights must fit int8")
    return np.ascontiguousarray(arr.astype(np.int8))


def fc_csv(w8: np.ndarray) -> str:
    """The reference's CSV layout: every value row-major on one line, comma-separated, with a
    trailing comma (the reference host reads it with ``np.genfromtxt(f, delimiter=',')[:-1]``)."""
    return ",".join(map(str, w8.reshape(-1).tolist())) + ",\n"


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()
