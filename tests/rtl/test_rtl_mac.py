"""MVAU, VVAU and Thresholding RTL against the reference executor: several foldings, element
types, MAC datapaths, weight memories and activations, under random back-pressure."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_cases import PRESSURES, check, codes, reference, sorted_thresholds

from alveoflow.compiler.ir import QType, hw
from alveoflow.compiler.semantics import accumulator_bound
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl.sim import simulate

pytestmark = pytest.mark.rtl
U2, U4, U8, I4, I8 = QType.uint(2), QType.uint(4), QType.uint(8), QType.sint(4), QType.sint(8)
BIP = QType.bipolar_type()

# name: (mw, mh, pe, simd, mmv, idt, wdt, odt, activation, mac, wmem)
MASKED = "masked_sum"
MVAU_CASES = {
    "w1a2_masked_pe4_simd4_mmv2": (16, 8, 4, 4, 2, U2, BIP, U2, "thresholds", MASKED, "block"),
    "w1a2_lut_folded": (12, 6, 1, 1, 1, U2, BIP, U2, "thresholds", "lut", "distributed"),
    "bnn_xnor_parallel": (32, 4, 4, 32, 1, BIP, BIP, QType.uint(1), "thresholds", "lut", "ultra"),
    "w4a4_signed_bias": (24, 6, 3, 8, 1, I4, I4, QType.sint(12), "bias", "lut", "block"),
    "w1_int4_masked": (18, 4, 2, 6, 3, I4, BIP, QType.uint(3), "thresholds", MASKED, "block"),
    "w8a8_dsp_raw_mmv2": (8, 4, 2, 4, 2, U8, I8, QType.sint(20), "none", "dsp", "distributed"),
    "w2a2_one_word_replayed": (8, 6, 2, 8, 1, U2, QType.sint(2), U2, "thresholds", "lut", "block"),
    "fc_streamed_weights": (16, 10, 1, 8, 1, U4, I8, QType.sint(16), "bias", "dsp", "stream"),
}


def _mvau_case(name: str, seed: int = 0):
    mw, mh, pe, simd, mmv, idt, wdt, odt, act, mac, wmem = MVAU_CASES[name]
    rng = np.random.default_rng(seed)
    weights = {"weights": codes(rng, wdt, (mh, mw))}
    spread = max(4, int(accumulator_bound(hw.MVAU(mw=mw, mh=mh, wdt=wdt, idt=idt, odt=odt))) // 3)
    offset = 0
    if act == "thresholds":
        nt = odt.max - odt.min
        weights["thresholds"] = sorted_thresholds(rng, mh, nt, spread)
        offset = odt.min
    elif act == "bias":
        weights["bias"] = rng.integers(-50, 50, size=mh)
    op = hw.MVAU(
        mw=mw,
        mh=mh,
        wdt=wdt,
        idt=idt,
        odt=odt,
        pe=pe,
        simd=simd,
        mmv=mmv,
        out_offset=offset,
        external_weights=wmem == "stream",
    )
    pixels = 2 if wmem == "stream" else 6
    x = codes(rng, idt, (pixels, mw) if wmem == "stream" else (1, 2, 3, mw))
    return op, weights, x, idt, mac, wmem


@pytest.mark.parametrize("name", sorted(MVAU_CASES))
def test_mvau(name):
    op, weights, x, idt, mac, wmem = _mvau_case(name)
    (want,) = reference(op, [x], [idt], weights)
    unit = ops.mvau(op, weights, mac=mac, wmem=wmem)
    runs = check(unit, [x], [want])
    steps = x.size // op.mw // op.mmv * (op.mh // op.pe) * (op.mw // op.simd)
    fill = op.mw // op.simd  # the first vector is in before its first step
    assert runs[0].cycles <= steps + fill + 12  # then one fold step per cycle at full speed


@pytest.mark.parametrize("name", sorted(MVAU_CASES))
def test_mvau_fast_simulation_datapath(name):
    """``AF_FAST_DOT`` (the whole-network rtlsim models): af_dots_fast in place of the
    structural dot products gives the same outputs in the same cycles."""
    op, weights, x, idt, mac, wmem = _mvau_case(name, seed=5)
    (want,) = reference(op, [x], [idt], weights)
    unit = ops.mvau(op, weights, mac=mac, wmem=wmem)
    (slow,) = check(unit, [x], [want], pressures=PRESSURES[:1])
    (fast,) = check(unit, [x], [want], pressures=PRESSURES[:1], defines=("AF_FAST_DOT",))
    assert fast.cycles == slow.cycles


def test_mvau_new_weights_reuse_the_build_and_a_corrupt_weight_is_caught():
    op, weights, x, idt, mac, wmem = _mvau_case("w1a2_masked_pe4_simd4_mmv2")
    (want,) = reference(op, [x], [idt], weights)
    bad = dict(weights)
    bad["weights"] = weights["weights"].copy()
    bad["weights"][3, 5] *= -1  # flip one binary weight
    (want_bad,) = reference(op, [x], [idt], bad)
    assert not np.array_equal(want, want_bad)
    unit = ops.mvau(op, bad, mac=mac, wmem=wmem)
    assert unit.inst.structure_key() == ops.mvau(op, weights, mac=mac).inst.structure_key()
    (got,), _ = simulate(unit, [x], [want.shape])
    np.testing.assert_array_equal(got, want_bad)
    assert not np.array_equal(got, want)


# name: (channels, k, pe, simd, idt, wdt, odt, activation, mac)
VVAU_CASES = {
    "w4a2_pe2_simd3_thr": (4, 9, 2, 3, U2, I4, U2, "thresholds", "lut"),
    "w8a8_dsp_bias_folded": (3, 4, 1, 1, I8, I8, QType.sint(18), "bias", "dsp"),
}


@pytest.mark.parametrize("name", sorted(VVAU_CASES))
def test_vvau(name):
    ch, k, pe, simd, idt, wdt, odt, act, mac = VVAU_CASES[name]
    rng = np.random.default_rng(1)
    weights = {"weights": codes(rng, wdt, (ch, k))}
    offset = 0
    if act == "thresholds":
        weights["thresholds"] = sorted_thresholds(rng, ch, odt.max, 12)
    else:
        weights["bias"] = rng.integers(-300, 300, size=ch)
    op = hw.VVAU(
        channels=ch, kernel_elems=k, wdt=wdt, idt=idt, odt=odt, pe=pe, simd=simd, out_offset=offset
    )
    x = codes(rng, idt, (1, 3, 2, k * ch))
    (want,) = reference(op, [x], [idt], weights)
    runs = check(ops.vvau(op, weights, mac=mac), [x], [want])
    assert runs[0].cycles <= 6 * (ch // pe) * (k // simd) + 12
    check(ops.vvau(op, weights, mac=mac), [x], [want], PRESSURES[:1], ("AF_FAST_DOT",))


@pytest.mark.parametrize(
    "channels, pe, idt, odt, nt, pmem",
    [(6, 2, U4, U2, 3, "distributed"), (4, 1, I8, U4, 15, "block")],
)
def test_thresholding(channels, pe, idt, odt, nt, pmem):
    rng = np.random.default_rng(2)
    thr = sorted_thresholds(rng, channels, nt, max(abs(idt.min), idt.max) + 3)
    op = hw.Thresholding(channels=channels, idt=idt, odt=odt, pe=pe, out_offset=0)
    x = codes(rng, idt, (2, 3, 3, channels))
    (want,) = reference(op, [x], [idt], {"thresholds": thr})
    unit = ops.thresholding(op, {"thresholds": thr}, pmem=pmem)
    check(unit, [x], [want])
    check(unit, [x], [want], PRESSURES[:1], ("AF_FAST_DOT",))


def test_mvau_keeps_its_pace_with_a_bursty_producer():
    """With NF > 1 the next input vector streams in while this one is replayed: a producer
    that delivers a word only every other cycle (here, at random, half the time) still
    keeps the unit at one fold step per cycle (an upstream width converter does this)."""
    rng = np.random.default_rng(9)
    mw, mh, pe, simd, pixels = 32, 16, 2, 8, 40  # NF = 8, SF = 4: 4 words per 32 steps
    weights = {"weights": codes(rng, BIP, (mh, mw)), "thresholds": sorted_thresholds(rng, mh, 3, 9)}
    op = hw.MVAU(mw=mw, mh=mh, wdt=BIP, idt=U2, odt=U2, pe=pe, simd=simd)
    x = codes(rng, U2, (1, 1, pixels, mw))
    (want,) = reference(op, [x], [U2], weights)
    (run,) = check(ops.mvau(op, weights, mac=MASKED), [x], [want], [(3, 0.5, 1.0)])
    steps = pixels * (mh // pe) * (mw // simd)
    assert run.cycles <= steps + 3 * (mw // simd) + 12
