"""Statistics calibration for randomly initialised (or freshly built) models.

``calibrate_bn`` runs a few batches of random inputs through the model in ``train()`` mode
under ``torch.no_grad()`` and then switches it to ``eval()``. This fills BatchNorm running
statistics and the runtime-statistics scales of the activation quantizers, so a random model
has non-degenerate activations (tests, exports, compiler examples). Brevitas'
``calibration_mode`` is not used: it disables quantisation, and the residual adds of
QuantTensors need it on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def random_input(
    shape: Sequence[int], pixel_input: bool, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random 0..255 integer pixels (as float) or standard-normal floats of ``shape``."""
    if pixel_input:
        return torch.randint(0, 256, tuple(shape), generator=generator).float()
    return torch.randn(tuple(shape), generator=generator)


def calibrate_bn(
    model: nn.Module,
    input_shape: Sequence[int] | None = None,
    batches: int = 4,
    batch_size: int = 2,
    seed: int = 0,
) -> nn.Module:
    """Fill BN and activation-scale statistics with random data; returns ``model`` in eval.

    ``input_shape`` is (C, H, W) or (N, C, H, W); default: ``model.config.input_shape``
    with ``batch_size`` images. Pixel models get 0..255 integers, others normal floats.
    """
    config = getattr(model, "config", None)
    if input_shape is None:
        if config is None:
            raise ValueError("calibrate_bn needs input_shape for a model without .config")
        input_shape = config.input_shape[1:]
    shape = tuple(input_shape)
    if len(shape) == 3:
        shape = (batch_size, *shape)
    pixel = bool(getattr(config, "pixel_input", False))
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(random_input(shape, pixel, generator))
    return model.eval()
