"""Stream plumbing RTL: AddStreams (saturating, offset), DuplicateStreams, LabelSelect (top-k,
ties to the lower index), width converters, FIFOs (every style) and the DMA ends, under
random back-pressure."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_cases import PRESSURES, check, codes, reference

from alveoflow.compiler.ir import QType, hw
from alveoflow.errors import ToolchainError
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.sim import simulate
from alveoflow.hw.rtl.verilator import build

pytestmark = pytest.mark.rtl
U2, U4, I4, I8 = QType.uint(2), QType.uint(4), QType.sint(4), QType.sint(8)


@pytest.mark.parametrize(
    "ta, tb, odt, offset, pe",
    [(U2, U2, U2, 1, 2), (I4, U4, QType.sint(5), -3, 3)],
)
def test_add_streams(ta, tb, odt, offset, pe):
    rng = np.random.default_rng(6)
    a, b = codes(rng, ta, (2, 3, 2, 6)), codes(rng, tb, (2, 3, 2, 6))
    op = hw.AddStreams(channels=6, idt_a=ta, idt_b=tb, odt=odt, offset=offset, pe=pe)
    (want,) = reference(op, [a, b], [ta, tb])
    assert want.min() == odt.min or want.max() == odt.max  # saturation is exercised
    check(ops.add_streams(op), [a, b], [want])


def test_duplicate_streams():
    rng = np.random.default_rng(7)
    x = codes(rng, U4, (1, 4, 3, 4))
    op = hw.DuplicateStreams(channels=4, dt=U4, copies=3, pe=2)
    want = reference(op, [x], [U4])
    check(ops.duplicate(op), [x], want)


@pytest.mark.parametrize("labels, k, pe, idt", [(10, 3, 2, QType.sint(3)), (16, 1, 1, I8)])
def test_label_select(labels, k, pe, idt):
    rng = np.random.default_rng(8)
    x = codes(rng, idt, (5, labels))  # narrow scores: many ties
    op = hw.LabelSelect(labels=labels, k=k, idt=idt)
    (want,) = reference(op, [x], [idt])
    check(ops.label_select(op, pe=pe), [x], [want])


def _bits_stream(rng, words: int, width: int) -> np.ndarray:
    return W.pack(rng.integers(0, 2, size=(words, width)), 1)


@pytest.mark.parametrize("in_w, out_w", [(24, 64), (64, 16), (12, 8), (16, 48)])
def test_dwc(in_w, out_w):
    rng = np.random.default_rng(9)
    frame = np.lcm(in_w, out_w) * 3
    bits = rng.integers(0, 2, size=frame)
    words_in = W.pack(bits.reshape(-1, in_w), 1)
    want = W.pack(bits.reshape(-1, out_w), 1)
    model = build(ops.dwc(in_w, out_w))
    for seed, p_in, p_out in PRESSURES:
        run = model.run({"in0": words_in}, {"out0": len(want)}, seed=seed, p_in=p_in, p_out=p_out)
        np.testing.assert_array_equal(run.outputs["out0"], want)
        assert run.stats["surplus"] == 0
        if p_in == 1.0:  # one word per cycle on the busier side
            assert run.cycles <= max(len(want), len(words_in)) + 4


@pytest.mark.parametrize(
    "style, depth", [("srl", 8), ("block", 40), ("distributed", 16), ("ultra", 9)]
)
def test_fifo(style, depth):
    rng = np.random.default_rng(10)
    data = rng.integers(0, 1 << 32, size=(300, 2), dtype=np.uint64).astype(np.uint32)
    data[:, 1] &= 0x3FF  # 42-bit words
    model = build(ops.fifo(42, depth, style))
    for seed, p_in, p_out in [*PRESSURES, (3, 1.0, 0.2)]:
        run = model.run({"in0": data}, {"out0": len(data)}, seed=seed, p_in=p_in, p_out=p_out)
        np.testing.assert_array_equal(run.outputs["out0"], data)
        peak = run.stats["probes"]["count"]
        assert peak <= depth
        if p_out < p_in:  # a slow reader fills it up
            assert peak == depth


def test_dma_ends():
    rng = np.random.default_rng(11)
    frames, mem_w, frame_words = 3, 64, 5
    payload = rng.integers(0, 2, size=(frames * frame_words, mem_w))
    last = np.zeros((frames * frame_words, 1), dtype=np.int64)
    last[frame_words - 1 :: frame_words] = 1
    words_in = W.pack(np.hstack([payload, last]), 1)
    want = W.pack(payload.reshape(-1, 16), 1)
    run = build(ops.dma_in(mem_w, 16, frame_words)).run(
        {"in0": words_in}, {"out0": len(want)}, p_in=0.5, p_out=0.5, seed=2
    )
    np.testing.assert_array_equal(run.outputs["out0"], want)
    assert run.stats["probes"]["frame_error"] == 0
    last[0] = 1  # a tlast in the middle of a frame is flagged
    run = build(ops.dma_in(mem_w, 16, frame_words)).run(
        {"in0": W.pack(np.hstack([payload, last]), 1)}, {"out0": len(want)}
    )
    assert run.stats["probes"]["frame_error"] == 1

    data = rng.integers(0, 1000, size=(12, 1))
    run = build(ops.dma_out(32, 4)).run(
        {"in0": W.pack(data, 32)}, {"out0": 12}, p_in=0.6, p_out=0.4, seed=5
    )
    out = W.unpack(run.outputs["out0"], 1, 33)
    got = W.unpack(W.pack(out[:, :32], 1), 32, 1)
    np.testing.assert_array_equal(got, data)
    np.testing.assert_array_equal(out[:, 32], np.tile([0, 0, 0, 1], 3))


def test_a_starved_join_is_reported_as_a_deadlock():
    """One input of an add runs dry: the run stops after the idle limit and names the
    stream whose word waits (in0 valid, not ready) and the output that never completed."""
    rng = np.random.default_rng(13)
    op = hw.AddStreams(channels=2, idt_a=U2, idt_b=U2, odt=U4, pe=2)
    unit = ops.add_streams(op)
    a, b = codes(rng, U2, (1, 2, 2, 2)), codes(rng, U2, (1, 1, 2, 2))  # b: half the pixels
    words = {"in0": unit.to_words([a, b])["in0"], "in1": unit.to_words([b, b])["in1"]}
    run = build(unit.inst).run(words, {"out0": 4}, idle=200)
    assert run.stats["deadlock"] and not run.stats["complete"]
    assert run.stats["outputs"]["out0"]["words"] == 2
    assert run.stats["stuck"]["in0"] == [1, 0]
    with pytest.raises(ToolchainError, match="deadlock: True"):
        simulate(_Starved(unit, b), [a, b], [a.shape], idle=200)


class _Starved:
    """An RtlUnit whose second input stream carries only ``b``'s words (fewer than needed)."""

    def __init__(self, unit, b):
        self.inst, self.counts, self.from_words = unit.inst, unit.counts, unit.from_words
        self._unit, self._b = unit, b

    def to_words(self, inputs):
        words = self._unit.to_words([inputs[0], inputs[0]])
        words["in1"] = self._unit.to_words([self._b, self._b])["in1"]
        return words


@pytest.mark.parametrize("depth", [2, 3])
def test_shallow_fifo_moves_a_word_every_cycle(depth):
    """Depth 2 is a register slice and depth 3 a one-deep queue: at full speed both pass
    one word per cycle (a design's internal streams are often this shallow)."""
    data = np.arange(200, dtype=np.uint32).reshape(-1, 1)
    run = build(ops.fifo(8, depth, "srl")).run({"in0": data}, {"out0": 200})
    np.testing.assert_array_equal(run.outputs["out0"], data)
    assert run.cycles <= 200 + 4
    assert run.stats["probes"]["count"] <= depth
