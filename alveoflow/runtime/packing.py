"""Host stages around the card, as pure functions over numpy arrays.

A compiled graph is ``host prefix -> card part -> host suffix``:

- prefix: ``QuantizeInput`` (float NCHW/NC -> integer codes NHWC/NC) or ``PixelInput``
  (uint8 NHWC pixels, passed through), or nothing (the graph input is already card codes);
- card part: every op with ``on_host == False`` (this is what a backend runs);
- suffix: ``DequantizeOutput`` (integer logits codes -> float32). ``LabelSelect`` (top-k) runs
  on the card.

``compiler.boundary.host_plan(graph)`` splits a graph that way (re-exported here). The stage
functions (``quantize_input``, ``pack_input``,
``unpack_outputs``, ``dequantize``, ``topk_indices``) never keep state; each has the exact
semantics of the corresponding reference op, so host + card == the whole-graph reference.

Card arrays hold integer codes in a *storage dtype* (``storage_dtype``): the narrowest numpy
integer type of the code's width and signedness (top-k indices: uint32).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from alveoflow.compiler.boundary import (  # noqa: F401  (re-exported for the runtime)
    INPUT_KINDS,
    HostPlan,
    InputStage,
    OutputStage,
    host_plan,
    storage_dtype,
)
from alveoflow.compiler.semantics.host import OffGridError, quantize_host  # noqa: F401
from alveoflow.errors import ConfigError

# -- stages ---------------------------------------------------------------------------------


CHUNK = 64  # images quantised at a time (bounds the float64 temporaries)


def quantize_input(
    x: np.ndarray, stage: InputStage, out: np.ndarray | None = None, round_input: bool = False
) -> np.ndarray:
    """The model's float input (its own shape) -> card codes (NHWC / (N, F)) in the card
    dtype, exactly as the graph's ``QuantizeInput`` (``compiler.semantics.host``): host
    steps, the quantizer's float32 scaling, its rounding and range. An input off a declared
    grid raises ``OffGridError`` unless ``round_input``. Works ``CHUNK`` images at a time;
    writes into ``out`` (e.g. a card buffer view) when given."""
    n = x.shape[0]
    if out is None:
        out = np.empty((n, *stage.card.shape[1:]), dtype=stage.card_dtype)
    for first in range(0, n, CHUNK):
        part = quantize_host(x[first : first + CHUNK], stage.quantizer, round_input)
        out[first : first + CHUNK] = part
    return out


def pack_input(
    x: np.ndarray, stage: InputStage, out: np.ndarray | None = None, round_input: bool = False
) -> np.ndarray:
    """The user's input (already checked by the caller) -> the card's input array.

    Quantises float input (``round_input``: round input off a declared grid instead of
    raising); pixels and codes are copied into ``out`` (or returned as a C-contiguous array
    of the card dtype)."""
    if stage.kind == "quantize":
        return quantize_input(x, stage, out, round_input)
    if out is None:
        return np.ascontiguousarray(x, dtype=stage.card_dtype)
    np.copyto(out, x, casting="same_kind")
    return out


def dequantize(codes: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``float32(scale[c] * code + shift[c])`` computed in float64, as ``DequantizeOutput``."""
    return (codes.astype(np.float64) * scale + shift).astype(np.float32)


def unpack_outputs(card_outputs: Mapping[str, np.ndarray], plan: HostPlan) -> dict[str, np.ndarray]:
    """Card outputs (by card tensor name) -> graph outputs (by graph output name).

    Logits are dequantised to float32, top-k indices become int64, other codes are copied."""
    result: dict[str, np.ndarray] = {}
    for stage in plan.outputs:
        codes = card_outputs[stage.card.name]
        if stage.kind == "logits":
            result[stage.name] = dequantize(codes, stage.scale, stage.shift)
        elif stage.kind == "topk":
            result[stage.name] = codes.astype(np.int64)
        else:
            result[stage.name] = np.array(codes, copy=True)
    return result


def topk_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) int64 of the k largest scores per row, best first; ties go to the
    lower index (the ``LabelSelect`` rule). Uses a partial sort, exact with ties."""
    n, classes = scores.shape
    if scores.dtype.kind in "iub":  # negate safely (unsigned, INT_MIN)
        scores = scores.astype(np.int64)
    if not 1 <= k <= classes:
        raise ConfigError(f"k must be in 1..{classes}, got {k}")
    if k == classes:
        return np.argsort(-scores, axis=1, kind="stable").astype(np.int64)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
    above = (scores > kth).sum(axis=1)
    tied = (scores == kth).sum(axis=1)
    exact = above + tied == k  # no ambiguity about which tied entries make the cut
    out = np.empty((n, k), dtype=np.int64)
    if exact.any():
        cand = np.sort(part[exact], axis=1)  # by index, so the stable sort keeps ties in order
        vals = np.take_along_axis(scores[exact], cand, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        out[exact] = np.take_along_axis(cand, order, axis=1)
    if not exact.all():
        rows = ~exact
        out[rows] = np.argsort(-scores[rows], axis=1, kind="stable")[:, :k]
    return out
