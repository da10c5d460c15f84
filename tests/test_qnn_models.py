"""Structure, bit widths, parameter count and forward shapes of the alveoflow.qnn zoo."""

from __future__ import annotations

import json

import pytest
import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from alveoflow.errors import ConfigError
from alveoflow.qnn import (
    BitWidths,
    QuantResNet50,
    ResNetConfig,
    build_model,
    calibrate_bn,
    quant_resnet_small,
)

torch.manual_seed(0)
TORCHVISION_RESNET50_PARAMS = 25_557_032  # conv + linear + BN weights/biases


@pytest.fixture(scope="module")
def resnet50() -> QuantResNet50:
    return QuantResNet50()


def weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, QuantConv2d | QuantLinear)}


def weight_bits(layer: nn.Module) -> int:
    return int(layer.quant_weight().bit_width.item())


def count_params(model: nn.Module) -> int:
    layer_types = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)
    return sum(
        p.numel()
        for m in model.modules()
        if isinstance(m, layer_types)
        for name, p in m.named_parameters(recurse=False)
        if name in ("weight", "bias")
    )


def test_resnet50_layer_count_and_params(resnet50):
    assert len(weight_layers(resnet50)) == 54
    assert count_params(resnet50) == TORCHVISION_RESNET50_PARAMS


def test_resnet50_bit_widths(resnet50):
    layers = weight_layers(resnet50)
    body = {n: m for n, m in layers.items() if n.startswith("layer")}
    assert len(body) == 52
    for name, layer in body.items():
        qw = layer.quant_weight()
        assert weight_bits(layer) == 1, name
        assert set(torch.unique(qw.value / qw.scale).tolist()) <= {-1.0, 1.0}, name
    assert weight_bits(layers["conv1"]) == 8 and weight_bits(layers["fc"]) == 8
    assert resnet50.fc.bias_quant.quant_injector.bit_width == 32
    acts = [m for m in resnet50.modules() if isinstance(m, QuantReLU)]
    assert acts and all(int(m.act_quant.bit_width().item()) == 2 for m in acts)
    residual = [m for m in resnet50.modules() if isinstance(m, QuantIdentity)]
    assert len(residual) == 4  # one shared instance per stage
    assert all(int(m.act_quant.bit_width().item()) == 4 and m.act_quant.is_signed for m in residual)


def test_residual_quantizer_shared_within_stage(resnet50):
    for stage in (resnet50.layer1, resnet50.layer4):
        assert len({id(block.residual_quant) for block in stage}) == 1
    assert resnet50.layer1[0].residual_quant is not resnet50.layer2[0].residual_quant


@pytest.mark.parametrize(
    ("version", "conv1_stride", "conv2_stride"), [("v1.0", 2, 1), ("v1.5", 1, 2)]
)
def test_stride_placement(version, conv1_stride, conv2_stride):
    model = QuantResNet50(version=version, width=0.25, input_size=64)
    block = model.layer2[0]
    assert block.conv1.stride == (conv1_stride, conv1_stride)
    assert block.conv2.stride == (conv2_stride, conv2_stride)
    assert block.downsample[0].stride == (2, 2)


@pytest.mark.parametrize(("bits", "expected"), [("w2a2", (2, 2, 4)), ("w4a4", (4, 4, 8))])
def test_configurable_bits(bits, expected):
    model = quant_resnet_small(bits=bits)
    w, a, r = expected
    assert weight_bits(model.layer2[0].conv1) == w
    assert int(model.layer2[0].relu1.act_quant.bit_width().item()) == a
    assert int(model.layer2[0].residual_quant.act_quant.bit_width().item()) == r
    assert weight_bits(model.conv1) == 8


@given(st.integers(1, 16), st.integers(1, 16), st.integers(2, 16))
def test_bit_string_round_trip(w, a, r):
    parsed = BitWidths.parse(f"w{w}a{a}r{r}")
    assert (parsed.weight, parsed.act, parsed.residual) == (w, a, r)
    assert BitWidths.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["w1", "a2w1", "w0a2", "w1a2r1", "", "w1a2r4x"])
def test_bad_bit_strings(text):
    with pytest.raises(ConfigError):
        BitWidths.parse(text)


@pytest.mark.parametrize(
    ("name", "options", "shape", "classes"),
    [
        ("resnet50", {}, (1, 3, 224, 224), 1000),
        ("resnet18", {"input_size": 64, "num_classes": 7}, (2, 3, 64, 64), 7),
        ("resnet34", {"input_size": 64, "width": 0.5}, (1, 3, 64, 64), 1000),
        ("resnet_small_28", {}, (3, 1, 28, 28), 10),
        ("resnet_small_32", {"pixel_input": False}, (2, 3, 32, 32), 10),
    ],
)
def test_forward_shapes(name, options, shape, classes):
    model = calibrate_bn(build_model(name, **options), batches=1, batch_size=1)
    with torch.no_grad():
        out = model(torch.randint(0, 256, shape).float())
    assert out.shape == (shape[0], classes)
    assert torch.isfinite(out).all() and out.std() > 0


def test_width_multiplier():
    model = build_model("resnet_small_32", width=2.0)
    assert model.conv1.out_channels == 32 and model.fc.in_features == 128


def test_unknown_model_name_suggests():
    with pytest.raises(ConfigError, match="resnet50"):
        build_model("resnet05")


def test_unknown_option_suggests():
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("resnet_small_28", num_clases=3)


def test_config_json_round_trip():
    model = build_model("resnet_small_32", bits="w2a2", version="v1.5", num_classes=4)
    text = json.dumps(model.config.to_dict())
    assert ResNetConfig.from_dict(json.loads(text)) == model.config
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        model.config.bits = "w8a8"


def test_pixel_norm_is_fixed(resnet50):
    assert not any("normalize" in name for name, _ in resnet50.named_parameters())
    assert "normalize.scale" not in resnet50.state_dict()
