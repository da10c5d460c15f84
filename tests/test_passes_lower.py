"""Lowering on small hand-built nn graphs: structure, and equal codes before and after."""

from __future__ import annotations

import numpy as np
import pytest

from alveoflow.compiler.ir import BIPOLAR, FLOAT32, Graph, Node, QType, TensorInfo, hw, nn
from alveoflow.compiler.passes.legalize import legalize
from alveoflow.compiler.passes.lower.duplicate import insert_duplicate_streams
from alveoflow.compiler.passes.lower.walk import lower_to_hw
from alveoflow.compiler.pipeline import run_passes
from alveoflow.errors import LegalizationError
from alveoflow.testing.golden import compare

RNG = np.random.default_rng(0)


class Net:
    """Appends nn nodes; tensors are named after their node."""

    def __init__(self, shape: tuple[int, ...], qtype: QType = FLOAT32) -> None:
        self.x = TensorInfo("x", shape, qtype, "NCHW" if len(shape) == 4 else "NC")
        self.nodes: list[Node] = []
        self.infos = {"x": self.x}

    def add(self, name: str, op, inputs: list[str], weights=None) -> str:
        node = Node.create(name, op, [self.infos[t] for t in inputs], name, weights)
        self.nodes.append(node)
        self.infos[name] = node.output
        return name

    def quant(self, name, x, bits, signed, scale, narrow=False) -> str:
        op = nn.Quant(bits, signed, narrow)
        return self.add(name, op, [x], {"scale": np.float64(scale), "zero_point": np.float64(0)})

    def conv(self, name, x, out_ch, k=3, stride=1, pad=1, wbits=2, group=1, bias=False) -> str:
        cin = self.infos[x].shape[1] // group
        wdt = BIPOLAR if wbits == 1 else QType.sint(wbits)
        if wbits == 1:
            w = RNG.choice([-1, 1], size=(out_ch, cin, k, k)).astype(np.int8)
        else:
            w = RNG.integers(wdt.min + 1, wdt.max + 1, size=(out_ch, cin, k, k)).astype(np.int8)
        weights = {"weight": w, "weight_scale": RNG.uniform(0.01, 0.1, out_ch)}
        if bias:
            weights["bias"] = RNG.normal(size=out_ch)
        op = nn.Conv((k, k), (stride, stride), (pad,) * 4, group=group, wdt=wdt)
        return self.add(name, op, [x], weights)

    def bn(self, name, x, gamma=None) -> str:
        c = self.infos[x].shape[1]
        gamma = RNG.uniform(0.5, 2.0, c) if gamma is None else gamma
        w = {
            "scale": gamma,
            "bias": RNG.normal(0.5, 0.5, c),
            "mean": RNG.normal(0, 2, c),
            "var": RNG.uniform(1, 4, c),
        }
        return self.add(name, nn.BatchNorm(1e-5), [x], w)

    def head(self, x, classes=6) -> str:
        _, c, h, w = self.infos[x].shape
        x = self.add("pool", nn.AveragePool((h, w), (1, 1)), [x])
        x = self.add("flat", nn.Reshape((c,)), [x])
        weights = {
            "weight": RNG.integers(-127, 128, (classes, c)).astype(np.int8),
            "weight_scale": np.full(classes, 0.02),
        }
        return self.add("fc", nn.Linear(QType.sint(8)), [x], weights)

    def graph(self, *outputs: str) -> Graph:
        return Graph.build([self.x], self.nodes, list(outputs))


def lower(g: Graph) -> Graph:
    out = run_passes(g, [lower_to_hw, insert_duplicate_streams, legalize])
    return out


def check_exact(g: Graph, lowered: Graph, x: np.ndarray) -> None:
    result = compare(g, lowered, x)
    assert result.exact, result.mismatches
    np.testing.assert_allclose(result.logits_hw, result.logits_ref, rtol=1e-6, atol=1e-6)


def x_float(shape, n=4):
    return np.random.default_rng(1).normal(size=(n,) + tuple(shape[1:])).astype(np.float32)


