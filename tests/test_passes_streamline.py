"""Streamlining building blocks: exact thresholds, per-channel chains, Pad fusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from alveoflow.compiler.ir import FLOAT32, Graph, Node, TensorInfo, nn
from alveoflow.compiler.passes.streamline.chain import Chain, FoldError, per_channel
from alveoflow.compiler.passes.streamline.fuse_pad import fuse_pad
from alveoflow.compiler.passes.streamline.thresholds import (
    check_thresholds,
    oriented,
    oriented_range,
    search_thresholds,
)
from alveoflow.compiler.semantics import nn_kernels
from alveoflow.compiler.semantics.executor import run_graph


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-40, 40), min_size=1, max_size=6),
    st.integers(-30, 0),
    st.integers(0, 30),
    st.booleans(),
)
def test_thresholds_reproduce_any_monotone_step_function(steps, lo, hi, decreasing):
    """code(a) = base + #{breakpoints <= a} (or of -a): the threshold rule gives it back."""
    points = torch.tensor(sorted(steps), dtype=torch.float64)
    base = -2

    def code(a: torch.Tensor) -> torch.Tensor:
        x = -a if decreasing else a
        return base + (points.reshape(1, 1, -1) <= x.unsqueeze(-1).to(torch.float64)).sum(-1)

    direction = np.array([-1 if decreasing else 1])
    f = oriented(code, direction)
    olo, ohi = oriented_range(np.array([lo]), np.array([hi]), direction)
    t = search_thresholds(f, olo, ohi, base, len(steps))
    assert t.shape == (1, len(steps)) and np.all(np.diff(t, axis=1) >= 0)
    grid = np.arange(olo[0], ohi[0] + 1)
    want = f(torch.from_numpy(grid[:, None])).numpy()[:, 0]
    got = base + (t[0][None, :] <= grid[:, None]).sum(axis=1)
    np.testing.assert_array_equal(got, want)
    assert check_thresholds(f, t, olo, ohi, base)


def test_thresholds_of_a_quantizer_match_float64_with_ties():
    """Scale 0.5: many values fall exactly on .5; ROUND must resolve them half-to-even."""
    op = nn.Quant(bits=3, signed=True, narrow=False, rounding_mode="ROUND")
    w = {
        "scale": torch.tensor(2.0, dtype=torch.float64),
        "zero_point": torch.tensor(0.0, dtype=torch.float64),
    }
    chain = Chain.start(np.array([0.0, 1.0]), np.array([1.0, -1.0]), 2)

    def code(a):
        return nn_kernels.quantizer_codes(op, chain.values(a), w)

    lo, hi = np.array([-20, -20]), np.array([20, 20])
    direction = chain.direction()
    assert direction is not None and direction.tolist() == [1, -1]
    f = oriented(code, direction)
    olo, ohi = oriented_range(lo, hi, direction)
    t = search_thresholds(f, olo, ohi, -4, 7)
    grid = np.stack([np.arange(olo[c], ohi[c] + 1) for c in range(2)], axis=1)
    want = f(torch.from_numpy(grid)).numpy()
    got = -4 + (t[None, :, :] <= grid[:, :, None]).sum(axis=2)
    np.testing.assert_array_equal(got, want)
    assert code(torch.tensor([[1, 0]])).tolist() == [[0.0, 0.0]]  # 0.5 -> 0 (even)
    assert code(torch.tensor([[3, 0]])).tolist() == [[2.0, 0.0]]  # 1.5 -> 2 (even)


def test_chain_values_equal_the_reference_kernels():
    rng = np.random.default_rng(0)
    c = 5
    bn = nn.BatchNorm(eps=1e-5)
    bnw = {
        "scale": rng.normal(size=c),
        "bias": rng.normal(size=c),
        "mean": rng.normal(size=c),
        "var": rng.uniform(0.5, 2, size=c),
    }
    mul = nn.BinaryConst("Mul")
    add = nn.BinaryConst("Add", const_first=True)
    shape = (1, c, 4, 4)
    chain = (
        Chain.start(rng.normal(size=c), rng.uniform(0.1, 1, size=c), 4)
        .then(bn, bnw, shape, "bn")
        .then(mul, {"const": np.float64(0.37)}, shape, "mul")
        .then(add, {"const": rng.normal(size=(1, c, 1, 1))}, shape, "add")
    )
    a = torch.from_numpy(rng.integers(-50, 50, size=(7, c)))
    x = (a.to(torch.float64) - torch.from_numpy(chain.head.zero)) * torch.from_numpy(
        chain.head.scale
    )
    x = x.reshape(7, c, 1, 1)
    for op, w in (
        (bn, bnw),
        (mul, {"const": np.float64(0.37)}),
        (add, {"const": chain.ops[2][1]["const"].numpy()}),
    ):
        x = nn_kernels.apply_elementwise(
            op, x, {k: torch.as_tensor(np.asarray(v)) for k, v in w.items()}
        )
    np.testing.assert_array_equal(chain.values(a).numpy(), x.reshape(7, c).numpy())
    m, c0 = chain.linear()
    np.testing.assert_allclose(chain.values(a).numpy(), m * a.numpy() + c0, rtol=1e-9, atol=1e-9)
    assert chain.then(nn.Relu(), {}, shape, "relu").linear() is None
    assert chain.direction().tolist() == np.where(m < 0, -1, 1).tolist()


def test_per_channel_rejects_spatially_varying_constants():
    with pytest.raises(FoldError, match="varies over the image"):
        per_channel(np.arange(4.0).reshape(1, 1, 2, 2), (1, 1, 2, 2), "const")
    assert per_channel(np.float64(2.0), (1, 3, 2, 2), "c").tolist() == [2.0, 2.0, 2.0]


def _pad_conv_graph(value: float, reader: str) -> Graph:
    rng = np.random.default_rng(0)
    x = TensorInfo("x", (1, 2, 5, 5), FLOAT32, "NCHW")
    pad = Node.create("pad", nn.Pad((1, 0, 2, 1), value), [x], "p")
    if reader == "conv":
        op = nn.Conv((3, 3), pads=(0, 1, 0, 0))
        w = {"weight": rng.normal(size=(3, 2, 3, 3)), "weight_scale": np.ones(3)}
    else:
        op, w = nn.MaxPool((2, 2), (2, 2)), {}
    out = Node.create("reader", op, [pad.output], "y", w)
    return Graph.build([x], [pad, out], ["y"])


@pytest.mark.parametrize(("value", "reader"), [(0.0, "conv"), (float("-inf"), "pool")])
def test_fuse_pad_keeps_outputs(value, reader):
    g = _pad_conv_graph(value, reader)
    fused = fuse_pad(g)
    assert [n.op.kind for n in fused.nodes] == [g.nodes[1].op.kind]
    x = np.random.default_rng(1).normal(size=(2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], run_graph(fused, {"x": x})["y"])


def test_fuse_pad_leaves_other_pads():
    g = _pad_conv_graph(1.5, "conv")
    assert fuse_pad(g) is g
