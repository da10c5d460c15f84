"""Host data <-> the words of the network top's AXI-Stream ports (pure numpy).

- ``input_words(x, mem_w)``: frames in card storage format (N, ...) -> the DMA's ``mem_w``-bit
  memory words of each frame's bytes (byte i at bits [8i, 8i+8)), tlast (bit ``mem_w``) on
  each frame's last word;
- ``fc_words(weights, lanes, frames)``: the FC's int8 weights (classes, features) -> one
  word of ``lanes`` weights per FC step (row by row, ``lanes`` columns at a time), repeated
  for every frame;
- ``output_frames(words, end)``: 33-bit words of an output port -> (N, ...) frames of its
  storage dtype, checking that tlast closes exactly every frame;
- ``stream_words`` / ``stream_values``: a tensor <-> the words of a design stream (lanes per
  word, MMV slices side by side), for simulating one IP alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alveoflow.compiler.ir import QType
from alveoflow.errors import DeviceError
from alveoflow.hw.rtl import words as W


def storage_dtype(qtype: str, storage_bits: int) -> np.dtype:
    """The numpy dtype a card tensor is stored in (as the cppsim backend reads it)."""
    if qtype == "UINT32" and storage_bits == 32:
        return np.dtype(np.uint32)
    signed = qtype.startswith("INT") or qtype == "BIPOLAR"
    return np.dtype(f"{'int' if signed else 'uint'}{storage_bits}")


def _with_last(words: np.ndarray, data_bits: int, per_frame: int) -> np.ndarray:
    """Set bit ``data_bits`` (tlast) on every ``per_frame``-th word."""
    out = words.copy()
    out[per_frame - 1 :: per_frame, data_bits // 32] |= np.uint32(1 << (data_bits % 32))
    return out


def input_words(x: np.ndarray, mem_w: int) -> np.ndarray:
    frames = x.shape[0]
    raw = np.ascontiguousarray(x).view(np.uint8).reshape(frames, -1)
    per_frame = raw.shape[1] * 8 // mem_w
    if per_frame * mem_w != raw.shape[1] * 8:
        raise DeviceError(f"a frame of {raw.shape[1]} bytes is not whole {mem_w}-bit words")
    data = W.pack(raw.reshape(-1, mem_w // 8), 8, mem_w + 1)
    return _with_last(data, mem_w, per_frame)


def fc_words(weights: np.ndarray, lanes: int, frames: int) -> np.ndarray:
    raw = np.ascontiguousarray(weights.astype(np.int8)).view(np.uint8).reshape(-1, lanes)
    return np.tile(W.pack(raw, 8), (frames, 1))


def output_frames(words: np.ndarray, end: dict[str, Any], frames: int) -> np.ndarray:
    per_frame = int(end["frame_bytes"]) // 4
    last = words[:, 1] & 1
    want = np.zeros(frames * per_frame, dtype=np.uint32)
    want[per_frame - 1 :: per_frame] = 1
    if len(words) != len(want) or not np.array_equal(last, want):
        raise DeviceError(
            f"output {end['tensor']}: tlast does not close every frame of {per_frame} words "
            "(the network top and its DMA disagree; regenerate the build)"
        )
    data = np.ascontiguousarray(words[:, 0]).astype("<u4")
    dtype = storage_dtype(end["qtype"], int(end["storage_bits"]))
    return data.view(np.uint8).view(dtype).reshape(frames, *end["shape"][1:])


def stream_words(values: np.ndarray, qtype: QType, lanes: int, slices: int = 1) -> np.ndarray:
    """The words of a stream carrying ``values`` (NHWC or (N, C)): ``lanes`` elements per word
    in tensor order; with ``slices`` > 1 (an MMV stream) ``slices`` consecutive pixels side
    by side, ``lanes / slices`` elements of each per word."""
    codes = W.to_codes(values, qtype)
    if slices > 1:
        per = lanes // slices
        vec = codes.shape[-1]
        groups = codes.reshape(-1, slices, vec // per, per).transpose(0, 2, 1, 3)
        codes = groups.reshape(-1, lanes)
    return W.pack(codes.reshape(-1, lanes), qtype.bits)


def stream_values(
    words: np.ndarray, qtype: QType, lanes: int, shape: tuple[int, ...], slices: int = 1
) -> np.ndarray:
    """The inverse of ``stream_words``: values of ``shape``."""
    codes = W.unpack(words, qtype.bits, lanes)
    if slices > 1:
        per, vec = lanes // slices, shape[-1]
        codes = codes.reshape(-1, vec // per, slices, per).transpose(0, 2, 1, 3)
    return W.from_codes(codes.reshape(shape), qtype)