def test_conv_bn_relu_quant_becomes_thresholded_mvau():
    net = Net((1, 3, 8, 8))
    x = net.quant("in_q", "x", 8, True, 0.02)
    gamma = np.array([1.0, -0.7, 0.0, 1.5, -2.0, 0.3])  # negative and zero slopes
    x = net.bn("bn", net.conv("conv", x, 6, bias=True), gamma=gamma)
    x = net.quant("act", net.add("relu", nn.Relu(), [x]), 2, False, 0.4)
    g = net.graph(net.head(x))
    lowered = lower(g)
    kinds = [n.op.kind for n in lowered.nodes]
    assert kinds[:3] == ["QuantizeInput", "SlidingWindow", "MVAU"]
    mvau = lowered.node("conv")
    assert "thresholds" in mvau.weights and mvau.op.odt == QType.uint(2)
    src = g.node("conv").weights["weight"].transpose(0, 2, 3, 1).reshape(6, -1)
    flipped = np.all(mvau.weights["weights"] == -src, axis=1)
    assert flipped.tolist() == [False, True, False, False, True, False]
    assert lowered.meta["quant_map"]["act"]["tensor"] == "conv"
    check_exact(g, lowered, x_float(g.inputs[0].shape))


def test_pixel_input_normalisation_folds_into_the_first_conv():
    net = Net((1, 3, 6, 6), QType.uint(8))
    x = net.add("mul", nn.BinaryConst("Mul"), ["x"], {"const": np.float64(1 / 57.0)})
    mean = np.array([124.0, 116.0, 104.0]).reshape(1, 3, 1, 1)
    x = net.add("add", nn.BinaryConst("Add"), [x], {"const": -mean / 57.0})
    x = net.quant(
        "act",
        net.add("relu", nn.Relu(), [net.bn("bn", net.conv("conv", x, 4, wbits=8))]),
        3,
        False,
        0.3,
    )
    g = net.graph(net.head(x))
    lowered = lower(g)
    assert lowered.inputs[0].shape == (1, 6, 6, 3) and lowered.inputs[0].qtype == QType.uint(8)
    assert lowered.node("conv.swg").op.pad_values == (124, 116, 104)
    pixels = np.random.default_rng(2).integers(0, 256, (3, 3, 6, 6)).astype(np.float32)
    check_exact(g, lowered, pixels)


def test_per_channel_std_cannot_fold():
    net = Net((1, 3, 6, 6), QType.uint(8))
    x = net.add(
        "mul", nn.BinaryConst("Mul"), ["x"], {"const": np.array([1, 2, 3.0]).reshape(1, 3, 1, 1)}
    )
    x = net.quant("act", net.conv("conv", x, 4, wbits=8), 2, False, 0.3)
    g = net.graph(net.head(x))
    with pytest.raises(LegalizationError, match="conv: Conv: .*per-channel std"):
        lower(g)


