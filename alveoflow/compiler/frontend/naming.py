"""Stable, unique node names from ONNX node names.

PyTorch's exporter names nodes by module scope, e.g. ``/layer3/layer3.2/conv2/Conv`` or
``/layer1/layer1.0/relu1/act_quant/export_handler/Quant``. Each scope component is a
module's name relative to its parent, except that a numbered child of a container is
written ``parent.index`` (``layer3.2``, ``downsample.0``). We rebuild the full module path
(``layer3.2.conv2``), drop Brevitas' internal sub-modules (``act_quant``,
``export_handler`` ...) and the trailing op type. Names without scopes (qonnx-cleaned files:
``Conv_0``) are kept; empty names become ``<optype>_<index>``.

Collisions are resolved deterministically: nodes that own a module (Conv, Gemm, MatMul,
Quant, BipolarQuant, Trunc) are named first and get the bare path; others get
``path.<optype>`` and, if still taken, a ``_<n>`` suffix (a functional op already named
``path.<optype>`` goes straight to the suffix: ``maxpool``, ``maxpool_1``). Arithmetic and
reshaping ops, usually called inside a module's ``forward``, are always ``path.<optype>``
(``layer1.0.add``). A Brevitas quantizer used several times (``export_handler_1``) keeps
its index as ``path_1``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Brevitas sub-modules between a user module and the exported op.
_INTERNAL = {
    "act_quant",
    "weight_quant",
    "bias_quant",
    "output_quant",
    "input_quant_proxy",
    "export_handler",
    "activation_impl",
    "act_impl",
    "fused_activation_quant_proxy",
    "tensor_quant",
    "trunc_quant",
    "int_quant",
}
_HANDLER = re.compile(r"^export_handler_(\d+)$")
_OWNERS = ("Conv", "Gemm", "MatMul", "Quant", "BipolarQuant", "Trunc")
# Ops usually called functionally inside a module's forward: named ``<module>.<optype>``.
_FUNCTIONAL = {"Add", "Sub", "Mul", "Div", "Concat", "Flatten", "Reshape", "Transpose", "Pad"}
_BAD = re.compile(r"[^A-Za-z0-9_.\-]")


def module_path(onnx_name: str) -> tuple[str, str]:
    """(module path, handler suffix) of a scoped ONNX node name; ('', '') if unscoped."""
    if not onnx_name.startswith("/"):
        return "", ""
    parts = [p for p in onnx_name.split("/") if p][:-1]  # drop the op component
    suffix = ""
    kept: list[str] = []
    for part in parts:
        m = _HANDLER.match(part)
        if m:
            suffix = f"_{m.group(1)}"
            continue
        if part in _INTERNAL:
            continue
        kept.append(part)
    path: list[str] = []
    for part in kept:
        head, _, tail = part.partition(".")
        if tail and path and path[-1] == head:
            path.extend(tail.split("."))  # 'layer3.2' under 'layer3'
        else:
            path.extend(part.split("."))
    return ".".join(path), suffix


def _clean(name: str) -> str:
    return _BAD.sub("_", name).strip("._") or "node"


def stable_names(nodes: Sequence[tuple[str, str]]) -> list[str]:
    """Unique names for ``(onnx_name, op_type)`` pairs, in the same order."""
    wanted: list[str] = []
    functional: list[bool] = []  # named path.<optype> already
    for index, (onnx_name, op_type) in enumerate(nodes):
        path, suffix = module_path(onnx_name)
        functional.append(onnx_name.startswith("/") and (op_type in _FUNCTIONAL or not path))
        if onnx_name.startswith("/"):
            if op_type in _FUNCTIONAL or not path:
                path = f"{path}.{op_type.lower()}" if path else op_type.lower()
            base = path + suffix
        elif onnx_name:
            base = onnx_name
        else:
            base = f"{op_type.lower()}_{index}"
        wanted.append(_clean(base))
    names: list[str | None] = [None] * len(nodes)
    taken: set[str] = set()
    order = [i for i, (_, t) in enumerate(nodes) if t in _OWNERS]
    order += [i for i, (_, t) in enumerate(nodes) if t not in _OWNERS]
    for i in order:
        name = wanted[i]
        if name in taken and not functional[i]:
            name = f"{wanted[i]}.{nodes[i][1].lower()}"
        n = 1
        base = name
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        taken.add(name)
        names[i] = name
    return [n for n in names if n is not None]
