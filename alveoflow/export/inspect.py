"""Per-layer summary of any QONNX file (used by ``alveoflow info``).

``describe_layers(path)`` returns one ``LayerInfo`` per Conv/Gemm/MatMul node, in graph
order, with shapes from qonnx shape inference (batch dimension as stored), weight bits from
the ``Quant``/``BipolarQuant`` node that produces the weight (32 when the weight is a float
initializer), activation bits from the nearest quantizer upstream of the data input (walking
back through Relu, pooling, Flatten/Reshape/Transpose and the input Mul/Add; a graph input's
annotated datatype counts as a quantizer; ``None`` when there is none), and MACs per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alveoflow.errors import ExportError

PASS_THROUGH = {
    "Relu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Flatten",
    "Reshape",
    "Transpose",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "Identity",
    "Squeeze",
    "Unsqueeze",
}


@dataclass(frozen=True)
class LayerInfo:
    """One weight layer of a QONNX graph."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weight_bits: int
    weight_signed: str  # "bipolar", "signed", "unsigned" or "float"
    act_bits: int | None
    macs: int
    weight_count: int

    @property
    def weight_bits_total(self) -> int:
        return self.weight_count * self.weight_bits


def _load(path: str | Path):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{str(path)!r} does not exist")
    try:
        wrapper = ModelWrapper(str(path))
    except Exception as err:  # noqa: BLE001 - any protobuf failure means "not an ONNX file"
        raise ExportError(f"{str(path)!r} is not a readable ONNX file: {err}") from err
    return wrapper.transform(InferShapes(), make_deepcopy=False)


def _quant_bits(wrapper, node) -> tuple[int, str] | None:
    if node.op_type == "BipolarQuant":
        return 1, "bipolar"
    if node.op_type != "Quant":
        return None
    bits = wrapper.get_initializer(node.input[3])
    signed = next((a.i for a in node.attribute if a.name == "signed"), 1)
    if bits is None:
        return None
    return int(np.asarray(bits).item()), "signed" if signed else "unsigned"


def _weight_bits(wrapper, name: str) -> tuple[int, str]:
    producer = wrapper.find_producer(name)
    found = _quant_bits(wrapper, producer) if producer is not None else None
    return found if found is not None else (32, "float")


def _act_bits(wrapper, name: str) -> int | None:
    for _ in range(64):  # bounded walk upstream
        producer = wrapper.find_producer(name)
        if producer is None:
            dtype = wrapper.get_tensor_datatype(name)
            return None if dtype.name.startswith("FLOAT") else dtype.bitwidth()
        found = _quant_bits(wrapper, producer)
        if found is not None:
            return found[0]
        if producer.op_type not in PASS_THROUGH:
            return None
        dynamic = [
            i
            for i in producer.input
            if i
            and wrapper.get_initializer(i) is None
            and (wrapper.find_producer(i) is None or wrapper.find_producer(i).op_type != "Constant")
        ]
        if len(dynamic) != 1:
            return None
        name = dynamic[0]
    return None


def _shape(wrapper, name: str) -> tuple[int, ...]:
    shape = wrapper.get_tensor_shape(name)
    return tuple(int(d) for d in shape) if shape is not None else ()


def _layer(wrapper, node) -> LayerInfo:
    in_shape, out_shape = _shape(wrapper, node.input[0]), _shape(wrapper, node.output[0])
    w_shape = _shape(wrapper, node.input[1])
    bits, signed = _weight_bits(wrapper, node.input[1])
    weight_count = math.prod(w_shape) if w_shape else 0
    per_image_out = math.prod(out_shape[1:]) if len(out_shape) > 1 else 0
    if node.op_type == "Conv":
        kernel = "x".join(str(d) for d in w_shape[2:])
        strides = next((list(a.ints) for a in node.attribute if a.name == "strides"), [1])
        kind = f"Conv {kernel}/{strides[0]}"
        macs = per_image_out * math.prod(w_shape[1:])
    else:
        kind = node.op_type
        transposed = any(a.name == "transB" and a.i for a in node.attribute)
        fan_in = w_shape[1] if transposed else w_shape[0]
        macs = per_image_out * fan_in
    return LayerInfo(
        name=node.name,
        kind=kind,
        in_shape=in_shape,
        out_shape=out_shape,
        weight_bits=bits,
        weight_signed=signed,
        act_bits=_act_bits(wrapper, node.input[0]),
        macs=macs,
        weight_count=weight_count,
    )


def describe_layers(path: str | Path) -> list[LayerInfo]:
    """One ``LayerInfo`` per Conv/Gemm/MatMul node of the QONNX file at ``path``."""
    wrapper = _load(path)
    return [
        _layer(wrapper, node)
        for node in wrapper.graph.node
        if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1
    ]


def format_layer_table(layers: list[LayerInfo]) -> str:
    """A fixed-width text table with a totals line."""
    header = ("layer", "kind", "in shape", "out shape", "w bits", "a bits", "MACs", "w bits total")
    rows = [header]
    for layer in layers:
        rows.append(
            (
                layer.name,
                layer.kind,
                "x".join(map(str, layer.in_shape)),
                "x".join(map(str, layer.out_shape)),
                f"{layer.weight_bits} {layer.weight_signed}",
                "-" if layer.act_bits is None else str(layer.act_bits),
                f"{layer.macs:,}",
                f"{layer.weight_bits_total:,}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total_macs = sum(layer.macs for layer in layers)
    total_bits = sum(layer.weight_bits_total for layer in layers)
    lines.append(
        f"total: {len(layers)} layers, {total_macs:,} MACs ({total_macs / 1e9:.3f} GMAC), "
        f"{total_bits:,} weight bits ({total_bits / 8 / 1e6:.3f} MB)"
    )
    return "\n".join(lines)
