"""Every hw kernel of the reference executor against a naive NumPy/loop version written here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alveoflow.compiler.ir import FLOAT32, Graph, Node, QType, TensorInfo, hw
from alveoflow.compiler.semantics import epilogue, run_graph

U2, U4, I8 = QType.uint(2), QType.uint(4), QType.sint(8)
BIP = QType.bipolar_type()


def one_node(op, inputs, weights=None, n_out=1):
    names = "y" if n_out == 1 else [f"y{i}" for i in range(n_out)]
    node = Node.create("n", op, inputs, names, weights)
    return Graph.build(inputs, [node], [t.name for t in node.outputs])


def codes(rng, qtype, shape):
    if qtype.bipolar:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(qtype.min, qtype.max + 1, size=shape)


def sorted_thresholds(rng, rows, n, lo, hi):
    return np.sort(rng.integers(lo, hi, size=(rows, n)), axis=1)


def naive_threshold(acc, thr, offset):
    out = np.zeros(acc.shape, dtype=np.int64)
    for idx in np.ndindex(*acc.shape):
        c = idx[-1]
        out[idx] = sum(1 for t in thr[c] if t <= acc[idx]) + offset
    return out


def nhwc(shape, qtype, name="x"):
    return TensorInfo(name, shape, qtype, "NHWC")


@pytest.mark.parametrize("wdt", [BIP, I8, QType.sint(3)])
@pytest.mark.parametrize("epilogue", ["thresholds", "bias", "raw"])
def test_mvau(wdt, epilogue):
    rng = np.random.default_rng(hash((wdt.name, epilogue)) % 2**32)
    mw, mh, idt = 12, 5, U2
    w = codes(rng, wdt, (mh, mw))
    x = codes(rng, idt, (3, 2, 4, mw))
    acc = np.einsum("nhwc,rc->nhwr", x, w)
    weights = {"weights": w}
    if epilogue == "thresholds":
        spread = int(np.abs(acc).max()) + 2
        weights["thresholds"] = sorted_thresholds(rng, mh, 3, -spread, spread)
        odt, offset = QType.sint(3), -1
        want = naive_threshold(acc, weights["thresholds"], offset)
    else:
        odt, offset = QType.sint(16), 0
        if epilogue == "bias":
            weights["bias"] = rng.integers(-50, 50, size=mh)
        want = acc + weights.get("bias", 0)
    op = hw.MVAU(mw=mw, mh=mh, wdt=wdt, idt=idt, odt=odt, out_offset=offset)
    g = one_node(op, [nhwc((1, 2, 4, mw), idt)], weights)
    for fuse in (False, True):
        got = run_graph(g, {"x": x}, fuse=fuse)["y"]
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)


def test_vvau_depthwise():
    rng = np.random.default_rng(1)
    ch, k = 4, 9
    w = codes(rng, QType.sint(4), (ch, k))
    x = codes(rng, U2, (2, 3, 3, k * ch))
    acc = np.zeros((2, 3, 3, ch), dtype=np.int64)
    for c in range(ch):
        for i in range(k):
            acc[..., c] += w[c, i] * x[..., i * ch + c]
    thr = sorted_thresholds(rng, ch, 3, -20, 20)
    op = hw.VVAU(channels=ch, kernel_elems=k, wdt=QType.sint(4), idt=U2, odt=U2)
    g = one_node(op, [nhwc((1, 3, 3, k * ch), U2)], {"weights": w, "thresholds": thr})
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], naive_threshold(acc, thr, 0))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 16),
    lo=st.integers(-(2**30), 20),
    width=st.sampled_from([5, 40, 2**21]),
    seed=st.integers(0, 2**16),
)
def test_thresholding_any_count_and_span(n, lo, width, seed):
    """Every counting path: full lookup table, clamped table (limit 200), and comparisons or
    binary search (limit 0), on thresholds inside and beyond the input range."""
    rng = np.random.default_rng(seed)
    ch, idt = 3, QType.sint(12)
    thr = sorted_thresholds(rng, ch, n, lo, lo + width)
    thr = np.clip(thr, -3000, 3000)
    odt = QType.uint(5)
    x = codes(rng, idt, (4, 1, 5, ch))
    want = naive_threshold(x, thr, 0)
    for limit in (epilogue.LUT_LIMIT, 200, 0):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(epilogue, "LUT_LIMIT", limit)
            op = hw.Thresholding(channels=ch, idt=idt, odt=odt)
            g = one_node(op, [nhwc((1, 1, 5, ch), idt)], {"thresholds": thr})
            np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want)


@pytest.mark.parametrize("limit", [0, 300, 1 << 20])
def test_mvau_threshold_paths_agree(limit, monkeypatch):
    monkeypatch.setattr(epilogue, "LUT_LIMIT", limit)
    rng = np.random.default_rng(limit)
    mw, mh = 40, 6
    w = codes(rng, BIP, (mh, mw))
    x = codes(rng, U2, (2, 3, 3, mw))
    acc = np.einsum("nhwc,rc->nhwr", x, w)
    for n, odt in ((3, U2), (15, U4)):
        thr = sorted_thresholds(rng, mh, n, -30, 30)
        op = hw.MVAU(mw=mw, mh=mh, wdt=BIP, idt=U2, odt=odt)
        g = one_node(op, [nhwc((1, 3, 3, mw), U2)], {"weights": w, "thresholds": thr})
        for fuse in (False, True):
            got = run_graph(g, {"x": x}, fuse=fuse)["y"]
            np.testing.assert_array_equal(got, naive_threshold(acc, thr, 0))


def test_thresholding_float_thresholds_and_offset():
    thr = np.array([[-0.5, 1.0, 1.5], [0.0, 0.0, 2.7]])
    x = np.array([[[[-1, 0], [1, 1]], [[2, 3], [0, 2]]]])
    op = hw.Thresholding(channels=2, idt=QType.sint(3), odt=QType.sint(3), out_offset=-1)
    g = one_node(op, [nhwc((1, 2, 2, 2), QType.sint(3))], {"thresholds": thr})
    want = naive_threshold(x, thr, -1)
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want)


def naive_window(x, k, s, pads, values):
    n, h, w, c = x.shape
    top, left, bottom, right = pads
    pad = np.empty((n, h + top + bottom, w + left + right, c), dtype=np.int64)
    pad[...] = np.asarray(values)
    pad[:, top : top + h, left : left + w] = x
    oh = (pad.shape[1] - k[0]) // s[0] + 1
    ow = (pad.shape[2] - k[1]) // s[1] + 1
    out = np.zeros((n, oh, ow, k[0] * k[1] * c), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            col = []
            for ky in range(k[0]):
                for kx in range(k[1]):
                    col.append(pad[:, i * s[0] + ky, j * s[1] + kx, :])
            out[:, i, j] = np.concatenate(col, axis=-1)
    return out


@pytest.mark.parametrize(
    "k,s,pads,values",
    [
        ((3, 3), (1, 1), (1, 1, 1, 1), (0,)),
        ((3, 2), (2, 1), (1, 0, 2, 1), (5, 9, 200)),
        ((1, 1), (2, 2), (0, 0, 0, 0), (0,)),
    ],
)
def test_sliding_window(k, s, pads, values):
    rng = np.random.default_rng(2)
    u8 = QType.uint(8)
    x = codes(rng, u8, (2, 5, 6, 3))
    op = hw.SlidingWindow(channels=3, kernel=k, stride=s, pads=pads, pad_values=values, dt=u8)
    g = one_node(op, [nhwc((1, 5, 6, 3), u8)])
    vals = values if len(values) == 3 else values * 3
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], naive_window(x, k, s, pads, vals))


def test_max_pool_padding_never_wins():
    rng = np.random.default_rng(3)
    x = codes(rng, QType.sint(4), (2, 5, 5, 3)) - 0  # negative values: zero padding would win
    op = hw.StreamingMaxPool(
        channels=3, kernel=(3, 3), stride=(2, 2), pads=(1, 1, 1, 1), dt=QType.sint(4)
    )
    g = one_node(op, [nhwc((1, 5, 5, 3), QType.sint(4))])
    want = np.full((2, 3, 3, 3), -99)
    for i in range(3):
        for j in range(3):
            for dy in range(3):
                for dx in range(3):
                    y, xx = 2 * i + dy - 1, 2 * j + dx - 1
                    if 0 <= y < 5 and 0 <= xx < 5:
                        want[:, i, j] = np.maximum(want[:, i, j], x[:, y, xx])
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want)


@pytest.mark.parametrize("kernel,stride", [((4, 4), (4, 4)), ((2, 2), (2, 2)), ((3, 2), (1, 2))])
def test_sum_pool(kernel, stride):
    rng = np.random.default_rng(4)
    x = codes(rng, U4, (2, 4, 4, 3))
    op = hw.SumPool(channels=3, kernel=kernel, stride=stride, idt=U4, odt=QType.uint(8))
    g = one_node(op, [nhwc((1, 4, 4, 3), U4)])
    oh, ow = (4 - kernel[0]) // stride[0] + 1, (4 - kernel[1]) // stride[1] + 1
    want = np.zeros((2, oh, ow, 3), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            win = x[
                :,
                i * stride[0] : i * stride[0] + kernel[0],
                j * stride[1] : j * stride[1] + kernel[1],
            ]
            want[:, i, j] = win.sum(axis=(1, 2))
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want)


def test_add_streams_saturates_with_offset():
    rng = np.random.default_rng(5)
    a, b = codes(rng, U4, (3, 2, 2, 4)), codes(rng, U4, (3, 2, 2, 4))
    op = hw.AddStreams(channels=4, idt_a=U4, idt_b=U4, odt=U4, offset=-8)
    g = one_node(op, [nhwc((1, 2, 2, 4), U4, "a"), nhwc((1, 2, 2, 4), U4, "b")])
    want = np.clip(a + b - 8, 0, 15)
    assert (a + b - 8 > 15).any() and (a + b - 8 < 0).any()
    np.testing.assert_array_equal(run_graph(g, {"a": a, "b": b})["y"], want)


def test_duplicate_and_flatten():
    x = np.arange(6).reshape(2, 1, 1, 3) % 4
    dup = one_node(
        hw.DuplicateStreams(channels=3, dt=U2, copies=3), [nhwc((1, 1, 1, 3), U2)], n_out=3
    )
    out = run_graph(dup, {"x": x})
    for i in range(3):
        np.testing.assert_array_equal(out[f"y{i}"], x)
    flat = one_node(hw.Flatten(), [nhwc((1, 1, 1, 3), U2)])
    np.testing.assert_array_equal(run_graph(flat, {"x": x})["y"], x.reshape(2, 3))


def test_label_select_ties_go_to_lower_index():
    x = np.array([[3, 7, 7, 1, 7], [0, 0, 0, 0, 0], [-5, 2, -1, 2, 9]])
    op = hw.LabelSelect(labels=5, k=3, idt=QType.sint(5))
    g = one_node(op, [TensorInfo("x", (1, 5), QType.sint(5), "NC")])
    want = np.array([sorted(range(5), key=lambda i, r=r: (-r[i], i))[:3] for r in x])
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want)


def test_quantize_input_rounds_half_to_even_and_clamps():
    x = np.array([[[[0.5, 1.5]], [[2.5, -0.5]]], [[[100.0, -100.0]], [[0.26, 0.74]]]], np.float32)
    op = hw.QuantizeInput(scale=(1.0, 0.5), zero_point=0.0, odt=QType.sint(4))
    g = one_node(op, [TensorInfo("x", (1, 2, 1, 2), FLOAT32, "NCHW")])
    got = run_graph(g, {"x": x})["y"]
    scaled = x / np.array([1.0, 0.5], np.float32).reshape(1, 2, 1, 1)
    want = np.clip(np.round(scaled), -8, 7).transpose(0, 2, 3, 1)  # numpy rounds half to even
    np.testing.assert_array_equal(got, want)
    assert got[0, 0, 0, 0] == 0 and got[0, 0, 1, 0] == 2  # 0.5 -> 0, 1.5 -> 2


def test_pixel_input_and_dequantize():
    x = np.random.default_rng(6).integers(0, 256, (2, 3, 3, 3), dtype=np.uint8)
    g = one_node(hw.PixelInput(), [nhwc((1, 3, 3, 3), QType.uint(8))])
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], x)
    codes_ = np.array([[-3, 0, 5], [100, -100, 7]])
    op = hw.DequantizeOutput(scale=(0.5, 0.25, 0.1), shift=(1.0, 0.0, -0.3))
    g = one_node(op, [TensorInfo("x", (1, 3), QType.sint(8), "NC")])
    got = run_graph(g, {"x": codes_})["y"]
    assert got.dtype == np.float32
    want = (codes_ * np.array([0.5, 0.25, 0.1]) + np.array([1.0, 0.0, -0.3])).astype(np.float32)
    np.testing.assert_array_equal(got, want)
