"""The merge ops (ConcatStreams, Upsample, ChannelMul, ScaleStream) and the stream glue of
generated designs (lane conversion, MMV pack/unpack, sliced width conversion) under Verilator,
against the reference executor or the word formats, at full speed and under random
back-pressure; at full speed each takes the cycles of the cycle model (one word per cycle)."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_cases import PRESSURES, check, codes, reference

from alveoflow.compiler.ir import QType, hw
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.verilator import build

pytestmark = pytest.mark.rtl
U2, U4, I4, I8 = QType.uint(2), QType.uint(4), QType.sint(4), QType.sint(8)
BIP = QType.bipolar_type()


def _pixels(shape: tuple[int, ...]) -> int:
    """Pixels of every image together."""
    return int(np.prod(shape[:-1]))


@pytest.mark.parametrize(
    "ta, tb, odt, ca, cb, pe", [(U2, I4, QType.sint(5), 4, 6, 2), (U4, U2, U4, 3, 3, 3)]
)
def test_concat(ta, tb, odt, ca, cb, pe):
    rng = np.random.default_rng(21)
    a, b = codes(rng, ta, (2, 3, 2, ca)), codes(rng, tb, (2, 3, 2, cb))
    op = hw.ConcatStreams(channels=(ca, cb), idts=(ta, tb), odt=odt, pe=pe)
    (want,) = reference(op, [a, b], [ta, tb])
    runs = check(ops.concat(op), [a, b], [want])
    assert runs[0].cycles <= _pixels(a.shape) * (ca + cb) // pe + 8


@pytest.mark.parametrize(
    "shape, factor, pe", [((2, 3, 2, 4), (2, 3), 2), ((1, 2, 3, 3), (3, 1), 3)]
)
def test_upsample(shape, factor, pe):
    rng = np.random.default_rng(22)
    x = codes(rng, U4, shape)
    op = hw.Upsample(channels=shape[3], factor=factor, dt=U4, pe=pe)
    (want,) = reference(op, [x], [U4])
    runs = check(ops.upsample(op, shape), [x], [want])
    model = (_pixels(x.shape) + _pixels(want.shape)) * shape[3] // pe  # read, then write rows
    assert model <= runs[0].cycles <= model + 8


@pytest.mark.parametrize(
    "idt, gdt, odt, pe", [(U4, U4, QType.uint(8), 2), (I4, QType.sint(3), I8, 1)]
)
def test_channel_mul(idt, gdt, odt, pe):
    rng = np.random.default_rng(23)
    shape = (2, 3, 2, 4)
    x, g = codes(rng, idt, shape), codes(rng, gdt, (2, 4))
    op = hw.ChannelMul(channels=4, idt=idt, gdt=gdt, odt=odt, pe=pe)
    (want,) = reference(op, [x, g], [idt, gdt])
    runs = check(ops.channel_mul(op, shape), [x, g], [want])
    model = (2 + _pixels(shape)) * 4 // pe  # per image: the gate, then every pixel
    assert model <= runs[0].cycles <= model + 8


@pytest.mark.parametrize("idt, pe", [(I4, 2), (U2, 3)])
def test_scale_stream(idt, pe):
    rng = np.random.default_rng(24)
    x = codes(rng, idt, (2, 3, 3, 6))
    factors = rng.integers(1, 12, size=6)
    odt = QType.sint(9) if idt.signed else QType.uint(6)
    op = hw.ScaleStream(channels=6, idt=idt, odt=odt, pe=pe)
    (want,) = reference(op, [x], [idt], {"factors": factors})
    runs = check(ops.scale_stream(op, {"factors": factors}), [x], [want])
    assert runs[0].cycles <= x.size // pe + 8


def _run_all(model, words_in, count):
    """Every back-pressure setting; the output words of each run."""
    out = []
    for seed, p_in, p_out in PRESSURES:
        run = model.run({"in0": words_in}, {"out0": count}, seed=seed, p_in=p_in, p_out=p_out)
        assert run.stats["complete"] and run.stats["surplus"] == 0
        out.append(run)
    return out


@pytest.mark.parametrize(
    "src, dst", [(I8, I4), (QType.sint(6), QType.sint(32)), (I8, BIP), (U2, U4)]
)
def test_lane_convert(src, dst):
    rng = np.random.default_rng(25)
    values = codes(rng, dst if dst.bits < src.bits or dst.bipolar else src, (40, 3))
    model = build(ops.lane_convert(3, src, dst))
    for run in _run_all(model, W.pack(W.to_codes(values, src), src.bits), 40):
        got = W.from_codes(W.unpack(run.outputs["out0"], dst.bits, 3), dst)
        np.testing.assert_array_equal(got, values)


def test_mmv_pack_and_unpack():
    rng = np.random.default_rng(26)
    width, sf, mmv, groups = 6, 3, 4, 5
    vectors = rng.integers(0, 1 << width, size=(groups, mmv, sf))  # pixel-major stream
    packed = vectors.transpose(0, 2, 1).reshape(-1, mmv)  # word sf: pixels side by side
    flat = W.pack(vectors.reshape(-1, 1).astype(np.uint64), width)
    wide = W.pack(packed.astype(np.uint64), width)
    runs = _run_all(build(ops.mmv_pack(width, sf, mmv)), flat, len(wide))
    for run in runs:
        np.testing.assert_array_equal(run.outputs["out0"], wide)
    assert runs[0].cycles <= len(flat) + 4  # one input word per cycle
    nf = sf  # the unpack is the inverse for NF = SF
    runs = _run_all(build(ops.mmv_unpack(width, nf, mmv)), wide, len(flat))
    for run in runs:
        np.testing.assert_array_equal(run.outputs["out0"], flat)
    assert runs[0].cycles <= len(flat) + nf + 4  # one output word per cycle after a group


@pytest.mark.parametrize("is_, os_, slices, frame", [(3, 21, 4, 21), (6, 4, 2, 12), (4, 6, 3, 12)])
def test_dwc_sliced(is_, os_, slices, frame):
    """Slice s of the output words is slice s of the input words re-packed (bits of 1 bit
    elements, frames of ``frame`` bits per slice)."""
    rng = np.random.default_rng(27)
    groups = 3
    bits = rng.integers(0, 2, size=(groups, slices, frame))  # per group, each slice's frame

    def words(width):
        chunks = bits.reshape(groups, slices, frame // width, width).transpose(0, 2, 1, 3)
        return W.pack(chunks.reshape(-1, slices * width), 1)

    words_in, want = words(is_), words(os_)
    model = build(ops.dwc_sliced(slices * is_, slices * os_, slices, frame))
    runs = _run_all(model, words_in, len(want))
    for run in runs:
        np.testing.assert_array_equal(run.outputs["out0"], want)
    assert runs[0].cycles <= max(len(words_in), len(want)) + frame // is_ + 6
