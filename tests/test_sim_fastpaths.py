"""The executor's fast paths against naive NumPy versions and against its own slow paths.

Covers: oneDNN integer convolutions (unsigned and signed inputs, depthwise, explicit
padding values), uint8 storage (max pool, saturating add, thresholds counted on bytes),
and thresholds counted by comparisons when a lookup table would be too large.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, hw
from alveoflow.compiler.semantics import epilogue, int8conv, run_graph

U2, U4, U8 = QType.uint(2), QType.uint(4), QType.uint(8)


def nhwc(shape, qtype, name="x"):
    return TensorInfo(name, shape, qtype, "NHWC")


def build(nodes, inputs, outputs):
    return Graph.build(inputs, nodes, outputs)


def codes(rng, qtype, shape):
    if qtype.bipolar:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(qtype.min, qtype.max + 1, size=shape)


def naive_threshold(acc, thr, offset):
    return (acc[..., None] >= thr).sum(axis=-1) + offset


def all_paths(g, feeds):
    """Outputs of every executor path; asserts they agree and returns the fused one."""
    ref = run_graph(g, feeds, fuse=True)
    for kw in ({"fuse": False}, {"precision": "int64"}, {"precision": "float64", "fuse": True}):
        other = run_graph(g, feeds, **kw)
        for name, value in ref.items():
            np.testing.assert_array_equal(other[name], value, err_msg=f"{kw} {name}")
    return ref


def conv_graph(rng, idt, wdt, kernel, stride, pads, pad_values, depthwise=False, cout=5):
    """SlidingWindow + MVAU/VVAU (bias epilogue) on a (1, 7, 6, 3) image; weights and the
    naive reference computed with float64 conv2d."""
    ch, (kh, kw) = 3, kernel
    x_info = nhwc((1, 7, 6, ch), idt)
    swg = hw.SlidingWindow(
        channels=ch, kernel=kernel, stride=stride, pads=pads, pad_values=pad_values, dt=idt
    )
    win = Node.create("swg", swg, [x_info], ["w"])
    mw = kh * kw * ch
    if depthwise:
        w = codes(rng, wdt, (ch, kh * kw))
        unit = hw.VVAU(channels=ch, kernel_elems=kh * kw, wdt=wdt, idt=idt, odt=QType.sint(24))
        w4 = w.reshape(ch, 1, kh, kw)
    else:
        w = codes(rng, wdt, (cout, mw))
        unit = hw.MVAU(mw=mw, mh=cout, wdt=wdt, idt=idt, odt=QType.sint(24))
        w4 = w.reshape(cout, kh, kw, ch).transpose(0, 3, 1, 2)
    rows = w4.shape[0]
    bias = rng.integers(-1000, 1000, size=rows)
    node = Node.create("unit", unit, [win.outputs[0]], ["y"], {"weights": w, "bias": bias})
    g = build([win, node], [x_info], ["y"])

    def naive(x):
        top, left, bottom, right = pads
        vals = list(pad_values) * (ch // len(pad_values))
        xp = np.empty((x.shape[0], 7 + top + bottom, 6 + left + right, ch))
        xp[...] = np.array(vals, dtype=float)
        xp[:, top : top + 7, left : left + 6] = x
        xt = torch.from_numpy(xp).permute(0, 3, 1, 2)
        wt = torch.from_numpy(w4.astype(np.float64))
        out = F.conv2d(
            xt,
            wt,
            torch.from_numpy(bias.astype(np.float64)),
            stride=stride,
            groups=ch if depthwise else 1,
        )
        return out.permute(0, 2, 3, 1).numpy().astype(np.int64)

    return g, naive


CASES = [
    (U2, QType.sint(8), (3, 3), (1, 1), (1, 1, 1, 1), (0,), False),
    (U8, QType.sint(8), (3, 3), (2, 2), (1, 1, 1, 1), (0,), False),  # stem-like: 0..255
    (QType.sint(4), QType.sint(8), (3, 3), (1, 1), (1, 1, 1, 1), (0,), False),  # zero point
    (QType.bipolar_type(), QType.bipolar_type(), (3, 2), (1, 2), (0, 1, 2, 0), (-1,), False),
    (U4, QType.sint(4), (3, 3), (1, 1), (1, 1, 1, 1), (3, 0, 15), False),  # pad values
    (U2, QType.sint(8), (3, 3), (2, 1), (1, 1, 1, 1), (0,), True),  # depthwise
    (QType.sint(8), QType.sint(8), (1, 1), (1, 1), (0, 0, 0, 0), (0,), False),
]


@pytest.mark.parametrize("idt,wdt,kernel,stride,pads,pad_values,depthwise", CASES)
def test_integer_conv_paths_exact(idt, wdt, kernel, stride, pads, pad_values, depthwise):
    rng = np.random.default_rng(abs(hash((str(idt), kernel, stride, depthwise))) % 2**32)
    g, naive = conv_graph(rng, idt, wdt, kernel, stride, pads, pad_values, depthwise)
    x = codes(rng, idt, (2, 7, 6, 3))
    np.testing.assert_array_equal(all_paths(g, {"x": x})["y"], naive(x))


def test_int8_conv_applicability():
    assert not int8conv.usable(QType.uint(9), QType.sint(8))
    assert not int8conv.usable(U2, QType.uint(8))  # weights above 127
    assert not int8conv.usable(QType.sint(9), QType.sint(4))
    assert int8conv.input_zero(QType.sint(4)) in (128, None)
    if int8conv.input_zero(U2) is not None:
        assert int8conv.input_zero(U2) == 0


@pytest.mark.parametrize(
    "kernel,stride,pads",
    [
        ((3, 3), (2, 2), (1, 1, 1, 1)),
        ((2, 3), (1, 2), (0, 1, 1, 0)),
        ((1, 1), (1, 1), (0, 0, 0, 0)),
    ],
)
def test_max_pool_on_bytes(kernel, stride, pads):
    rng = np.random.default_rng(7)
    x = codes(rng, U4, (2, 6, 7, 3))
    op = hw.StreamingMaxPool(channels=3, kernel=kernel, stride=stride, pads=pads, dt=U4)
    node = Node.create("pool", op, [nhwc((1, 6, 7, 3), U4)], ["y"])
    g = build([node], [nhwc((1, 6, 7, 3), U4)], ["y"])
    top, left, bottom, right = pads
    xp = np.full((2, 6 + top + bottom, 7 + left + right, 3), -1)
    xp[:, top : top + 6, left : left + 7] = x
    oh = (xp.shape[1] - kernel[0]) // stride[0] + 1
    ow = (xp.shape[2] - kernel[1]) // stride[1] + 1
    want = np.zeros((2, oh, ow, 3), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            win = xp[
                :,
                i * stride[0] : i * stride[0] + kernel[0],
                j * stride[1] : j * stride[1] + kernel[1],
            ]
            want[:, i, j] = win.max(axis=(1, 2))
    np.testing.assert_array_equal(all_paths(g, {"x": x})["y"], want)


@pytest.mark.parametrize("offset,odt", [(-8, U4), (3, U4), (-20, U4), (0, U8), (5, QType.uint(5))])
def test_add_streams_bytes_and_fallback(offset, odt):
    rng = np.random.default_rng(offset + 50)
    a, b = codes(rng, U4, (3, 2, 2, 4)), codes(rng, U4, (3, 2, 2, 4))
    op = hw.AddStreams(channels=4, idt_a=U4, idt_b=U4, odt=odt, offset=offset)
    infos = [nhwc((1, 2, 2, 4), U4, "a"), nhwc((1, 2, 2, 4), U4, "b")]
    g = build([Node.create("add", op, infos, ["y"])], infos, ["y"])
    want = np.clip(a + b + offset, odt.min, odt.max)
    np.testing.assert_array_equal(all_paths(g, {"a": a, "b": b})["y"], want)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("offset", [0, 2])
def test_thresholds_on_bytes(n, offset):
    rng = np.random.default_rng(n * 10 + offset)
    ch = 5
    thr = np.sort(rng.integers(-4, 21, size=(ch, n)), axis=1)  # some always/never true
    op = hw.Thresholding(channels=ch, idt=U4, odt=U4, out_offset=offset)
    info = nhwc((1, 3, 4, ch), U4)
    g = build([Node.create("t", op, [info], ["y"], {"thresholds": thr})], [info], ["y"])
    x = codes(rng, U4, (2, 3, 4, ch))
    np.testing.assert_array_equal(all_paths(g, {"x": x})["y"], naive_threshold(x, thr, offset))


@pytest.mark.parametrize("n,odt", [(3, U2), (4, QType.uint(3)), (9, U4)])
def test_mvau_thresholds_without_table(n, odt, monkeypatch):
    """A span too wide for a lookup table (the ResNet stem's case): counted by comparisons."""
    monkeypatch.setattr(epilogue, "LUT_LIMIT", 0)
    rng = np.random.default_rng(n)
    mw, mh = 27, 6
    w = codes(rng, QType.sint(8), (mh, mw))
    x = codes(rng, U8, (2, 3, 3, mw))
    acc = np.einsum("nhwc,rc->nhwr", x, w)
    thr = np.sort(rng.integers(-40000, 40000, size=(mh, n)), axis=1)
    op = hw.MVAU(mw=mw, mh=mh, wdt=QType.sint(8), idt=U8, odt=odt)
    info = nhwc((1, 3, 3, mw), U8)
    node = Node.create("u", op, [info], ["y"], {"weights": w, "thresholds": thr})
    g = build([node], [info], ["y"])
    np.testing.assert_array_equal(all_paths(g, {"x": x})["y"], naive_threshold(acc, thr, 0))
