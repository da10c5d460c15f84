"""Hardware ops (``alveoflow.compiler.ir.hw``) as instances of the RTL library.

``unit(op, weights, in_shapes, **choices) -> RtlUnit`` maps one op, with its folding, to an
``Instance`` (module, parameters, ``$readmemh`` files) and to the stream word formats of its
ports, which are the HLS library's (docs/weight_layouts.md):

- ``RtlUnit.to_words(inputs)``: the op's input tensors (NHWC values) -> words per input stream;
- ``RtlUnit.from_words(words, shapes)``: words per output stream -> output tensors (values);
- ``RtlUnit.counts(shapes)``: words expected on each output stream.

Choices that the folding plan makes and the op does not hold: ``mac`` ("lut", "dsp",
"masked_sum"; default: the HLS generator's rule, ``dsp_packed2`` runs as "dsp"), ``wmem``
(weights "block", "ultra", "distributed" or "stream" for external weights), ``pmem``
(thresholds/biases), ``depthwise`` (an ``SlidingWindow`` feeding a VVAU or a pool emits in
(cf, ky, kx) order), ``mem`` (line buffers). Element kinds and widths come from the op's
QTypes; the accumulator width from ``accumulator_bound``; thresholds are clamped to the
accumulator range (``pack.clamp_thresholds``) and stored in the fewest signed bits.
Also: ``dwc``, ``fifo``, ``dma_in``, ``dma_out``, and the glue the code generator puts
around units (``lane_convert``, ``mmv_pack``, ``mmv_unpack``, ``dwc_sliced``): instances
with no op of their own.
Code: ``ops_mac`` (MVAU, VVAU, Thresholding), ``ops_data`` (windows, pools, plumbing, DMA
ends), ``ops_merge`` (ConcatStreams, Upsample, ChannelMul, ScaleStream, glue), ``ops_common``
(``RtlUnit``, word helpers); this module re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from alveoflow.compiler.ir import hw
from alveoflow.errors import UnsupportedOpError
from alveoflow.hw.rtl.ops_common import MACS, PMEMS, WMEMS, RtlUnit, Shapes
from alveoflow.hw.rtl.ops_data import (
    add_streams,
    dma_in,
    dma_out,
    duplicate,
    dwc,
    fifo,
    label_select,
    max_pool,
    sliding_window,
    sum_pool,
)
from alveoflow.hw.rtl.ops_mac import default_mac, mvau, thresholding, vvau
from alveoflow.hw.rtl.ops_merge import (
    channel_mul,
    concat,
    dwc_sliced,
    lane_convert,
    mmv_pack,
    mmv_unpack,
    scale_stream,
    upsample,
)

__all__ = [
    "MACS",
    "PMEMS",
    "WMEMS",
    "RtlUnit",
    "add_streams",
    "channel_mul",
    "concat",
    "default_mac",
    "dma_in",
    "dma_out",
    "duplicate",
    "dwc",
    "dwc_sliced",
    "fifo",
    "label_select",
    "lane_convert",
    "max_pool",
    "mmv_pack",
    "mmv_unpack",
    "mvau",
    "scale_stream",
    "sliding_window",
    "sum_pool",
    "thresholding",
    "unit",
    "upsample",
    "vvau",
]


def unit(
    op: hw.Op, weights: Mapping[str, np.ndarray], in_shapes: Shapes, **choices: Any
) -> RtlUnit:
    """The RtlUnit of any supported op (``choices`` as the per-op functions take them)."""
    if isinstance(op, hw.MVAU):
        return mvau(op, weights, **choices)
    if isinstance(op, hw.VVAU):
        return vvau(op, weights, **choices)
    if isinstance(op, hw.Thresholding):
        return thresholding(op, weights, **choices)
    if isinstance(op, hw.SlidingWindow):
        return sliding_window(op, tuple(in_shapes[0]), **choices)
    if isinstance(op, hw.StreamingMaxPool):
        return max_pool(op, tuple(in_shapes[0]), **choices)
    if isinstance(op, hw.SumPool):
        return sum_pool(op, tuple(in_shapes[0]), **choices)
    if isinstance(op, hw.AddStreams):
        return add_streams(op)
    if isinstance(op, hw.DuplicateStreams):
        return duplicate(op)
    if isinstance(op, hw.LabelSelect):
        return label_select(op, **choices)
    return _merge_unit(op, weights, in_shapes, **choices)


def _merge_unit(
    op: hw.Op, weights: Mapping[str, np.ndarray], in_shapes: Shapes, **choices: Any
) -> RtlUnit:
    if isinstance(op, hw.ConcatStreams):
        return concat(op)
    if isinstance(op, hw.Upsample):
        return upsample(op, tuple(in_shapes[0]))
    if isinstance(op, hw.ChannelMul):
        return channel_mul(op, tuple(in_shapes[0]))
    if isinstance(op, hw.ScaleStream):
        return scale_stream(op, weights, **choices)
    raise UnsupportedOpError(f"no RTL module for {type(op).__name__}")


# -- plumbing without an op ----------------------------------------------------------------------
