"""Brevitas model zoo: quantised ResNets and the named quantizers they use.

``build_model(name, **options)`` builds any model by name; ``model.config`` is its frozen
``ResNetConfig``; ``QuantResNet.from_checkpoint(path)`` rebuilds and loads a checkpoint;
``calibrate_bn`` gives a random model usable statistics. See ``resnet`` and ``layers`` for
the layout and numeric contract.
"""

from alveoflow.qnn.calibrate import calibrate_bn, random_input
from alveoflow.qnn.config import BitWidths, ResNetConfig
from alveoflow.qnn.resnet import (
    ARCHS,
    MODEL_DEFAULTS,
    MODELS,
    PixelNorm,
    QuantResNet,
    QuantResNet18,
    QuantResNet34,
    QuantResNet50,
    QuantResNetSmall,
    build_model,
    from_config,
    load_checked,
    load_checkpoint,
    model_config,
    quant_resnet_small,
    read_checkpoint,
)

__all__ = [
    "ARCHS",
    "MODEL_DEFAULTS",
    "MODELS",
    "BitWidths",
    "PixelNorm",
    "QuantResNet",
    "QuantResNet18",
    "QuantResNet34",
    "QuantResNet50",
    "QuantResNetSmall",
    "ResNetConfig",
    "build_model",
    "calibrate_bn",
    "from_config",
    "load_checked",
    "load_checkpoint",
    "model_config",
    "quant_resnet_small",
    "random_input",
    "read_checkpoint",
]
