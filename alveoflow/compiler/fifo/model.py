"""A fast dataflow model of the streaming graph: row timing, FIFO depths, latency, throughput.

Granularity is one image row of one tensor (a flat tensor is one row). Every on-card node
``n`` with ``H`` output rows spends ``rt = cycles / H`` cycles per output row (``cycles`` from
``compiler.estimate``) and has a pipeline delay ``delay`` (the cycles of one output pixel plus
a few registers). Output row ``r`` of input ``i`` needs the producer's rows ``0..need_i(r)-1``
of the same frame: ``r + 1`` for pointwise ops; ``r*stride + kernel - pad_top`` (capped at the
height) for sliding windows and pools; everything for a global pool or a flat consumer.

Forward pass (ASAP, unbounded FIFOs): row ``g`` (frames back to back) ends at
``T(g) = max(T(g-1) + rt, max_i T_p(need_i(g) - 1) + delay, T_p(need_i(g) - 1) - eff_p + rt)``:
a node streams as its producer does but no faster than itself. ``eff_p`` is the producer's
row duration when throttled by what feeds it (a row streams while its input streams in), so
a window's output row overlaps the arrival of its last input row, as pixels do. The input
DMA delivers rows at one 512-bit word per cycle; every frame of a batch is queued at time 0.

Rows are coarser than what a join's other branch holds back: an MVAU with MMV > 1 takes its
pixels in groups of MMV and puts them out a group at a time (up to MMV - 1 pixels more than
the row model sees) and, with more than one neuron fold, takes the next group into the
second bank of its input buffer while it computes this one (MMV pixels more; found by the
RTL simulation of QuantResNet50: layer3.1-3.5's bypasses were two pixels short and the
blocks ran at 1.2x the estimated interval), and a sliding window's first window of a row
waits for the first ``KW - PL`` columns (plus its MMV group) of the row's last input row,
where the row model lets the row stream from its first word, and the HLS window reads one
more input row ahead (the concurrent C simulation of a 64x64 ResNet-50 deadlocked on a
bypass between 0.25 and 1 row short). ``join_slack`` adds those
pixels to the depth of each join input (found by the RTL simulation: a ResNet-50 bypass
FIFO short by a few pixels deadlocked, and the bypasses of small images lost throughput).

FIFO sizing runs the same pass in steady state: several frames with the input paced at one
frame per frame interval (what back-pressure from the bottleneck does to the DMA), so no
FIFO fills just because its producer could run ahead. The occupancy of an edge is
``rows produced - rows consumed``, the consumer taking its rows evenly while it works; its
peak over time, in producer words, plus a margin, is the depth. With these depths that
schedule runs without back-pressure, so the design does not stall (frames leave at the frame
interval) and does not deadlock: a reconvergent branch (a residual bypass) holds everything
the fork produces while the other branch starts up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.estimate.cycles import node_cycles, pixels
from alveoflow.compiler.estimate.model import DMA_PORT_BITS, io_cycles
from alveoflow.compiler.ir import Graph, Node, TensorInfo, hw
from alveoflow.compiler.physical import policy

PIPE_DELAY = 8  # registers between modules, cycles
FIFO_MARGIN = 2  # words on top of the modelled peak
OUT_DMA_DELAY = 200  # cycles from the last result word to the host-visible buffer


def rows_of(info: TensorInfo) -> int:
    """Image rows of a tensor (1 for a flat one)."""
    if len(info.shape) != 4:
        return 1
    return int(info.shape[2] if info.layout == "NCHW" else info.shape[1])


def need_rows(node: Node, in_info: TensorInfo, out_info: TensorInfo) -> np.ndarray:
    """Rows of ``in_info`` (count, per frame) that output row r of ``node`` needs."""
    h_in, h_out = rows_of(in_info), rows_of(out_info)
    op = node.op
    if isinstance(op, hw.SlidingWindow | hw.StreamingMaxPool | hw.SumPool) and h_out > 1:
        pad_top = 0 if isinstance(op, hw.SumPool) else op.pads[0]
        r = np.arange(h_out)
        return np.minimum(h_in, r * op.stride[0] + op.kernel[0] - pad_top).astype(np.int64)
    if isinstance(op, hw.Upsample):
        return (np.arange(h_out) // op.factor[0] + 1).astype(np.int64)
    if h_out == h_in:
        return np.arange(1, h_out + 1, dtype=np.int64)
    return np.full(h_out, h_in, dtype=np.int64)


def first_output_elements(op: hw.SlidingWindow, in_shape: tuple[int, ...]) -> int:
    """Input elements (stream order: row, column, channel) a sliding window must have read
    before it can emit its first output window: every row above the window's last row, plus
    the last row up to the window's right edge."""
    _, h, w, c = in_shape
    last_row = min(h, op.kernel[0] - op.pads[0]) - 1
    last_col = min(w, op.kernel[1] - op.pads[1]) - 1
    return (last_row * w + last_col + 1) * c


