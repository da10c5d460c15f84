"""Code-for-code comparison of a build against the float64 QONNX graph, and rounding ties.

Both graphs are IR graphs (the runtime never reads ONNX): ``source`` is the frontend's graph
of ``nn`` ops (the model in float64), ``lowered`` the build's hardware graph, whose
``meta["quant_map"]`` names, for every quantizer of the source that survives, the hardware
tensor holding its codes (and how the layouts differ).

- ``quantizer_ties(source, values)``: for every quantizer (``Quant``, ``BipolarQuant``,
  ``Trunc``) of the source, a mask of the elements whose float64 input lands on a rounding
  boundary of its rounding mode (``x / scale + zero`` within ``TIE_TOLERANCE`` of k + 0.5
  for round-to-nearest modes, of an integer for ceil/floor/trunc, of 0 for a sign), inside
  the code range. Such an element's code depends on the last bit of float arithmetic, so a
  different but equally valid evaluation order may give the neighbouring code.
- ``compare_codes(source, lowered, x)``: runs both graphs on the model's input ``x`` and
  returns a ``CodeComparison``: per quantizer (in graph order) how many codes differ and how
  many of those sit on a tie, per frame the first tensor where it differs and whether that
  first difference is explained by ties (later differences of that frame follow from it),
  and both graphs' logits.
- ``tie_fraction``: the share of quantizer outputs on ties; a calibrated model has almost
  none (values are continuous), a model whose scales were never calibrated (fresh
  BatchNorm, default scales) lands many values exactly on boundaries. ``UNCALIBRATED``
  is the share above which ``looks_uncalibrated`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from alveoflow.compiler.ir import Graph, nn
from alveoflow.compiler.semantics import nn_kernels, run_graph
from alveoflow.errors import ConfigError


class CalibrationWarning(UserWarning):
    """The model's scales look uncalibrated (many quantizer outputs on rounding ties)."""


TIE_TOLERANCE = 2.0**-18  # relative: a few float32 roundings of x / scale + zero
UNCALIBRATED = 1e-3  # share of quantizer outputs on a tie above which scales look uncalibrated
_NEAREST = ("ROUND", "HALF_EVEN", "HALF_UP", "HALF_DOWN")
QUANTIZERS = (nn.Quant, nn.BipolarQuant, nn.Trunc)


def _weights(node: Any) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.array(v)) for k, v in node.weights.items()}


def _near(y: np.ndarray, offset: float) -> np.ndarray:
    """|y - (k + offset)| small for some integer k (relative tolerance)."""
    shifted = y - offset
    dist = np.abs(shifted - np.rint(shifted))
    return dist <= TIE_TOLERANCE * np.maximum(1.0, np.abs(y))


def _tie_mask(node: Any, x: np.ndarray) -> np.ndarray:
    op, w = node.op, _weights(node)
    if isinstance(op, nn.BipolarQuant):
        scale = np.abs(w["scale"].numpy().astype(np.float64))
        return np.abs(x / scale) <= TIE_TOLERANCE
    y = x / w["scale"].numpy().astype(np.float64) + w["zero_point"].numpy().astype(np.float64)
    if isinstance(op, nn.Trunc):
        return _near(y, 0.5)  # the inner round; dividing by 2^k and flooring is exact
    lo, hi = op.code_range()
    inside = (
        (y >= lo - 0.5) & (y <= hi + 0.5)
        if op.rounding_mode in _NEAREST
        else ((y >= lo - 1) & (y <= hi + 1))
    )
    boundary = 0.5 if op.rounding_mode in _NEAREST else 0.0
    return _near(y, boundary) & inside


