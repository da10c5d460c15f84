"""Building blocks of the alveoflow ResNets: quantised conv/act helpers and residual blocks.

Block contract (matches the reference ``w1a2_v1.0`` dataflow):

- ``input_quant`` (``QuantReLU``, ``act`` bits unsigned) re-quantises the block input, which
  is the signed residual stream (or the stem output), to the branch precision.
- Every conv inside a block (branch and projection shortcut) has body weights
  (bipolar at 1 bit), no bias, and is followed by BatchNorm.
- The branch's last BN, the projection shortcut's BN, the add itself and, for identity
  blocks whose input does not come from the same quantizer, the shortcut input all pass
  through ONE shared ``QuantIdentity`` (``residual_quant``, signed ``residual`` bits), so both
  operands of the add share a scale and the add's saturated result stays on that grid.
  One instance is shared by all blocks of a stage (it is registered under each block's
  ``residual_quant`` name; ``named_modules`` lists it once, under the stage's first block).
- A block returns the residual stream as a Brevitas ``QuantTensor``.
"""

from __future__ import annotations

from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
from torch import nn

from alveoflow.qnn import quantizers as q
from alveoflow.qnn.config import BitWidths


def body_conv(
    in_ch: int, out_ch: int, kernel: int, stride: int, weight_bits: int, scale_init: str
) -> QuantConv2d:
    """A bias-free conv with body weights and 'same' padding for odd kernels."""
    return QuantConv2d(
        in_ch,
        out_ch,
        kernel_size=kernel,
        stride=stride,
        padding=kernel // 2,
        bias=False,
        weight_quant=q.body_weight_quant(weight_bits, scale_init),
    )


def act(bits: int, scale_init: str = "percentile") -> QuantReLU:
    """An unsigned ``bits``-bit ReLU that returns a QuantTensor."""
    return QuantReLU(act_quant=q.act_quant(bits, scale_init), return_quant_tensor=True)


def residual(bits: int, scale_init: str = "percentile") -> QuantIdentity:
    """A signed ``bits``-bit residual-stream quantizer that returns a QuantTensor."""
    return QuantIdentity(act_quant=q.residual_quant(bits, scale_init), return_quant_tensor=True)


class _Block(nn.Module):
    """Shared construction and forward of basic and bottleneck blocks; subclasses build the
    branch layers (``_build_branch``) and define ``branch``."""

    downsample: nn.Sequential | None
    input_quant: nn.Module
    residual_quant: nn.Module
    expansion: int = 1

    def __init__(
        self,
        in_ch: int,
        planes: int,
        stride: int,
        bits: BitWidths,
        residual_quant: QuantIdentity,
        requant_shortcut: bool,
        version: str = "v1.0",
        scale_init: str = "percentile",
    ) -> None:
        """Builds, in this order (it fixes parameter init and module order): ``input_quant``,
        the branch (``_build_branch``), then the shortcut."""
        super().__init__()
        self.scale_init = scale_init
        self.input_quant = act(bits.act, scale_init)
        out_ch = self._build_branch(in_ch, planes, stride, bits, version)
        self._init_shortcut(in_ch, out_ch, stride, bits.weight, residual_quant, requant_shortcut)

    def _build_branch(
        self, in_ch: int, planes: int, stride: int, bits: BitWidths, version: str
    ) -> int:  # pragma: no cover - overridden
        """Creates the branch layers; returns the block's output channels."""
        raise NotImplementedError

    def _init_shortcut(
        self,
        in_ch: int,
        out_ch: int,
        stride: int,
        weight_bits: int,
        residual_quant: QuantIdentity,
        requant_shortcut: bool,
    ) -> None:
        self.residual_quant = residual_quant
        self.requant_shortcut = requant_shortcut
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                body_conv(in_ch, out_ch, 1, stride, weight_bits, self.scale_init),
                nn.BatchNorm2d(out_ch),
            )
        else:
            self.downsample = None

    def branch(self, x):  # pragma: no cover - overridden
        raise NotImplementedError

    def forward(self, x):
        xq = self.input_quant(x)
        out = self.residual_quant(self.branch(xq))
        if self.downsample is not None:
            shortcut = self.residual_quant(self.downsample(xq))
        elif self.requant_shortcut:
            shortcut = self.residual_quant(x)
        else:
            shortcut = x  # already on this quantizer's grid (previous block of the stage)
        return self.residual_quant(out + shortcut)


class BasicBlock(_Block):
    """Two 3x3 convs (ResNet-18/34 and the small variants); stride on the first conv."""

    expansion = 1

    def _build_branch(
        self, in_ch: int, planes: int, stride: int, bits: BitWidths, version: str
    ) -> int:
        self.conv1 = body_conv(in_ch, planes, 3, stride, bits.weight, self.scale_init)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = act(bits.act, self.scale_init)
        self.conv2 = body_conv(planes, planes, 3, 1, bits.weight, self.scale_init)
        self.bn2 = nn.BatchNorm2d(planes)
        return planes

    def branch(self, x):
        return self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))


class Bottleneck(_Block):
    """1x1 -> 3x3 -> 1x1 (x4 channels). v1.0: stride on the first 1x1; v1.5: on the 3x3."""

    expansion = 4

    def _build_branch(
        self, in_ch: int, planes: int, stride: int, bits: BitWidths, version: str
    ) -> int:
        stride1, stride2 = (stride, 1) if version == "v1.0" else (1, stride)
        out_ch = planes * self.expansion
        self.conv1 = body_conv(in_ch, planes, 1, stride1, bits.weight, self.scale_init)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = act(bits.act, self.scale_init)
        self.conv2 = body_conv(planes, planes, 3, stride2, bits.weight, self.scale_init)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = act(bits.act, self.scale_init)
        self.conv3 = body_conv(planes, out_ch, 1, 1, bits.weight, self.scale_init)
        self.bn3 = nn.BatchNorm2d(out_ch)
        return out_ch

    def branch(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


def make_stage(
    block: type[_Block],
    in_ch: int,
    planes: int,
    blocks: int,
    stride: int,
    bits: BitWidths,
    version: str,
    scale_init: str = "percentile",
) -> tuple[nn.Sequential, int]:
    """``blocks`` blocks sharing one residual quantizer; returns (stage, output channels)."""
    shared = residual(bits.residual, scale_init)
    layers = []
    for index in range(blocks):
        layers.append(
            block(
                in_ch,
                planes,
                stride if index == 0 else 1,
                bits,
                shared,
                requant_shortcut=index == 0,
                version=version,
                scale_init=scale_init,
            )
        )
        in_ch = planes * block.expansion
    return nn.Sequential(*layers), in_ch