@dataclass(frozen=True)
class _Edge:
    tensor: str
    producer: str
    consumer: str
    need: np.ndarray  # per consumer row (one frame)
    words_per_row: float


@dataclass
class Timing:
    """Row end times (cycles) per node, frames back to back."""

    frames: int
    rows: dict[str, int]
    rt: dict[str, float]
    delay: dict[str, float]
    asap: dict[str, np.ndarray]


class DataflowModel:
    """The timing structure of one folded graph (see module docstring)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.order: list[str] = []
        self.rows: dict[str, int] = {}
        self.rt: dict[str, float] = {}
        self.delay: dict[str, float] = {}
        self.eff: dict[str, float] = {}  # row duration when throttled by upstream
        self.inputs: dict[str, list[_Edge]] = {}
        self.sinks: list[str] = []
        self.spare_row: set[str] = set()  # window ops, whose line buffer has a spare row
        self.source_rt = 0.0
        self._build()

    def _build(self) -> None:
        g = self.graph
        src_rows = max(rows_of(t) for t in g.inputs)
        self.source_rt = io_cycles(g) / src_rows
        produced_by: dict[str, str] = {t.name: "@dma" for t in g.inputs}
        self.rows["@dma"], self.rt["@dma"] = src_rows, self.source_rt
        self.eff["@dma"] = self.source_rt
        for node in g.nodes:
            if node.op.on_host and all(produced_by.get(t) == "@dma" for t in node.inputs):
                for out in node.outputs:
                    produced_by[out.name] = "@dma"
                continue
            if node.op.on_host:
                self.sinks.extend(produced_by[t] for t in node.inputs)
                continue
            out = node.outputs[0]
            h = rows_of(out)
            cycles = node_cycles(g, node)
            self.order.append(node.name)
            if isinstance(node.op, hw.SlidingWindow | hw.StreamingMaxPool) and h > 1:
                self.spare_row.add(node.name)
            self.rows[node.name] = h
            self.rt[node.name] = cycles / h
            self.delay[node.name] = _delay(g, node, cycles)
            edges = []
            for t in node.inputs:
                info = g.tensor(t)
                producer = produced_by[t]
                words = self._words_per_row(info, producer)
                edges.append(_Edge(t, producer, node.name, need_rows(node, info, out), words))
            self.inputs[node.name] = edges
            upstream = [self.eff[e.producer] * self.rows[e.producer] / h for e in edges]
            self.eff[node.name] = max([self.rt[node.name]] + upstream)
            for o in node.outputs:
                produced_by[o.name] = node.name
        for name in g.outputs:
            if produced_by.get(name) not in (None, "@dma"):
                self.sinks.append(produced_by[name])
        self.sinks = sorted(set(self.sinks), key=self.order.index)

    def _words_per_row(self, info: TensorInfo, producer: str) -> float:
        elems = info.elems_per_frame / rows_of(info)
        if producer == "@dma":
            return elems * max(8, info.qtype.storage_bits()) / DMA_PORT_BITS
        node = self.graph.node(producer)
        return elems / max(1, policy.port_lanes(self.graph, node)[1][0])

    # -- passes ------------------------------------------------------------------------------
    def forward(self, frames: int, pace: float = 0.0) -> dict[str, np.ndarray]:
        """Row end times with every frame queued at time 0; ``pace`` > 0 spreads the input
        rows evenly, one frame per ``pace`` cycles (the steady state at frame interval)."""
        rt_src = max(self.source_rt, pace / self.rows["@dma"])
        times: dict[str, np.ndarray] = {
            "@dma": (np.arange(frames * self.rows["@dma"]) + 1.0) * rt_src
        }
        for name in self.order:
            h, rt, delay = self.rows[name], self.rt[name], self.delay[name]
            ready = np.full(frames * h, rt)
            for e in self.inputs[name]:
                base = np.arange(frames)[:, None] * self.rows[e.producer]
                last = times[e.producer][(base + e.need[None, :] - 1).ravel()]
                first = times[e.producer][(base + _first_new(e.need)[None, :]).ravel()]
                start = first - self.eff[e.producer]
                ready = np.maximum(ready, np.maximum(last + delay, start + rt))
            k = np.arange(frames * h)
            times[name] = np.maximum.accumulate(ready - k * rt) + k * rt
        return times

    def occupancy(self, times: dict[str, np.ndarray], e: _Edge, frames: int) -> float:
        """Peak words in the FIFO of edge ``e``: rows the producer has finished minus rows
        the consumer has taken, the consumer taking the rows of its output row r evenly
        while it works on r (for ``eff`` cycles before r ends)."""
        tp, tc = times[e.producer], times[e.consumer]
        hc = len(e.need)
        need_all = (np.arange(frames)[:, None] * self.rows[e.producer] + e.need[None, :]).ravel()
        prev = np.concatenate([[0], need_all[:-1]])
        k = np.minimum(np.searchsorted(tc, tp, side="left"), frames * hc - 1)
        span = max(self.eff[e.consumer], 1e-9)
        frac = np.clip((tp - (tc[k] - span)) / span, 0.0, 1.0)
        consumed = prev[k] + frac * (need_all[k] - prev[k])
        produced = np.arange(1, len(tp) + 1)
        if e.consumer in self.spare_row:  # a window reads ahead into its spare row block
            consumed = np.maximum(consumed, np.minimum(produced, need_all[k] + 1))
        peak = float(np.max(produced - consumed)) if len(tp) else 0.0
        if e.producer in self.spare_row:  # a window keeps reading into its spare row block
            peak -= 1.0
        return max(0.0, peak) * e.words_per_row

    def edges(self) -> list[_Edge]:
        return [e for name in self.order for e in self.inputs[name]]


def _first_new(need: np.ndarray) -> np.ndarray:
    """Per consumer row, the first producer row it needs that the previous row did not."""
    prev = np.concatenate([[0], need[:-1]])
    return np.minimum(prev, need - 1)


def _delay(graph: Graph, node: Node, cycles: int) -> float:
    """Cycles from an op's last needed input to its output: one output pixel's work for a
    MAC unit (it sweeps the weights), one output pixel's emission for anything else."""
    out = node.outputs[0]
    if isinstance(node.op, hw.MVAU | hw.VVAU):
        return cycles / max(1, pixels(out.shape)) + PIPE_DELAY
    per_pixel = out.shape[-1] if len(out.shape) > 1 else 1
    return per_pixel / max(1, policy.port_lanes(graph, node)[1][0]) + PIPE_DELAY


