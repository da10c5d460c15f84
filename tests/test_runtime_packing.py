"""Host stages of the runtime (``alveoflow.runtime.packing``): split, quantise, top-k."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alveoflow.compiler.ir import QType, TensorInfo
from alveoflow.errors import ConfigError
from alveoflow.runtime.packing import (
    InputStage,
    dequantize,
    host_plan,
    pack_input,
    quantize_input,
    storage_dtype,
    topk_indices,
    unpack_outputs,
)
from alveoflow.testing import lowered_cnn, lowered_mlp, lowered_resnet


def test_storage_dtypes():
    assert storage_dtype(QType.uint(2)) == np.uint8
    assert storage_dtype(QType.sint(8)) == np.int8
    assert storage_dtype(QType.sint(9)) == np.int16
    assert storage_dtype(QType.uint(32)) == np.uint32
    assert storage_dtype(QType.bipolar_type()) == np.int8
    assert storage_dtype(QType.sint(33)) == np.int64


@pytest.mark.parametrize(
    "graph, kind",
    [
        (lowered_mlp((32, 16, 10)), "quantize"),
        (lowered_cnn(16, channels=(8,)), "quantize"),
        (lowered_resnet(18, width=0.125, input_size=32, num_classes=10), "pixels"),
    ],
)
def test_host_plan_splits_host_and_card(graph, kind):
    plan = host_plan(graph)
    assert plan.input.kind == kind
    assert not any(n.op.on_host for n in plan.card_graph.nodes)
    assert plan.card_graph.inputs[0] == plan.input.card
    kinds = {o.name: o.kind for o in plan.outputs}
    assert kinds == {"logits": "logits", "topk": "topk"}
    # the raw FC accumulator, through the DMA's copy of the stream top-k also reads
    assert plan.output("logits").card.name == "fc.dup.1"
    assert set(plan.card_outputs) == {"fc.dup.1", "topk"}
    assert plan.fc_node == "fc"


def _stage(shape, scale, zp, odt):
    user = TensorInfo("x", shape, QType.float32(), "NCHW" if len(shape) == 4 else "NC")
    card_shape = (shape[0], *shape[2:], shape[1]) if len(shape) == 4 else shape
    card = TensorInfo("q", card_shape, odt, "NHWC" if len(shape) == 4 else "NC")
    return InputStage("quantize", user, card, np.asarray(scale, np.float32), zp, odt.min, odt.max)


def _quant_reference(x, scale, zp, odt):
    s = np.asarray(scale, np.float32).reshape((1, -1) + (1,) * (x.ndim - 2))
    q = np.clip(np.rint(x.astype(np.float32) / s + np.float32(zp)), odt.min, odt.max)
    if x.ndim == 4:
        q = q.transpose(0, 2, 3, 1)
    return q.astype(storage_dtype(odt))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    hw=st.integers(1, 5),
    per_channel=st.booleans(),
    zp=st.sampled_from([0.0, 3.0, -2.0]),
    bits=st.integers(2, 8),
    signed=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_quantize_matches_formula(n, c, hw, per_channel, zp, bits, signed, seed):
    rng = np.random.default_rng(seed)
    odt = QType(bits, signed)
    scale = rng.uniform(0.01, 0.5, size=c if per_channel else 1).astype(np.float32)
    x = (rng.standard_normal((n, c, hw, hw)) * 4).astype(np.float32)
    x[..., 0] = np.round(x[..., 0] * 2) / 2 * scale.reshape(-1, 1)[: c if per_channel else 1]
    got = quantize_input(x, _stage((1, c, hw, hw), scale, zp, odt))
    np.testing.assert_array_equal(got, _quant_reference(x, scale, zp, odt))


def test_quantize_rounds_half_to_even_and_writes_into_buffer():
    odt = QType.sint(8)
    stage = _stage((1, 3), [0.5], 0.0, odt)
    x = np.array([[0.25, 0.75, -0.25]], np.float32)  # /0.5 -> 0.5, 1.5, -0.5
    out = np.full((2, 3), 99, np.int8)
    quantize_input(x, stage, out=out[:1])
    assert out[0].tolist() == [0, 2, 0] and out[1].tolist() == [99, 99, 99]


def test_pack_pixels_copies_into_out():
    plan = host_plan(lowered_resnet(18, width=0.125, input_size=32, num_classes=10))
    x = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    out = np.zeros((4, 32, 32, 3), np.uint8)
    pack_input(x, plan.input, out=out[:2])
    np.testing.assert_array_equal(out[:2], x)
    assert not out[2:].any()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 4),
    classes=st.integers(1, 30),
    k=st.integers(1, 30),
    levels=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_topk_matches_stable_sort_with_ties(n, classes, k, levels, seed):
    k = min(k, classes)
    rng = np.random.default_rng(seed)
    scores = rng.integers(-levels, levels + 1, size=(n, classes)).astype(np.int32)
    expected = np.argsort(-scores.astype(np.int64), axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(topk_indices(scores, k), expected)
    np.testing.assert_array_equal(topk_indices(scores.astype(np.float32), k), expected)


def test_topk_rejects_bad_k():
    with pytest.raises(ConfigError, match="k must be"):
        topk_indices(np.zeros((1, 3)), 4)


def test_dequantize_and_unpack():
    plan = host_plan(lowered_mlp((32, 16, 10)))
    logits = plan.output("logits")
    codes = np.arange(-10, 10, dtype=logits.card_dtype).reshape(2, 10)
    topk = np.array([[3], [7]], np.uint32)
    out = unpack_outputs({logits.card.name: codes, "topk": topk}, plan)
    expected = (codes.astype(np.float64) * logits.scale + logits.shift).astype(np.float32)
    np.testing.assert_array_equal(out["logits"], expected)
    np.testing.assert_array_equal(dequantize(codes, logits.scale, logits.shift), expected)
    assert out["topk"].dtype == np.int64 and out["topk"].tolist() == [[3], [7]]
