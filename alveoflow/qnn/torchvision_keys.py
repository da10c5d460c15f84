"""Float ResNets from plain torchvision state_dicts (``torchvision.models.resnet50()``'s).

torchvision's ResNet-18/34/50 use the same parameter names as the alveoflow layouts
(``conv1``, ``bn1``, ``layer3.2.conv2``, ``layer2.0.downsample.0``, ``fc``), so a state_dict
maps onto a :class:`~alveoflow.qnn.float_twin.FloatResNet` key for key once the layout is
read from it: the block type (``conv3`` present: bottleneck), the blocks per stage and the
class count (``fc.weight``). torchvision's networks are "v1.5" (a bottleneck strides on its
3x3), put the ReLU after the residual add (``style="torchvision"``) and take images
normalised per channel with the ImageNet mean and std; the model built here takes 0..255
pixels and applies that normalisation itself. torchvision itself is not needed.

Accepted containers: a bare state_dict, ``{"state_dict": ...}`` or ``{"model": ...}``, with or
without DistributedDataParallel's ``module.`` prefix.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from alveoflow.errors import CheckpointError
from alveoflow.qnn.config import ResNetConfig
from alveoflow.qnn.float_twin import FloatResNet
from alveoflow.qnn.resnet import ARCHS

TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
_BLOCK_KEY = re.compile(r"^layer(\d+)\.(\d+)\.")
_REQUIRED = ("conv1.weight", "bn1.weight", "fc.weight", "fc.bias", "layer1.0.conv1.weight")


def plain_state_dict(data: Any) -> dict[str, torch.Tensor]:
    """The tensors of a (possibly wrapped, possibly ``module.``-prefixed) state_dict."""
    if isinstance(data, dict):
        for key in ("state_dict", "model"):
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise CheckpointError("not a state_dict: expected a dict of parameter names to tensors")
    if data and all(key.startswith("module.") for key in data):
        data = {key[len("module.") :]: value for key, value in data.items()}
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}


def is_torchvision_resnet(state: dict[str, Any]) -> bool:
    """True for a float state_dict with torchvision's ResNet key names (no quantizer state)."""
    if not all(key in state for key in _REQUIRED):
        return False
    if any("quant" in key for key in state):
        return False
    return getattr(state["conv1.weight"], "shape", (0,))[1:] == (3, 7, 7)


def _blocks_per_stage(state: dict[str, Any]) -> tuple[int, ...]:
    counts: dict[int, int] = {}
    for key in state:
        match = _BLOCK_KEY.match(key)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            counts[stage] = max(counts.get(stage, 0), block + 1)
    return tuple(counts[stage] for stage in sorted(counts))


def torchvision_config(state: dict[str, Any], input_size: int = 224) -> ResNetConfig:
    """The ``ResNetConfig`` (v1.5, width 1) of a torchvision ResNet state_dict."""
    bottleneck = "layer1.0.conv3.weight" in state
    blocks = _blocks_per_stage(state)
    for name, arch in ARCHS.items():
        is_bottleneck = arch.block.__name__ == "Bottleneck"
        if arch.stem == "imagenet" and arch.blocks == blocks and is_bottleneck == bottleneck:
            return ResNetConfig(
                arch=name,
                version="v1.5",
                num_classes=int(state["fc.weight"].shape[0]),
                in_channels=3,
                input_size=input_size,
            )
    kind = "bottleneck" if bottleneck else "basic"
    raise CheckpointError(
        f"torchvision ResNet with {kind} blocks {blocks} per stage is not a supported layout "
        f"(supported: {', '.join(n for n, a in ARCHS.items() if a.stem == 'imagenet')})"
    )


def from_torchvision(data: Any, input_size: int = 224) -> FloatResNet:
    """A FloatResNet (torchvision style, 0..255 pixel input) holding ``data``'s weights."""
    state = plain_state_dict(data)
    if not is_torchvision_resnet(state):
        raise CheckpointError(
            "not a torchvision ResNet state_dict (needs conv1/bn1/layer*/fc keys, 3x7x7 conv1)"
        )
    model = FloatResNet(
        torchvision_config(state, input_size),
        style="torchvision",
        input_mean=[255.0 * m for m in TORCHVISION_MEAN],
        input_std=[255.0 * s for s in TORCHVISION_STD],
    )
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        listed = (missing + unexpected + shapes)[:6]
        raise CheckpointError(
            f"torchvision state_dict does not fit {model.config.arch}: {len(missing)} missing, "
            f"{len(unexpected)} unexpected, {len(shapes)} wrong shape ({', '.join(listed)})"
        )
    model.load_state_dict(state, strict=False)
    return model.eval()