def test_residual_add_with_shared_scale_is_a_saturating_addstreams():
    net = Net((1, 4, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("res_a", net.bn("bn1", net.conv("c1", x, 8)), 4, True, 0.5)
    b = net.quant("res_b", net.bn("bn2", net.conv("c2", x, 8, k=1, pad=0)), 4, True, 0.5)
    s = net.quant("res_sum", net.add("add", nn.Binary("Add"), [a, b]), 4, True, 0.5)
    y = net.quant("act", net.add("relu", nn.Relu(), [s]), 2, False, 0.7)
    g = net.graph(net.head(y))
    lowered = lower(g)
    add = lowered.node("add")
    assert isinstance(add.op, hw.AddStreams) and add.op.odt == QType.sint(4) and add.op.offset == 0
    assert lowered.meta["quant_map"]["res_sum"]["tensor"] == "add"
    dup = [n for n in lowered.nodes if isinstance(n.op, hw.DuplicateStreams)]
    assert [n.inputs for n in dup if n.inputs != ("fc.raw",)] == [("in_q",)]  # fc: top-k + DMA
    check_exact(g, lowered, x_float(g.inputs[0].shape, 8) * 3)


@pytest.mark.parametrize("scale_b", [0.25, 0.3, 0.1234])
def test_add_with_different_scales_requantizes_one_side(scale_b):
    """Operands on scales 0.5 and ``scale_b``: small integer weights on each side (a
    Thresholding that multiplies) reproduce the quantized sum exactly."""
    net = Net((1, 4, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("qa", net.conv("c1", x, 8), 4, True, 0.5)
    b = net.quant("qb", net.conv("c2", x, 8), 4, True, scale_b)
    s = net.quant("qs", net.add("add", nn.Binary("Add"), [a, b]), 4, True, 0.5)
    g = net.graph(net.head(s))
    lowered = lower(g)
    add = lowered.node("add")
    assert isinstance(add.op, hw.AddStreams)
    scaled = [n for n in lowered.nodes if n.name.startswith("add.scale_")]
    assert scaled and all(isinstance(n.op, hw.ScaleStream) for n in scaled)
    if scale_b == 0.25:  # 0.5 a + 0.25 b = 0.25 (2 a + b): a is doubled, b kept
        assert [n.name for n in scaled] == ["add.scale_a"]
        assert lowered.node("add.scale_a").op.odt == QType.sint(5)
    x = x_float(g.inputs[0].shape, 16) * 3
    check_exact(g, lowered, x)


def test_add_of_8_bit_streams_with_arbitrary_scales_is_exact():
    net = Net((1, 8, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("qa", net.conv("c1", x, 16), 8, True, 0.05)
    b = net.quant("qb", net.conv("c2", x, 16), 8, True, 0.1234)
    s = net.add("relu", nn.Relu(), [net.add("add", nn.Binary("Add"), [a, b])])
    g = net.graph(net.head(net.quant("qs", s, 8, False, 0.09)))
    lowered = lower(g)
    factors = [int(lowered.node(f"add.scale_{k}").weights["factors"][0]) for k in "ab"]
    assert 1 < max(factors) <= 4096  # 0.05 a + 0.1234 b needs finer weights than 1:2 or 2:5
    check_exact(g, lowered, x_float(g.inputs[0].shape, 8) * 4)


def test_add_with_different_scales_used_unquantized_is_reported():
    net = Net((1, 4, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("qa", net.conv("c1", x, 8), 4, True, 0.5)
    b = net.quant("qb", net.conv("c2", x, 8), 4, True, 0.3)
    s = net.add("add", nn.Binary("Add"), [a, b])
    g = net.graph(net.head(s))  # the sum goes into an average pool, not a quantizer
    with pytest.raises(LegalizationError) as info:
        lower(g)
    assert "the operands of the add have different scales and the sum is used unquantized" in (
        str(info.value)
    )


def test_float_arithmetic_between_quantizers_is_reported():
    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    x = net.bn("bn", net.conv("c1", x, 4))
    x = net.quant("q", net.conv("c2", x, 4), 2, False, 0.3)  # BN output feeds a conv directly
    y = net.add("t", nn.Transpose((0, 1, 3, 2)), [x])
    g = net.graph(net.head(y))
    with pytest.raises(LegalizationError) as info:
        lower(g)
    text = str(info.value)
    assert "c2: Conv: the input scale differs per channel" in text
    assert "node(s) after c2" in text


def test_depthwise_conv_maxpool_and_relu_clamp():
    net = Net((1, 4, 8, 8))
    x = net.quant("in_q", "x", 8, True, 0.02)
    x = net.quant(
        "a1",
        net.add("r1", nn.Relu(), [net.bn("bn1", net.conv("c1", x, 8, wbits=4))]),
        4,
        False,
        0.2,
    )
    x = net.add("mp", nn.MaxPool((2, 2), (2, 2)), [x])
    x = net.bn("bn2", net.conv("dw", x, 8, wbits=4, group=8))
    x = net.quant("a2", x, 4, True, 0.3)  # signed: the ReLU below becomes a clamp
    x = net.add("r2", nn.Relu(), [x])
    g = net.graph(net.head(x))
    lowered = lower(g)
    assert isinstance(lowered.node("dw").op, hw.VVAU)
    assert isinstance(lowered.node("mp").op, hw.StreamingMaxPool)
    clamp = lowered.node("r2")
    assert isinstance(clamp.op, hw.Thresholding) and clamp.op.odt == QType.uint(3)
    check_exact(g, lowered, x_float(g.inputs[0].shape))


def test_flatten_of_an_image_reorders_fc_columns():
    net = Net((1, 3, 4, 4))
    x = net.quant("in_q", "x", 4, True, 0.2)
    x = net.add("flat", nn.Reshape((48,)), [x])
    w = {
        "weight": RNG.integers(-7, 8, (5, 48)).astype(np.int8),
        "weight_scale": np.full(5, 0.1),
        "bias": RNG.normal(size=5),
    }
    g = net.graph(net.add("fc", nn.Linear(QType.sint(4)), [x], w))
    lowered = lower(g)
    assert [n.op.kind for n in lowered.nodes][:4] == [
        "QuantizeInput",
        "SlidingWindow",
        "Flatten",
        "MVAU",
    ]
    assert lowered.node("fc").op.external_weights
    check_exact(g, lowered, x_float(g.inputs[0].shape))


def test_duplicate_streams_feed_every_reader():
    net = Net((1, 4, 6, 6))
    x = net.quant("in_q", "x", 4, True, 0.1)
    a = net.quant("qa", net.conv("c1", x, 4), 3, True, 0.5)
    b = net.quant("qb", net.conv("c2", x, 4), 3, True, 0.5)
    c = net.quant("qc", net.conv("c3", x, 4), 3, True, 0.5)
    s = net.quant("s1", net.add("add1", nn.Binary("Add"), [a, b]), 3, True, 0.5)
    s = net.quant("s2", net.add("add2", nn.Binary("Add"), [s, c]), 3, True, 0.5)
    g = net.graph(net.head(s))
    lowered = lower(g)
    dup = lowered.node("in_q.dup")
    assert dup.op.copies == 3 and [t.name for t in dup.outputs] == [
        "in_q.dup.0",
        "in_q.dup.1",
        "in_q.dup.2",
    ]
    readers = [n for n in lowered.nodes if "in_q" in n.inputs]
    assert [n.name for n in readers] == ["in_q.dup"]
    check_exact(g, lowered, x_float(g.inputs[0].shape))


def test_legalize_lists_every_leftover_node():
    x = TensorInfo("x", (1, 4), FLOAT32, "NC")
    r = Node.create("r", nn.Relu(), [x], "r")
    t = Node.create(
        "t", nn.Unmapped("Concat", "Concat has no hardware op yet", ((1, 4),)), [r.output], "t"
    )
    g = Graph.build([x], [r, t], ["t"])
    with pytest.raises(LegalizationError) as info:
        legalize(g)
    assert [p[0] for p in info.value.problems] == ["r", "t"]
    assert "Relu is not a hardware op" in str(info.value)


def test_negated_full_range_weights_widen_by_one_bit():
    net = Net((1, 2, 5, 5))
    x = net.quant("in_q", "x", 4, True, 0.1)
    w = np.full((3, 2, 3, 3), -8, np.int8)  # INT4 minimum everywhere
    w[:, :, 1, 1] = 7
    conv = nn.Conv((3, 3), pads=(1, 1, 1, 1), wdt=QType.sint(4))
    x = net.add("conv", conv, [x], {"weight": w, "weight_scale": np.full(3, 0.05)})
    x = net.quant("act", net.bn("bn", x, gamma=np.array([1.0, -1.0, 0.5])), 3, True, 0.5)
    g = net.graph(net.head(x))
    lowered = lower(g)
    mvau = lowered.node("conv")
    assert mvau.op.wdt == QType.sint(5) and mvau.weights["weights"][1].max() == 8
    check_exact(g, lowered, x_float(g.inputs[0].shape))
