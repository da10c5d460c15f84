"""A zoo of small networks written the way Brevitas users write them.

Plain ``brevitas.nn`` layers with their default quantizers (``QuantReLU(bit_width=4)``,
``QuantConv2d(..., weight_bit_width=4)``, ``return_quant_tensor`` left off), ordinary
PyTorch glue (``torch.flatten``, ``torch.cat``, ``F.interpolate``, ``x.mean``) and no
alveoflow code. Each ``Case`` says what input the model takes (the float grid a user would
declare with ``--input-quant``, or ``None`` when the model quantizes its own input) and how
to draw inputs on that grid.

``make(case)`` builds the model with seeded weights and calibrates BatchNorm and activation
scales on inputs of the case's distribution, so outputs are not degenerate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from brevitas import nn as qnn
from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
from torch import nn


def _conv_bn_relu(cin: int, cout: int, wbits: int, abits: int, **conv: int) -> list[nn.Module]:
    kernel = conv.pop("kernel", 3)
    return [
        qnn.QuantConv2d(cin, cout, kernel, bias=False, weight_bit_width=wbits, **conv),
        nn.BatchNorm2d(cout),
        qnn.QuantReLU(bit_width=abits),
    ]


class PrepMLP(nn.Module):
    """Float pre-processing (``2x - 1``), flatten, an 8-bit input quantizer, 4-bit MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.fc1 = qnn.QuantLinear(256, 64, bias=False, weight_bit_width=4)
        self.bn1 = nn.BatchNorm1d(64)
        self.act1 = qnn.QuantReLU(bit_width=4)
        self.fc2 = qnn.QuantLinear(64, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(2 * x - 1, 1)
        return self.fc2(self.act1(self.bn1(self.fc1(self.inp(x)))))


class RawMLP(nn.Module):
    """Float pixels straight into an 8-bit-weight first layer (declared input grid)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = qnn.QuantLinear(256, 48, bias=True, weight_bit_width=8)
        self.bn1 = nn.BatchNorm1d(48)
        self.act1 = qnn.QuantReLU(bit_width=2)
        self.fc2 = qnn.QuantLinear(48, 48, bias=False, weight_bit_width=2)
        self.bn2 = nn.BatchNorm1d(48)
        self.act2 = qnn.QuantReLU(bit_width=2)
        self.fc3 = qnn.QuantLinear(48, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(x.size(0), -1)
        x = self.act1(self.bn1(self.fc1(x)))
        return self.fc3(self.act2(self.bn2(self.fc2(x))))


class RawVGG(nn.Module):
    """VGG-style CNN fed raw float input: 8-bit first conv (zero padding), 4-bit body,
    max pools, flatten of a 4x4 map into the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv_bn_relu(3, 16, 8, 4, padding=1),
            *_conv_bn_relu(16, 16, 4, 4, padding=1),
            nn.MaxPool2d(2),
            *_conv_bn_relu(16, 32, 4, 4, padding=1),
            nn.MaxPool2d(2),
        )
        self.classifier = qnn.QuantLinear(32 * 4 * 4, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class BinaryVGG(nn.Module):
    """FINN CNV-style: 8-bit input quantizer, 1-bit weights and sign activations
    (unpadded convs), a binary FC and an 8-bit classifier."""

    def __init__(self) -> None:
        super().__init__()
        sign = {"act_quant": SignedBinaryActPerTensorConst}
        binw = {"weight_quant": SignedBinaryWeightPerTensorConst}
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.conv1 = qnn.QuantConv2d(3, 16, 3, bias=False, weight_bit_width=8)
        self.bn1 = nn.BatchNorm2d(16)
        self.act1 = qnn.QuantIdentity(**sign)
        self.conv2 = qnn.QuantConv2d(16, 32, 3, bias=False, **binw)
        self.bn2 = nn.BatchNorm2d(32)
        self.act2 = qnn.QuantIdentity(**sign)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = qnn.QuantLinear(32 * 6 * 6, 32, bias=False, **binw)
        self.bn3 = nn.BatchNorm1d(32)
        self.act3 = qnn.QuantIdentity(**sign)
        self.fc2 = qnn.QuantLinear(32, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(self.inp(x))))
        x = self.pool(self.act2(self.bn2(self.conv2(x))))
        x = self.act3(self.bn3(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


class Block(nn.Module):
    """A basic residual block as users write it: each branch ends in its own quantizer, so
    the two operands of the add have different scales."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = qnn.QuantConv2d(cin, cout, 3, stride, 1, bias=False, weight_bit_width=4)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = qnn.QuantReLU(bit_width=4)
        self.conv2 = qnn.QuantConv2d(cout, cout, 3, 1, 1, bias=False, weight_bit_width=4)
        self.bn2 = nn.BatchNorm2d(cout)
        self.out_quant = qnn.QuantIdentity(bit_width=4)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                qnn.QuantConv2d(cin, cout, 1, stride, bias=False, weight_bit_width=4),
                nn.BatchNorm2d(cout),
                qnn.QuantIdentity(bit_width=4),
            )
        self.relu2 = qnn.QuantReLU(bit_width=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.out_quant(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))
        return self.relu2(out + self.shortcut(x))


class ResNet(nn.Module):
    """A small CIFAR-style ResNet: raw float input into an 8-bit stem conv, two residual
    blocks (one downsampling), global average pool, 8-bit classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn_relu(3, 16, 8, 4, padding=1))
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = qnn.QuantLinear(32, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class MobileNet(nn.Module):
    """MobileNet-v1-style: input quantizer, strided stem, depthwise-separable blocks,
    adaptive average pool, 8-bit classifier."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [qnn.QuantIdentity(bit_width=8)]
        layers += _conv_bn_relu(3, 16, 8, 4, stride=2, padding=1)
        for cin, cout, stride in ((16, 24, 1), (24, 32, 2)):
            layers += _conv_bn_relu(cin, cin, 4, 4, stride=stride, padding=1, groups=cin)
            layers += _conv_bn_relu(cin, cout, 4, 4, kernel=1)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = qnn.QuantLinear(32, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class LeNet(nn.Module):
    """LeNet-5 with a QuantHardTanh input quantizer, max pools and three FC layers."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = qnn.QuantHardTanh(bit_width=8, min_val=-1.0, max_val=1.0)
        self.conv1 = qnn.QuantConv2d(1, 6, 5, bias=True, weight_bit_width=4)
        self.relu1 = qnn.QuantReLU(bit_width=4)
        self.conv2 = qnn.QuantConv2d(6, 16, 5, bias=True, weight_bit_width=4)
        self.relu2 = qnn.QuantReLU(bit_width=4)
        self.fc1 = qnn.QuantLinear(16 * 4 * 4, 32, bias=True, weight_bit_width=4)
        self.relu3 = qnn.QuantReLU(bit_width=4)
        self.fc2 = qnn.QuantLinear(32, 16, bias=True, weight_bit_width=4)
        self.relu4 = qnn.QuantReLU(bit_width=4)
        self.fc3 = qnn.QuantLinear(16, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.relu1(self.conv1(self.inp(x))), 2)
        x = F.max_pool2d(self.relu2(self.conv2(x)), 2)
        x = x.view(-1, 16 * 4 * 4)
        return self.fc3(self.relu4(self.fc2(self.relu3(self.fc1(x)))))


class UNet(nn.Module):
    """A small U-Net-like encoder/decoder: max-pool down, nearest upsample, a channel
    concat of the skip connection (requantized by a QuantIdentity), classifier head."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.enc = nn.Sequential(*_conv_bn_relu(3, 8, 4, 4, padding=1))
        self.down = nn.Sequential(*_conv_bn_relu(8, 16, 4, 4, padding=1))
        self.up = nn.Sequential(*_conv_bn_relu(16, 8, 4, 4, kernel=1))
        self.merge = qnn.QuantIdentity(bit_width=4)
        self.dec = nn.Sequential(*_conv_bn_relu(16, 16, 4, 4, padding=1))
        self.fc = qnn.QuantLinear(16, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(self.inp(x))
        y = self.up(self.down(F.max_pool2d(skip, 2)))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = self.dec(self.merge(torch.cat([y, skip], dim=1)))
        return self.fc(y.mean((2, 3)))


class SENet(nn.Module):
    """A conv stem and one squeeze-and-excitation block: global pool, FC-ReLU-FC, a 4-bit
    QuantSigmoid gate multiplied into the feature map."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.stem = nn.Sequential(*_conv_bn_relu(3, 16, 4, 4, padding=1, stride=2))
        self.squeeze = qnn.QuantLinear(16, 4, bias=True, weight_bit_width=4)
        self.relu = qnn.QuantReLU(bit_width=4)
        self.excite = qnn.QuantLinear(4, 16, bias=True, weight_bit_width=4)
        self.gate = qnn.QuantSigmoid(bit_width=4)
        self.out_quant = qnn.QuantIdentity(bit_width=4)
        self.fc = qnn.QuantLinear(16, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.inp(x))
        pooled = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        s = self.gate(self.excite(self.relu(self.squeeze(pooled))))
        x = self.out_quant(x * s.view(s.size(0), -1, 1, 1))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class PrepCNN(nn.Module):
    """Per-channel mean/std normalisation in float, then an unpadded 8-bit first conv on
    the declared input grid."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1))
        self.features = nn.Sequential(
            *_conv_bn_relu(3, 16, 8, 4),
            nn.MaxPool2d(2),
            *_conv_bn_relu(16, 16, 2, 2, padding=1),
        )
        self.fc = qnn.QuantLinear(16 * 7 * 7, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / 0.25
        return self.fc(torch.flatten(self.features(x), 1))


@dataclass(frozen=True)
class Case:
    """One zoo network: its builder, input shape and input grid."""

    name: str
    build: Callable[[], nn.Module]
    shape: tuple[int, ...]
    input_quant: str | None  # what the user declares with --input-quant (None: not needed)
    grid: tuple[str, float, int]  # (dtype, scale, zero point) the inputs are drawn on
    cppsim: bool = False

    def inputs(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` float32 inputs on the case's grid, ``scale * (code - zero_point)``: smooth
        random images (a coarse random field, upsampled, plus a little noise), so that
        images differ in their large-scale content as natural images do."""
        dtype, scale, zero = self.grid
        rng = np.random.default_rng(seed)
        lo, hi = (0, 255) if dtype == "uint8" else (-127, 127)
        shape = (n,) + self.shape[1:]
        coarse = torch.from_numpy(rng.normal(size=shape[:2] + (4, 4)))
        field = F.interpolate(coarse, size=shape[2:], mode="bilinear", align_corners=False)
        field = field.numpy() + 0.3 * rng.normal(size=shape)
        codes = np.clip(np.round((lo + hi) / 2 + (hi - lo) / 4 * field), lo, hi)
        return (np.float32(scale) * (codes - zero).astype(np.float32)).astype(np.float32)


UINT8 = ("uint8", 1 / 255, 0)
INT8 = ("int8", 1 / 127, 0)
CASES = {
    c.name: c
    for c in (
        Case("prep_mlp", PrepMLP, (1, 1, 16, 16), None, UINT8, cppsim=True),
        Case("raw_mlp", RawMLP, (1, 1, 16, 16), "uint8:0.00392156862745098", UINT8, cppsim=True),
        Case("raw_vgg", RawVGG, (1, 3, 16, 16), "uint8:0.00392156862745098", UINT8, cppsim=True),
        Case("binary_vgg", BinaryVGG, (1, 3, 16, 16), None, INT8),
        Case("resnet", ResNet, (1, 3, 16, 16), "int8:0.007874015748031496", INT8),
        Case("mobilenet", MobileNet, (1, 3, 16, 16), None, INT8, cppsim=True),
        Case("lenet", LeNet, (1, 1, 28, 28), None, INT8),
        Case("unet", UNet, (1, 3, 16, 16), None, INT8),
        Case("se", SENet, (1, 3, 16, 16), None, INT8),
        Case("prep_cnn", PrepCNN, (1, 3, 16, 16), "uint8:0.00392156862745098", UINT8),
    )
}


def make(case: Case, seed: int = 0, batches: int = 4) -> nn.Module:
    """The case's model with seeded weights, calibrated on inputs of its distribution and
    returned in eval mode: BatchNorm statistics (averaged) and activation scales from a few
    train-mode batches, then the classifier's bias centred so that the mean logit of every
    class is zero (a random network's logits otherwise differ mostly by their bias, and
    every image gets the same label)."""
    torch.manual_seed(seed)
    model = case.build()
    for bn in model.modules():
        if isinstance(bn, nn.BatchNorm1d | nn.BatchNorm2d):
            bn.momentum = None  # a plain average over the calibration batches
    model.train()
    with torch.no_grad():
        for k in range(batches):
            model(torch.from_numpy(case.inputs(32, seed=1000 + k)))
        model.eval()
        classifier = [m for m in model.modules() if isinstance(m, qnn.QuantLinear)][-1]
        logits = model(torch.from_numpy(case.inputs(64, seed=2000)))
        classifier.bias -= logits.mean(0)
    return model


def export(model: nn.Module, case: Case, path: str) -> str:
    """Export with Brevitas' own QONNX exporter, as a user would."""
    from brevitas.export import export_qonnx

    example = torch.from_numpy(case.inputs(1, seed=99))
    export_qonnx(model, example, export_path=path, dynamo=False)
    return path