def fifo_depth(words: float) -> int:
    return max(2, int(math.ceil(words)) + FIFO_MARGIN)


def join_slack(graph: Graph, consumer: Node, tensor: str) -> float:
    """Words of ``tensor`` (an input of the join ``consumer``) to add to its depth: the pixels
    each node on the join's other inputs (back to where they fork from this one) holds back
    beyond the row model (``_held_pixels``), counted at this tensor's resolution or finer, in
    this edge's words."""
    if len(consumer.inputs) < 2:
        return 0.0
    mine = _ancestors(graph, tensor)
    info = graph.tensor(tensor)
    pixels_here = pixels(info.shape)
    slack = 0.0
    for node in _branch(graph, [t for t in consumer.inputs if t != tensor], mine):
        held = _held_pixels(graph, node)
        if held:
            ratio = max(1.0, pixels_here / max(1, pixels(node.outputs[0].shape)))
            slack += held * ratio
    producer = graph.producer(tensor)
    lanes = 1 if producer is None else max(1, policy.port_lanes(graph, producer)[1][0])
    return slack * info.shape[-1] / lanes


def _held_pixels(graph: Graph, node: Node) -> int:
    """Pixels ``node`` holds back beyond the row model (see the module docstring)."""
    op = node.op
    if isinstance(op, hw.MVAU):
        # the group of MMV pixels it computes, and (neuron folds > 1) the next group, which
        # streams into the second bank of its input buffer meanwhile (af_mvau's replay banks)
        return op.mmv - 1 + (op.mmv if op.mh // op.pe > 1 else 0)
    if isinstance(op, hw.SlidingWindow):
        width = graph.tensor(node.inputs[0]).shape[2]
        mmv = policy.window_mmv(graph, node)
        # plus one input row: the HLS window reads a row ahead of what it emits
        return min(width, op.kernel[1] - op.pads[1] + (mmv - 1) * op.stride[1]) + width
    return 0


def _ancestors(graph: Graph, tensor: str) -> set[str]:
    """Every node ``tensor`` depends on."""
    seen: set[str] = set()
    todo = [tensor]
    while todo:
        node = graph.producer(todo.pop())
        if node is not None and node.name not in seen:
            seen.add(node.name)
            todo.extend(node.inputs)
    return seen


def _branch(graph: Graph, tensors: list[str], stop: set[str]) -> list[Node]:
    """The nodes ``tensors`` depend on that are not in ``stop`` (the branch back to the fork)."""
    out: dict[str, Node] = {}
    todo = list(tensors)
    while todo:
        node = graph.producer(todo.pop())
        if node is None or node.name in stop or node.name in out:
            continue
        out[node.name] = node
        todo.extend(node.inputs)
    return list(out.values())
