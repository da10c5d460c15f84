"""Checks before and after a QONNX export.

``check_exportable(model)`` walks the module tree before anything is traced and raises one
``ExportError`` that names every layer alveoflow cannot export (a float ``nn.Conv2d`` or
``nn.Linear``, a Brevitas layer with its weight quantizer disabled, or a module type the
compiler does not know). Packages with modules of their own that export to supported ops
(``alveoflow.qnn``'s ``PixelNorm``) add them with ``register_exportable``; this module
imports no model package. ``check_graph(model_wrapper)`` verifies the exported graph: every
Conv/Gemm/MatMul weight is produced by a ``Quant``/``BipolarQuant`` node.
"""

from __future__ import annotations

from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU
from brevitas.nn.mixin.base import QuantLayerMixin
from torch import nn

from alveoflow.errors import ExportError

QUANT_WEIGHT_LAYERS = (QuantConv2d, QuantLinear)
PASSIVE_LAYERS = (
    QuantReLU,
    QuantIdentity,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Identity,
    nn.Dropout,
)
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
WEIGHT_OPS = ("Conv", "Gemm", "MatMul")
QUANT_OPS = ("Quant", "BipolarQuant")


_REGISTERED: list[type] = []


def register_exportable(*module_types: type) -> None:
    """Declare leaf module types that export to ops the compiler supports."""
    for t in module_types:
        if t not in _REGISTERED:
            _REGISTERED.append(t)


def _is_known_fixed_op(module: nn.Module) -> bool:
    return isinstance(module, tuple(_REGISTERED))


def _problem(name: str, module: nn.Module) -> str | None:
    kind = type(module).__name__
    if isinstance(module, QUANT_WEIGHT_LAYERS):
        if not module.weight_quant.is_quant_enabled:
            return f"{name} ({kind}) has weight quantization disabled; give it a weight_quant"
        return None
    if isinstance(module, nn.Conv2d | nn.Linear):
        brevitas_kind = "QuantConv2d" if isinstance(module, nn.Conv2d) else "QuantLinear"
        return (
            f"{name} is a float torch.nn.{kind}: its weights are not quantized; "
            f"use brevitas.nn.{brevitas_kind} with a weight quantizer"
        )
    if isinstance(module, PASSIVE_LAYERS + CONTAINERS) or _is_known_fixed_op(module):
        return None
    if any(True for _ in module.children()):
        return None  # a user block: its children are checked one by one
    return f"{name} ({kind}) is not a module alveoflow can export"


def check_exportable(model: nn.Module) -> None:
    """Raise ``ExportError`` listing every module that cannot be exported."""
    problems: list[str] = []
    skip: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix) for prefix in skip):
            continue  # quantizer internals of a Brevitas layer
        if isinstance(module, QuantLayerMixin):
            skip.append(f"{name}." if name else "")
        problem = _problem(name or "<model>", module)
        if problem:
            problems.append(problem)
    if problems:
        raise ExportError(
            f"{len(problems)} layer(s) cannot be exported to QONNX:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


LAYOUT_OPS = ("Transpose", "Reshape", "Identity")  # the exporter may put these on a weight


def _weight_producer(wrapper, tensor: str):
    """The node making weight ``tensor``, looking through layout ops (a QuantLinear's weight
    reaches MatMul as Quant -> Transpose)."""
    producer = wrapper.find_producer(tensor)
    while producer is not None and producer.op_type in LAYOUT_OPS:
        producer = wrapper.find_producer(producer.input[0])
    return producer


def check_graph(wrapper) -> None:
    """Every Conv/Gemm/MatMul must take its weight from a Quant/BipolarQuant node."""
    problems = []
    for node in wrapper.graph.node:
        if node.op_type not in WEIGHT_OPS or len(node.input) < 2:
            continue
        producer = _weight_producer(wrapper, node.input[1])
        if producer is None or producer.op_type not in QUANT_OPS:
            problems.append(
                f"{node.name} ({node.op_type}): weight {node.input[1]!r} is not quantized"
            )
    if problems:
        raise ExportError(
            "exported graph has unquantized weights:\n" + "\n".join(f"  - {p}" for p in problems)
        )
