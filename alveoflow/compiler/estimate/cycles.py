"""Cycles per frame of every hardware op as a function of its folding.

One cycle moves one stream word. The models (FINN's, checked against the reference design's
published cycle counts in ``reference.py``):

- MVAU: ``out_pixels * (mh / pe) * (mw / simd) / mmv``; weights from card memory
  (``external_weights``) also need ``weight_bits / EXTERNAL_PORT_BITS`` cycles.
- VVAU: ``out_pixels * (channels / pe) * (kernel_elems / simd)``.
- SlidingWindow: ``max(reads, writes) / mmv`` with reads ``in_pixels * channels / simd`` and
  writes ``out_pixels * window * channels / simd``; ``mmv`` is its consumer's MMV (an MMV
  unit is fed by a generator that emits ``mmv`` windows per cycle).
- Thresholding, AddStreams, DuplicateStreams: ``pixels * channels / pe``.
- StreamingMaxPool, SumPool: ``in_pixels * channels / pe`` (every input is read once).
- LabelSelect: one cycle per label. Flatten: free (no hardware). Host ops: not on the card.

Stream widths (elements per cycle) decide where width converters are needed.
"""

from __future__ import annotations

import math

from alveoflow.compiler.ir import Graph, Node, hw

EXTERNAL_PORT_BITS = 512  # one AXI4 memory-mapped read port at the kernel clock


def pixels(shape: tuple[int, ...]) -> int:
    """Number of vectors in a frame: all dims but the batch and the last."""
    return int(math.prod(shape[1:-1])) if len(shape) > 2 else 1


def consumer_mmv(graph: Graph, node: Node) -> int:
    """The MMV of the unit a SlidingWindow feeds (1 when it feeds anything else)."""
    for out in node.outputs:
        for user in graph.consumers(out.name):
            mmv = getattr(user.op, "mmv", 1)
            if mmv > 1:
                return int(mmv)
    return 1


def op_cycles(op: hw.Op, in_shape: tuple[int, ...], out_shape: tuple[int, ...], mmv: int) -> int:
    """Cycles per frame of ``op`` with input ``in_shape`` and (first) output ``out_shape``.
    ``mmv`` is only used by SlidingWindow (the consumer's MMV)."""
    if op.on_host or isinstance(op, hw.Flatten):
        return 0
    if isinstance(op, hw.MVAU):
        comp = pixels(out_shape) * (op.mh // op.pe) * (op.mw // op.simd)
        comp = math.ceil(comp / op.mmv)
        if op.external_weights:
            bits = op.mh * op.mw * op.wdt.storage_bits()
            comp = max(comp, math.ceil(bits / EXTERNAL_PORT_BITS))
        return comp
    if isinstance(op, hw.VVAU):
        return pixels(out_shape) * (op.channels // op.pe) * (op.kernel_elems // op.simd)
    if isinstance(op, hw.SlidingWindow):
        window = op.kernel[0] * op.kernel[1]
        reads = pixels(in_shape) * op.channels // op.simd
        writes = pixels(out_shape) * window * op.channels // op.simd
        return math.ceil(max(reads, writes) / max(1, mmv))
    if isinstance(op, hw.Thresholding | hw.AddStreams | hw.DuplicateStreams):
        return pixels(in_shape) * op.channels // op.pe
    if isinstance(op, hw.StreamingMaxPool | hw.SumPool):
        return pixels(in_shape) * op.channels // op.pe
    if isinstance(op, hw.LabelSelect):
        return op.labels
    raise NotImplementedError(f"no cycle model for {op.kind}")


def node_cycles(graph: Graph, node: Node) -> int:
    """Cycles per frame of ``node`` in ``graph``."""
    if node.op.on_host:
        return 0
    in_shape = graph.tensor(node.inputs[0]).shape
    mmv = consumer_mmv(graph, node) if isinstance(node.op, hw.SlidingWindow) else 1
    return op_cycles(node.op, in_shape, node.outputs[0].shape, mmv)


def in_elems(op: hw.Op, mmv: int = 1) -> int:
    """Elements per cycle the op reads from (each of) its input stream(s)."""
    if isinstance(op, hw.MVAU):
        return op.simd * op.mmv
    if isinstance(op, hw.VVAU):
        return op.simd * op.pe
    if isinstance(op, hw.SlidingWindow):
        return op.simd * mmv
    if isinstance(op, hw.LabelSelect):
        return 1
    return int(getattr(op, "pe", 1))


def out_elems(op: hw.Op, mmv: int = 1) -> int:
    """Elements per cycle the op writes to (each of) its output stream(s)."""
    if isinstance(op, hw.MVAU):
        return op.pe * op.mmv
    if isinstance(op, hw.VVAU):
        return op.pe
    if isinstance(op, hw.SlidingWindow):
        return op.simd * mmv
    if isinstance(op, hw.LabelSelect):
        return 1
    return int(getattr(op, "pe", 1))
