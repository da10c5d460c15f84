"""Re-estimate BatchNorm statistics of a trained model on training data, before export.

During training BatchNorm normalises with each batch's statistics and keeps exponential
moving averages for inference; after quantisation-aware training those averages lag behind
the final weights (and the quantizers' final scales). :func:`reestimate_bn` resets every
BatchNorm's running mean and variance and recomputes them as plain averages
(``momentum=None``) over ``batches`` batches of un-augmented training images, with the rest
of the model in eval mode (quantizers use their final scales) and without gradients. The
compiler folds the re-estimated statistics into the integer thresholds.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from alveoflow.errors import DataError


def batchnorms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm module of ``model`` that tracks running statistics."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def reestimate_bn(
    model: nn.Module,
    data: Dataset,
    batches: int = 100,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> int:
    """Recompute BatchNorm running statistics on ``data``; returns the images used.

    ``batches`` batches of ``batch_size`` images drawn in a ``seed``-ed order (all of ``data``
    when it is smaller). The model is left in eval mode."""
    if len(data) == 0:  # type: ignore[arg-type]
        raise DataError("cannot re-estimate BatchNorm statistics on an empty data set")
    layers = batchnorms(model)
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over all batches
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=generator)
    model.eval()
    for layer in layers:
        layer.train()
    seen = 0
    try:
        for images, _ in itertools.islice(loader, batches):
            model(images.to(device))
            seen += len(images)
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
        model.eval()
    return seen
