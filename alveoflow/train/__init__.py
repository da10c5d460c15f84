"""Quantisation-aware training for alveoflow models (any classifier ``nn.Module`` works).

``train(model, train_data, val_data, TrainConfig(...)) -> TrainResult``: single CPU, single
GPU (with torch.autocast mixed precision) or several GPUs/nodes under ``torchrun``; resume,
knowledge distillation, per-epoch CSV + PNG, and checkpoints in the model checkpoint format
(``{"config", "state_dict", ...}``). See :mod:`alveoflow.train.loop` for the contract.
"""

from alveoflow.train.checkpoint import load_checkpoint, save_checkpoint
from alveoflow.train.config import TrainConfig, TrainResult
from alveoflow.train.distill import distillation_loss
from alveoflow.train.loop import evaluate, train

__all__ = [
    "TrainConfig",
    "TrainResult",
    "distillation_loss",
    "evaluate",
    "load_checkpoint",
    "save_checkpoint",
    "train",
]
