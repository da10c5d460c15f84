"""Lowering of the ops Brevitas users have beyond conv/BN/ReLU: dead channels, monotone
activations, Clip, Concat, nearest upsampling and gates (small hand-built nn graphs; equal
codes before and after, and the errors for what has no exact integer form)."""

from __future__ import annotations

import numpy as np
import pytest
from test_passes_lower import Net, check_exact, lower, x_float

from alveoflow.compiler.ir import QType, hw, nn
from alveoflow.errors import LegalizationError


def _stem(net: Net, channels: int = 4) -> str:
    x = net.quant("in_q", "x", 8, True, 0.02)
    return net.bn("bn", net.conv("conv", x, channels, wbits=4))


def test_dead_channels_after_relu_fold_to_constants():
    """Signed codes that never reach 0 on one channel (a ReLU that is always 0 there) and a
    BN with zero gain on another (a constant): those channels become constant codes, and
    the conv that reads them still folds."""
    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    gamma = np.array([1.0, 0.0, 1.2, 0.8])
    x = net.bn("bn", net.conv("conv", x, 4, wbits=4), gamma=gamma)
    bn = net.nodes[-1]
    weights = dict(bn.weights)
    weights["bias"] = np.array([0.3, 0.45, -1e3, 0.2])  # channel 2: always negative
    net.nodes[-1] = bn.__class__.create(bn.name, bn.op, [net.infos["conv"]], bn.name, weights)
    x = net.add("relu", nn.Relu(), [net.quant("q", x, 4, True, 0.25)])
    x = net.quant("act", net.conv("conv2", x, 4, wbits=4), 3, False, 0.25)
    g = net.graph(net.head(x))
    lowered = lower(g)
    clamp = lowered.node("relu")
    assert isinstance(clamp.op, hw.Thresholding)
    check_exact(g, lowered, x_float(g.inputs[0].shape, 6) * 3)


@pytest.mark.parametrize("fn", ["Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid"])
def test_monotone_activation_between_quantizers_becomes_thresholds(fn):
    net = Net((1, 3, 6, 6))
    x = net.quant("pre", _stem(net), 4, True, 0.4)
    x = net.add("act_fn", nn.Activation(fn, 0.1 if fn == "LeakyRelu" else 0.2, 0.5), [x])
    x = net.quant("post", x, 4, fn in ("Tanh", "LeakyRelu"), 0.07)
    g = net.graph(net.head(x))
    lowered = lower(g)
    assert isinstance(lowered.node("post").op, hw.Thresholding)
    check_exact(g, lowered, x_float(g.inputs[0].shape, 6) * 3)


def test_an_activation_without_a_quantizer_before_a_conv_is_reported():
    net = Net((1, 3, 6, 6))
    x = net.quant("pre", _stem(net), 4, True, 0.4)
    x = net.add("gate.sigmoid", nn.Activation("Sigmoid"), [x])
    x = net.quant("act", net.conv("conv2", x, 4, wbits=4), 2, False, 0.3)
    with pytest.raises(LegalizationError) as info:
        lower(net.graph(net.head(x)))
    assert "the activation gate.sigmoid must be followed by a quantizer before conv2" in str(
        info.value
    )


def test_hardtanh_clip_is_a_clamp_of_the_codes():
    net = Net((1, 3, 6, 6))
    x = net.quant("pre", _stem(net), 5, True, 0.25)
    x = net.add("hardtanh", nn.Clip(-1.0, 1.0), [x])
    x = net.quant("act", net.conv("conv2", x, 4, wbits=4), 3, False, 0.3)
    g = net.graph(net.head(x))
    lowered = lower(g)
    clamp = lowered.node("hardtanh")
    assert isinstance(clamp.op, hw.Thresholding) and clamp.op.odt == QType.sint(4)  # codes -4..4
    check_exact(g, lowered, x_float(g.inputs[0].shape, 6) * 3)


