"""Sliding window (padding, per-channel pad values, both emission orders), max pool and sum
pool RTL against the reference executor, under random back-pressure; at full speed reading
and writing overlap (cycles close to max(input words, output words) per image)."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_cases import check, codes, reference

from alveoflow.compiler.ir import QType, hw
from alveoflow.hw.rtl import ops

pytestmark = pytest.mark.rtl
U2, U4, U8, I4 = QType.uint(2), QType.uint(4), QType.uint(8), QType.sint(4)

# name: (image n,h,w,c, kernel, stride, pads, pad_values, dt, simd, depthwise)
SWG_CASES = {
    "3x3_s1_pad1_channel_pads": (
        (2, 5, 6, 4),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 2, 3, 0),
        U2,
        2,
        False,
    ),
    "3x3_s2_pad_depthwise": ((1, 7, 5, 4), (3, 3), (2, 2), (1, 1, 1, 0), (0,), I4, 1, True),
    "1x1_s2_downsampler": ((3, 8, 6, 4), (1, 1), (2, 2), (0, 0, 0, 0), (0,), U4, 4, False),
    "7x7_s2_stem": ((1, 12, 12, 3), (7, 7), (2, 2), (3, 3, 3, 3), (9, 8, 7), U8, 3, False),
    "2x3_asymmetric": ((2, 5, 6, 2), (2, 3), (1, 2), (1, 0, 0, 2), (3,), U2, 1, False),
}


@pytest.mark.parametrize("name", sorted(SWG_CASES))
def test_sliding_window(name):
    shape, kernel, stride, pads, pad_values, dt, simd, depthwise = SWG_CASES[name]
    rng = np.random.default_rng(3)
    x = codes(rng, dt, shape)
    op = hw.SlidingWindow(
        channels=shape[3],
        kernel=kernel,
        stride=stride,
        pads=pads,
        pad_values=pad_values,
        dt=dt,
        simd=simd,
    )
    (want,) = reference(op, [x], [dt])
    runs = check(ops.sliding_window(op, shape, depthwise=depthwise), [x], [want])
    words_in, words_out = x.size // simd, want.size // simd
    row = shape[2] * shape[3] // simd
    # overlapped: about max(in, out) per image, plus the rows read before the first window
    assert runs[0].cycles <= max(words_in, words_out) + kernel[0] * row + 16


@pytest.mark.parametrize(
    "shape, kernel, stride, pads, dt, pe",
    [
        ((2, 7, 7, 4), (3, 3), (2, 2), (1, 1, 1, 1), I4, 2),
        ((1, 6, 4, 3), (2, 2), (2, 2), (0, 0, 0, 0), U2, 3),
    ],
)
def test_max_pool(shape, kernel, stride, pads, dt, pe):
    rng = np.random.default_rng(4)
    x = codes(rng, dt, shape)
    op = hw.StreamingMaxPool(
        channels=shape[3], kernel=kernel, stride=stride, pads=pads, dt=dt, pe=pe
    )
    (want,) = reference(op, [x], [dt])
    check(ops.max_pool(op, shape), [x], [want])


@pytest.mark.parametrize(
    "shape, kernel, stride, idt, odt, pe",
    [
        ((1, 6, 4, 4), (2, 2), (2, 2), U2, U4, 2),
        ((2, 3, 3, 6), (3, 3), (1, 1), I4, QType.sint(8), 3),
    ],
)
def test_sum_pool(shape, kernel, stride, idt, odt, pe):
    rng = np.random.default_rng(5)
    x = codes(rng, idt, shape)
    op = hw.SumPool(channels=shape[3], kernel=kernel, stride=stride, idt=idt, odt=odt, pe=pe)
    (want,) = reference(op, [x], [idt])
    unit = ops.sum_pool(op, shape)
    global_pool = tuple(kernel) == shape[1:3]
    assert unit.inst.module == ("af_sumpool_global" if global_pool else "af_sumpool")
    runs = check(unit, [x], [want])
    if global_pool:  # the input never waits for the sums to leave
        assert runs[0].cycles <= x.size // pe + 8


# name: (image n,h,w,c, kernel, stride, pads, pad_values, dt, simd, mmv)
MMV_CASES = {
    "7x7_s2_stem_mmv4": ((1, 16, 16, 3), (7, 7), (2, 2), (3, 3, 3, 3), (9, 8, 7), U8, 3, 4),
    "3x3_s1_pad1_mmv2_cf2": ((2, 5, 6, 4), (3, 3), (1, 1), (1, 1, 1, 1), (1, 2, 3, 0), U2, 2, 2),
    "3x3_s1_mmv3_bank_wrap": ((1, 4, 9, 2), (3, 3), (1, 1), (1, 1, 1, 1), (0,), U4, 2, 3),
    "1x1_s2_mmv2": ((1, 4, 8, 4), (1, 1), (2, 2), (0, 0, 0, 0), (0,), U4, 4, 2),
}


@pytest.mark.parametrize("name", sorted(MMV_CASES))
def test_sliding_window_mmv(name):
    """MMV windows side by side per word (the format an MMV MVAU reads): equal to the
    reference, and a group of MMV windows takes the cycles of one."""
    shape, kernel, stride, pads, pad_values, dt, simd, mmv = MMV_CASES[name]
    rng = np.random.default_rng(4)
    x = codes(rng, dt, shape)
    op = hw.SlidingWindow(
        channels=shape[3],
        kernel=kernel,
        stride=stride,
        pads=pads,
        pad_values=pad_values,
        dt=dt,
        simd=simd,
    )
    (want,) = reference(op, [x], [dt])
    runs = check(ops.sliding_window(op, shape, mmv=mmv), [x], [want])
    words_in, words_out = x.size // simd, want.size // (simd * mmv)
    row = shape[2] * shape[3] // simd
    assert runs[0].cycles <= max(words_in, words_out) + kernel[0] * row + 16
