"""The dataflow model: stream order, latency against the performance model, FIFO depths."""

import numpy as np
import pytest
from reference_design import apply_reference_folding

from alveoflow.compiler.fifo import size_fifos
from alveoflow.compiler.fifo.model import DataflowModel, first_output_elements, need_rows
from alveoflow.compiler.folding import apply_plan, plan_folding
from alveoflow.compiler.ir import QType, TensorInfo, hw
from alveoflow.compiler.ir.core import Node
from alveoflow.testing.graphs import lowered_cnn, lowered_resnet


def _window_reads(op: hw.SlidingWindow, shape) -> np.ndarray:
    """Flat stream indices (row, column, channel order) each output window reads, from the
    op's definition: pad, then take every kh x kw window with the stride."""
    _, h, w, c = shape
    idx = np.arange(h * w * c).reshape(h, w, c)
    t, left, b, r = op.pads
    padded = np.full((h + t + b, w + left + r, c), -1)
    padded[t : t + h, left : left + w] = idx
    oh = (h + t + b - op.kernel[0]) // op.stride[0] + 1
    ow = (w + left + r - op.kernel[1]) // op.stride[1] + 1
    out = np.empty((oh, ow), dtype=np.int64)
    for y in range(oh):
        for x in range(ow):
            win = padded[
                y * op.stride[0] : y * op.stride[0] + op.kernel[0],
                x * op.stride[1] : x * op.stride[1] + op.kernel[1],
            ]
            out[y, x] = win.max()
    return out


@pytest.mark.parametrize(
    ("k", "s", "p", "size"), [(3, 1, 1, 9), (7, 2, 3, 20), (1, 2, 0, 8), (3, 2, 1, 7), (5, 1, 0, 6)]
)
def test_window_stream_order_matches_op_semantics(k, s, p, size):
    shape = (1, size, size, 3)
    op = hw.SlidingWindow(
        channels=3, kernel=(k, k), stride=(s, s), pads=(p, p, p, p), dt=QType.uint(2)
    )
    reads = _window_reads(op, shape)
    # elements needed before the first window can be emitted
    assert first_output_elements(op, shape) == reads[0, 0] + 1
    # rows needed by every output row
    info = TensorInfo("x", shape, QType.uint(2), "NHWC")
    node = Node.create("w", op, [info], "y")
    need = need_rows(node, info, node.outputs[0])
    last_row_read = reads.max(axis=1) // (size * 3)
    assert list(need) == list(last_row_read + 1)


def test_reference_latency_matches_performance_model():
    """performance.md 4.3: latency = II x (1 + start-up fractions) + FC, with (K-P) rows of
    start-up per 3x3 conv: 3.83 II. A window emits its first output row while its last
    needed input row streams in, i.e. after (K-P-1) rows plus pixels: 2.7 II with the same
    formula. The model must land between the two."""
    result = size_fifos(apply_reference_folding(lowered_resnet()), 250.0)
    assert result.ii_cycles == 56448
    ratio = result.latency_cycles / result.ii_cycles
    assert 2.6 <= ratio <= 3.9
    assert result.latency_ms == pytest.approx(result.latency_cycles / 250e3)
    # steady state: batch 1000 runs at the frame interval, batch 1 at 1 / latency
    assert result.batches[1000]["fps"] == pytest.approx(250e6 / 56448, rel=0.01)
    assert result.batches[1]["fps"] == pytest.approx(1e3 / result.latency_ms, rel=1e-6)
    fps = [result.batches[b]["fps"] for b in (1, 10, 100, 1000)]
    assert fps == sorted(fps)


def test_bypass_fifos_cover_the_main_branch():
    graph = apply_reference_folding(lowered_resnet())
    depths = size_fifos(graph, 250.0).depths
    bypass = depths[("layer3.2.fork.1", "layer3.2.add")]
    main = depths[("layer3.2.conv1", "layer3.2.conv2.swg")]
    assert bypass > 8 * main
    # about the rows the main branch needs before its first output (1-3 rows of 448 words)
    assert 448 // 2 <= bypass <= 3 * 448
    assert all(d >= 2 for d in depths.values())


def test_small_network_timing_is_causal():
    graph = lowered_cnn(16, channels=(8, 8))
    graph = apply_plan(graph, plan_folding(graph, "u250", 2000))
    model = DataflowModel(graph)
    times = model.forward(2)
    for name in model.order:
        assert np.all(np.diff(times[name]) >= model.rt[name] - 1e-6)
        for e in model.inputs[name]:
            # a row ends after the producer rows it needs have ended
            last = times[e.producer][e.need - 1]
            assert np.all(times[name][: len(e.need)] >= last)
    result = size_fifos(graph, 250.0)
    assert result.latency_cycles > result.ii_cycles * 0.5