def quantizer_ties(source: Graph, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Quantizer output name -> tie mask (its shape), from a run with intermediates."""
    ties = {}
    for node in source.nodes:
        if isinstance(node.op, QUANTIZERS) and node.inputs[0] in values:
            x = np.asarray(values[node.inputs[0]], dtype=np.float64)
            mask = _tie_mask(node, x)
            ties[node.output.name] = np.broadcast_to(mask, np.shape(values[node.output.name]))
    return ties


def tie_fraction(ties: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """(elements on a tie, elements) over every quantizer output."""
    return sum(int(m.sum()) for m in ties.values()), sum(int(m.size) for m in ties.values())


def looks_uncalibrated(on_tie: int, total: int) -> bool:
    return total > 0 and on_tie / total > UNCALIBRATED


def count_ties(source: Graph, x: np.ndarray) -> tuple[int, int]:
    """(elements on a tie, quantizer elements) of the float64 graph on the input ``x``."""
    values = run_graph(source, {source.inputs[0].name: x}, keep_intermediates=True)
    return tie_fraction(quantizer_ties(source, values))


# -- comparing a build with the float64 graph -------------------------------------------------


@dataclass
class TensorDiff:
    """One quantizer: its codes in the build against the float64 graph's."""

    name: str  # the quantizer (source graph name)
    hw_tensor: str
    elements: int = 0
    differ: int = 0
    on_tie: int = 0  # differing codes whose float64 value sits on a rounding tie
    ties: int = 0  # codes on a tie, differing or not
    first_index: list[int] | None = None


@dataclass
class CodeComparison:
    tensors: list[TensorDiff]
    frames: int = 0
    exact_frames: int = 0
    tie_frames: int = 0  # frames whose first difference lies on ties only
    real_frames: list[int] = field(default_factory=list)  # frames with a real difference
    first_tensor: str | None = None  # the first quantizer (graph order) with a difference
    ref_logits: list[np.ndarray] = field(default_factory=list)
    hw_logits: list[np.ndarray] = field(default_factory=list)

    @property
    def mismatch(self) -> bool:
        return bool(self.real_frames)

    def merge(self, other: CodeComparison) -> None:
        """Add a later batch (frame indices of ``other`` continue this one's)."""
        for mine, theirs in zip(self.tensors, other.tensors, strict=True):
            mine.elements += theirs.elements
            mine.differ += theirs.differ
            mine.on_tie += theirs.on_tie
            mine.ties += theirs.ties
            if mine.first_index is None and theirs.first_index is not None:
                mine.first_index = [theirs.first_index[0] + self.frames, *theirs.first_index[1:]]
        self.real_frames += [f + self.frames for f in other.real_frames]
        self.exact_frames += other.exact_frames
        self.tie_frames += other.tie_frames
        self.frames += other.frames
        self.ref_logits += other.ref_logits
        self.hw_logits += other.hw_logits
        order = [t.name for t in self.tensors if t.differ]
        self.first_tensor = order[0] if order else None


def _hw_layout(arr: np.ndarray, entry: Mapping[str, Any], hw_shape: tuple[int, ...]) -> np.ndarray:
    """A source tensor (NCHW, transposed by ``entry["perm"]``, or a flattened NCHW image) laid
    out like the hardware stream (NHWC)."""
    if "perm" in entry:
        arr = arr.transpose(tuple(int(i) for i in np.argsort(entry["perm"])))
    if arr.ndim == 4:
        return arr.transpose(0, 2, 3, 1)
    if arr.ndim == 2 and len(hw_shape) == 4:
        n, h, w, c = (arr.shape[0], *hw_shape[1:])
        return arr.reshape(n, c, h, w).transpose(0, 2, 3, 1)
    return arr


def source_codes(source: Graph, values: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """Integer codes of quantizer output ``name`` in the float64 run (from its values)."""
    node = source.producer(name)
    assert node is not None
    zero, scale = (t.numpy() for t in nn_kernels.quantizer_head(node.op, _weights(node)))
    return np.rint(np.asarray(values[name], dtype=np.float64) / scale + zero)


def lowered_feed(lowered: Graph, x: np.ndarray) -> np.ndarray:
    """The model's input ``x`` as the lowered graph's input takes it."""
    if lowered.meta.get("input_kind") == "pixels":
        return np.rint(x).astype(np.uint8).transpose(0, 2, 3, 1)
    return x


def quant_map(source: Graph, lowered: Graph) -> dict[str, Mapping[str, Any]]:
    """The build's quantizer map, checked against the source (a model that is not the one the
    build was compiled from is refused here)."""
    qmap = lowered.meta.get("quant_map")
    if not isinstance(qmap, Mapping) or not qmap:
        raise ConfigError("the build records no quantizer map (recompile it with this alveoflow)")
    missing = [name for name in qmap if name not in source.tensors]
    if missing:
        raise ConfigError(
            f"the model is not the one this build was compiled from: it has no quantizer "
            f"{', '.join(sorted(missing)[:3])}"
        )
    order = {t: i for i, n in enumerate(source.nodes) for t in (o.name for o in n.outputs)}
    return {name: qmap[name] for name in sorted(qmap, key=lambda n: order.get(n, 0))}


def compare_codes(source: Graph, lowered: Graph, x: np.ndarray) -> CodeComparison:
    """Run both graphs on ``x`` (what the model takes) and compare (module docstring)."""
    qmap = quant_map(source, lowered)
    ref = run_graph(source, {source.inputs[0].name: x}, keep_intermediates=True)
    got = run_graph(
        lowered, {lowered.inputs[0].name: lowered_feed(lowered, x)}, keep_intermediates=True
    )
    ties = quantizer_ties(source, ref)
    n = x.shape[0]
    result = CodeComparison([], frames=n)
    masks = []
    for name, entry in qmap.items():
        hw = np.asarray(got[entry["tensor"]])
        want = source_codes(source, ref, name)
        tie = ties.get(name, np.zeros(want.shape, bool))
        if entry.get("codes") == "bipolar":
            want = (want + 1) / 2
        want, tie = _hw_layout(want, entry, hw.shape), _hw_layout(tie, entry, hw.shape)
        record, diff = diff_tensor(name, str(entry["tensor"]), want, hw, tie)
        result.tensors.append(record)
        masks.append((name, diff, tie))
    out = source.outputs[0]
    result.ref_logits.append(np.asarray(ref[out]))
    result.hw_logits.append(np.asarray(got[out] if out in got else got[lowered.outputs[0]]))
    _classify(result, first_differences(masks, n), n)
    return result


def diff_tensor(
    name: str, hw_tensor: str, want: np.ndarray, hw: np.ndarray, tie: np.ndarray
) -> tuple[TensorDiff, np.ndarray]:
    """One quantizer's codes compared (same layout): the record and the difference mask."""
    diff = want != hw
    record = TensorDiff(name, hw_tensor, int(diff.size), int(diff.sum()))
    record.on_tie, record.ties = int((diff & tie).sum()), int(tie.sum())
    if record.differ:
        record.first_index = [int(i) for i in np.argwhere(diff)[0]]
    return record, diff


def first_differences(
    masks: list[tuple[str, np.ndarray, np.ndarray]], n: int
) -> dict[int, tuple[str, bool]]:
    """Frame -> (the first quantizer, in the given order, where it differs; whether every
    difference there sits on a tie). Frames that never differ are absent."""
    first: dict[int, tuple[str, bool]] = {}
    for name, diff, tie in masks:
        for frame in range(n):
            if frame not in first and diff[frame].any():
                first[frame] = (name, bool(np.all(tie[frame][diff[frame]])))
    return first


def _classify(result: CodeComparison, first: dict[int, tuple[str, bool]], n: int) -> None:
    for frame in range(n):
        if frame not in first:
            result.exact_frames += 1
        elif first[frame][1]:
            result.tie_frames += 1
        else:
            result.real_frames.append(frame)
    order = [t.name for t in result.tensors if t.differ]
    result.first_tensor = order[0] if order else None
