"""Finish Brevitas' runtime-statistics scale initialisation before training starts.

Brevitas activation quantizers such as ``Uint8ActPerTensorFloat`` start with a phase of
``collect_stats_steps`` (300 by default) training-mode forward passes in which the scale is
a running percentile of the activations (a ``kthvalue`` over the whole tensor, expensive on
a CPU for big batches); the next training forward turns the statistic into the learned
scale parameter. :func:`finish_stats_collection` runs that phase up front with small batches
under ``no_grad`` (BatchNorm running statistics update too), so training proper runs at full
speed from its first step. The scales then reflect the untrained network's activations,
which BatchNorm keeps in a stable range. Every process of a distributed job sees the same
batches, so the scales agree across processes.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from alveoflow.errors import DataError


def pending_stats_steps(model: nn.Module) -> int:
    """Training forwards still needed before every runtime-stats scale is initialised."""
    pending = 0
    for module in model.modules():
        steps, counter = (
            getattr(module, "collect_stats_steps", None),
            getattr(module, "counter", None),
        )
        if isinstance(steps, int) and isinstance(counter, int):
            pending = max(pending, steps + 1 - counter)
    return pending


@torch.no_grad()
def finish_stats_collection(
    model: nn.Module, data: Dataset, batch_size: int, device: torch.device, seed: int = 0
) -> int:
    """Run the pending statistics forwards on ``data``; returns how many were run."""
    steps = pending_stats_steps(model)
    if steps == 0:
        return 0
    if len(data) == 0:  # type: ignore[arg-type]
        raise DataError("cannot initialise activation scales from an empty training set")
    generator = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, len(data))  # type: ignore[arg-type]
    loader = DataLoader(
        data, batch_size=batch_size, shuffle=True, drop_last=True, generator=generator
    )
    was_training = model.training
    model.train()
    batches = itertools.chain.from_iterable(itertools.repeat(loader))
    for images, _ in itertools.islice(batches, steps):
        model(images.to(device))
    model.train(was_training)
    return steps
