"""The graph outputs: logits + top-k (the input is ``inputs``).

Outputs (2-D, one row of class scores per image)
- The final FC runs raw (no thresholds) with ``external_weights=True``; its real output is
  ``m * acc + c``. When ``c / m`` is an exact integer it becomes the MVAU's integer bias,
  otherwise it stays a float shift of ``DequantizeOutput``.
- ``LabelSelect`` (top-k, k = 5 or the number of classes) is added when ordering the
  integer codes orders the logits (one positive scale, one shift for every class).
"""

from __future__ import annotations

import numpy as np

from alveoflow.compiler.ir import TensorInfo, hw, smallest_qtype
from alveoflow.compiler.passes.lower.requant import affine_codes
from alveoflow.compiler.passes.lower.state import Lowering, Value
from alveoflow.compiler.passes.streamline.chain import FoldError

TOPK = 5
BIAS_TOL = 1e-6  # relative: the exported bias scale is a float32 product


def _uniform(values: np.ndarray) -> tuple[float, ...]:
    if np.all(values == values[0]):
        return (float(values[0]),)
    return tuple(float(v) for v in values)


def finish_output(ctx: Lowering, name: str, index: int) -> None:
    """Emit the dequantization (and top-k for the first output) of graph output ``name``."""
    value = ctx.value(name)
    if len(ctx.source.tensor(name).shape) != 2 or value.flat_from is not None:
        raise FoldError(f"graph output {name} must be 2-D (N, classes)")
    pending = value.source.pending
    lin = value.chain.linear()
    tensor: TensorInfo | None
    if pending is not None and pending.kind == "mvau" and lin is not None:
        m, c = lin
        tensor, shift = _raw_fc(ctx, value, m, c)
    else:
        value, m, c = affine_codes(ctx, value, name)
        tensor, shift = value.source.tensor, c
    assert tensor is not None
    suffix = f"_{index}" if index else ""
    deq = hw.DequantizeOutput(scale=_uniform(m), shift=_uniform(shift))
    ctx.emit(ctx.unique(f"dequant{suffix}"), deq, [tensor], outputs=[name])
    ctx.outputs.append(name)
    labels = tensor.shape[-1]
    if index == 0 and _order_preserving(m, shift):
        top = hw.LabelSelect(labels=labels, k=min(TOPK, labels), idt=tensor.qtype)
        ctx.emit(ctx.unique("topk"), top, [tensor])
        ctx.outputs.append("topk")
        ctx.meta["num_classes"] = labels
    elif index == 0:
        ctx.meta["topk"] = "absent: class scores have different scales or shifts"


def _order_preserving(m: np.ndarray, shift: np.ndarray) -> bool:
    """Sorting integer codes sorts the logits (up to ties of equal codes): one positive
    scale, and shifts that differ by less than a quarter step."""
    if not (np.all(m == m[0]) and m[0] > 0):
        return False
    return bool(np.ptp(shift) < 0.25 * m[0])


def _raw_fc(
    ctx: Lowering, value: Value, m: np.ndarray, c: np.ndarray
) -> tuple[TensorInfo, np.ndarray]:
    """Fire the final FC raw; returns its tensor and the float shift left for the host.

    The bias ``c / m`` becomes the MVAU's integer bias when it is an integer up to float32
    rounding of the exported scales (``BIAS_TOL``); the remainder ``c - m * bias`` (at most a
    few ulps of the logits) stays in the shift, so the logits equal the float64 evaluation."""
    pending = value.source.pending
    assert pending is not None
    pending.extra["external_weights"] = True
    bias = c / m
    rounded = np.round(bias)
    lo, hi = value.source.lo, value.source.hi
    close = np.abs(bias - rounded) <= BIAS_TOL * np.maximum(1.0, np.abs(bias))
    if np.all(close) and np.all(np.abs(rounded) < 2**31):
        ib = rounded.astype(np.int64)
        pending.extra["bias"] = ib
        lo, hi, shift = lo + ib, hi + ib, c - m * rounded
        ctx.meta["fc_bias"] = "integer"
    else:
        shift = c
        ctx.meta["fc_bias"] = (
            "float shift in DequantizeOutput (not an integer multiple of the scale)"
        )
    odt = smallest_qtype(int(lo.min()), int(hi.max()))
    return ctx.fire(pending, None, None, odt, 0), shift
