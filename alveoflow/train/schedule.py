"""Optimizers and per-step learning-rate schedules built from a :class:`TrainConfig`.

Weight decay applies to weights of rank >= 2 (convolution and linear kernels) only; biases,
BatchNorm affine parameters and quantizer scales (rank 0 or 1) are not decayed, since
shrinking a learned quantisation scale toward zero would fight the quantiser.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from alveoflow.train.config import TrainConfig


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = parameter_groups(model, config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(
        groups, lr=config.lr, momentum=config.momentum, nesterov=config.momentum > 0
    )


def lr_factor(step: int, config: TrainConfig, steps_per_epoch: int) -> float:
    """Multiplier of ``config.lr`` before optimizer step ``step`` (0-based)."""
    steps_per_epoch = max(1, steps_per_epoch)
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    if step < warmup:
        return (step + 1) / warmup
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return config.gamma ** ((step // steps_per_epoch) // config.step_epochs)
    return 1.0


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, config, steps_per_epoch)
    )