def test_concat_keeps_each_channels_scale_until_a_quantizer():
    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("qa", net.conv("ca", x, 2, wbits=4), 3, False, 0.3)
    b = net.quant("qb", net.conv("cb", x, 3, wbits=4), 4, True, 0.11)
    cat = net.add("cat", nn.Concat(1), [a, b])
    y = net.quant("merge", cat, 4, True, 0.2)
    g = net.graph(net.head(y))
    lowered = lower(g)
    node = lowered.node("cat")
    assert isinstance(node.op, hw.ConcatStreams) and node.op.channels == (2, 3)
    assert node.op.odt == QType.sint(4)  # holds UINT3 and INT4 values
    check_exact(g, lowered, x_float(g.inputs[0].shape, 6) * 3)


def test_conv_of_a_concat_on_different_scales_is_reported():
    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("qa", net.conv("ca", x, 2, wbits=4), 3, False, 0.3)
    b = net.quant("qb", net.conv("cb", x, 3, wbits=4), 3, False, 0.11)
    y = net.conv("after", net.add("cat", nn.Concat(1), [a, b]), 4, wbits=4)
    with pytest.raises(LegalizationError, match="after: Conv: the input scale differs"):
        lower(net.graph(net.head(net.quant("act", y, 2, False, 0.3))))


def test_nearest_upsample_then_add():
    net = Net((1, 3, 8, 8))
    x = net.quant("in_q", "x", 8, True, 0.02)
    skip = net.quant("skip", net.conv("c1", x, 4, wbits=4), 4, True, 0.2)
    down = net.add("down", nn.MaxPool((2, 2), (2, 2)), [skip])
    up = net.add("up", nn.Resize((2, 2)), [down])
    y = net.quant("sum", net.add("add", nn.Binary("Add"), [up, skip]), 4, True, 0.2)
    g = net.graph(net.head(y))
    lowered = lower(g)
    assert isinstance(lowered.node("up").op, hw.Upsample)
    check_exact(g, lowered, x_float(g.inputs[0].shape, 4) * 3)


def test_gate_multiplies_codes_and_image_products_are_reported():
    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    feat = net.quant("feat", net.conv("c1", x, 4, wbits=4), 3, False, 0.3)
    pooled = net.add("gap", nn.AveragePool((6, 6), (1, 1)), [feat])
    gate = net.quant("gate", net.add("sig", nn.Activation("Sigmoid"), [pooled]), 3, False, 1 / 7)
    y = net.quant("out", net.add("mul", nn.Binary("Mul"), [feat, gate]), 4, False, 0.05)
    g = net.graph(net.head(y))
    lowered = lower(g)
    mul = lowered.node("mul")
    assert isinstance(mul.op, hw.ChannelMul) and mul.op.odt == QType.uint(6)
    check_exact(g, lowered, x_float(g.inputs[0].shape, 6) * 3)

    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    a = net.quant("qa", net.conv("ca", x, 4, wbits=4), 3, False, 0.3)
    b = net.quant("qb", net.conv("cb", x, 4, wbits=4), 3, False, 0.3)
    y = net.quant("out", net.add("mul", nn.Binary("Mul"), [a, b]), 4, False, 0.05)
    with pytest.raises(LegalizationError, match="only an image times a per-channel gate"):
        lower(net.graph(net.head(y)))


def test_constant_pad_with_a_value_fuses_into_the_conv():
    from alveoflow.compiler.passes.streamline.fuse_pad import fuse_pad

    net = Net((1, 3, 6, 6))
    x = net.quant("in_q", "x", 8, True, 0.02)
    x = net.add("pad", nn.Pad((1, 2, 1, 0), 0.5), [x])  # 0.5 = 25 codes of 0.02
    x = net.quant("act", net.conv("conv", x, 4, wbits=4, pad=0), 3, False, 0.3)
    g = fuse_pad(net.graph(net.head(x)))
    conv = g.node("conv").op
    assert (
        conv.pads == (1, 2, 1, 0)
        and conv.pad_value == 0.5
        and "pad" not in {n.name for n in g.nodes}
    )
    lowered = lower(g)
    assert lowered.node("conv.swg").op.pad_values == (25,)
    check_exact(g, lowered, x_float(g.inputs[0].shape, 4))
