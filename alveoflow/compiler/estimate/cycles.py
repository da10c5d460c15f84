"""Cycles per frame of every hardware op as a function of its folding.

One cycle moves one stream word. The models (FINN's, checked against the reference design's
published cycle counts in ``reference.py``):

- MVAU: ``out_pixels * (mh / pe) * (mw / simd) / mmv``. Weights from card memory
  (``external_weights``): ``out_pixels * mh * mw / policy.fc_lanes`` whatever the op's PE
  and SIMD (one weight word per cycle, as the generated HLS and RTL do it: found by the RTL
  simulation), and at least ``weight_bits / EXTERNAL_PORT_BITS``. An MVAU
  with MMV > 1 that is not fed by a sliding window gathers its MMV pixels from a stream of
  one pixel's ``simd`` elements per word, so it also needs ``out_pixels * mw / simd`` cycles
  (``policy.port_lanes``); with MMV > 1 its output stream carries one pixel's ``pe``
  elements per word, so it needs ``out_pixels * mh / pe`` cycles too (found by the RTL
  simulation: the MMV unpacking, HLS ``af::mmv_unpack`` and RTL ``af_mmv_unpack``, writes
  one word per cycle).
- VVAU: ``out_pixels * (channels / pe) * (kernel_elems / simd)``.
- SlidingWindow: ``max(reads, writes / mmv)`` with reads ``in_pixels * channels / simd`` and
  writes ``out_pixels * window * channels / simd`` (``simd``: ``policy.window_simd``, the
  VVAU's PE for a depthwise window, as the HLS and RTL generators build it: found by the RTL
  simulation); ``mmv`` is its consumer's MMV (an MMV
  unit is fed by a generator that emits ``mmv`` windows per cycle; its input stream still
  brings one word of ``simd`` channels per cycle, so the reads are not divided: found by the
  RTL simulation). The HLS ``alveo::sliding_window_mmv`` emits one window word per cycle
  before interleaving, so an HLS build's MMV window takes ``max(reads, writes)``: the RTL
  library's ``af_swg`` is the one this model describes.
- Thresholding, AddStreams, DuplicateStreams: ``pixels * channels / pe``.
- StreamingMaxPool, SumPool: ``in_pixels * channels / pe`` (every input is read once).
- LabelSelect: one cycle per label. Flatten: free (no hardware). Host ops: not on the card.
- ConcatStreams: ``out_pixels * (ca + cb) / pe``; Upsample: ``(in_pixels + out_pixels) *
  channels / pe``; ChannelMul: ``(1 + pixels) * channels / pe``; ScaleStream:
  ``pixels * channels / pe``.

Stream widths (elements per word) are ``policy.port_lanes``; the physical design decides
where width converters go.
"""

from __future__ import annotations

import dataclasses
import math

from alveoflow.compiler.ir import Graph, Node, hw
from alveoflow.compiler.physical import policy

EXTERNAL_PORT_BITS = policy.FC_PORT_BITS  # one AXI4 memory-mapped read port


def pixels(shape: tuple[int, ...]) -> int:
    """Number of vectors in a frame: all dims but the batch and the last."""
    return int(math.prod(shape[1:-1])) if len(shape) > 2 else 1


def consumer_mmv(graph: Graph, node: Node) -> int:
    """The MMV of the unit a SlidingWindow feeds (1 when it feeds anything else)."""
    return policy.window_mmv(graph, node)


def op_cycles(
    op: hw.Op,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    mmv: int,
    windowed: bool = True,
) -> int:
    """Cycles per frame of ``op`` with input ``in_shape`` and (first) output ``out_shape``.
    ``mmv`` is only used by SlidingWindow (the consumer's MMV); ``windowed``: an MVAU is fed
    by a sliding window (which supplies MMV pixels per word)."""
    if op.on_host or isinstance(op, hw.Flatten):
        return 0
    if isinstance(op, hw.MVAU) and op.external_weights:
        return external_cycles(op, out_shape)
    if isinstance(op, hw.MVAU):
        comp = pixels(out_shape) * (op.mh // op.pe) * (op.mw // op.simd)
        comp = math.ceil(comp / op.mmv)
        if op.mmv > 1 and not windowed:
            comp = max(comp, pixels(out_shape) * (op.mw // op.simd))
        if op.mmv > 1:  # the output leaves one pixel per word
            comp = max(comp, pixels(out_shape) * (op.mh // op.pe))
        return comp
    if isinstance(op, hw.VVAU):
        return pixels(out_shape) * (op.channels // op.pe) * (op.kernel_elems // op.simd)
    if isinstance(op, hw.SlidingWindow):
        window = op.kernel[0] * op.kernel[1]
        reads = pixels(in_shape) * op.channels // op.simd
        writes = pixels(out_shape) * window * op.channels // op.simd
        return max(reads, math.ceil(writes / max(1, mmv)))
    if isinstance(op, hw.Thresholding | hw.AddStreams | hw.DuplicateStreams):
        return pixels(in_shape) * op.channels // op.pe
    if isinstance(op, hw.StreamingMaxPool | hw.SumPool):
        return pixels(in_shape) * op.channels // op.pe
    if isinstance(op, hw.LabelSelect):
        return op.labels
    return _stream_op_cycles(op, in_shape, out_shape)


def external_cycles(op: hw.MVAU, out_shape: tuple[int, ...]) -> int:
    """The external-weights layer: one output row at a time, ``policy.fc_lanes`` weights
    (one memory word) per cycle, whatever its own PE/SIMD (the HLS ``fc_external`` and the
    RTL's streamed MVAU both work so), and no faster than the weights arrive."""
    comp = pixels(out_shape) * op.mh * (op.mw // policy.fc_lanes(op))
    bits = op.mh * op.mw * op.wdt.storage_bits()
    return max(comp, math.ceil(bits / EXTERNAL_PORT_BITS))


def _stream_op_cycles(op: hw.Op, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """The merge ops (``alveo_merge.hpp``), one word per cycle: a concat writes every output
    word; an upsample reads each input row once and writes every output word (not
    overlapped); a gate multiply reads the gate, then every pixel; a gain every pixel."""
    if isinstance(op, hw.ConcatStreams):
        return pixels(out_shape) * sum(op.channels) // op.pe
    if isinstance(op, hw.Upsample):
        return (pixels(in_shape) + pixels(out_shape)) * op.channels // op.pe
    if isinstance(op, hw.ChannelMul):
        return (1 + pixels(in_shape)) * op.channels // op.pe
    if isinstance(op, hw.ScaleStream):
        return pixels(in_shape) * op.channels // op.pe
    raise NotImplementedError(f"no cycle model for {op.kind}")


def node_cycles(graph: Graph, node: Node) -> int:
    """Cycles per frame of ``node`` in ``graph`` (a sliding window at the channels per word
    it really emits, ``policy.window_simd``: a depthwise window runs at its VVAU's PE)."""
    if node.op.on_host:
        return 0
    in_shape = graph.tensor(node.inputs[0]).shape
    op = node.op
    mmv = 1
    if isinstance(op, hw.SlidingWindow):
        mmv = consumer_mmv(graph, node)
        op = dataclasses.replace(op, simd=policy.window_simd(graph, node))
    windowed = policy.window_feed(graph, node) is not None
    return op_cycles(op, in_shape, node.outputs[0].shape, mmv, windowed)
