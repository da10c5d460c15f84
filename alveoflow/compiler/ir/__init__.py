"""The compiler's immutable IR: ``QType``, ``TensorInfo``, ``Op``, ``Node``, ``Graph``.

Operators live in one small module per family: ``hw`` (what the card computes) and ``nn``
(the float/quantizer ops read from QONNX, removed by streamlining). Importing this package
imports every op module, so graph files can be loaded.
"""

from alveoflow.compiler.ir import hw, nn
from alveoflow.compiler.ir.core import OP_TYPES, Graph, Node, Op, OutSpec, TensorInfo
from alveoflow.compiler.ir.qtype import BIPOLAR, FLOAT32, QType, smallest_qtype
from alveoflow.compiler.ir.serialize import graph_to_dict, load_graph, save_graph

__all__ = [
    "BIPOLAR",
    "FLOAT32",
    "OP_TYPES",
    "Graph",
    "Node",
    "Op",
    "OutSpec",
    "QType",
    "TensorInfo",
    "graph_to_dict",
    "hw",
    "load_graph",
    "nn",
    "save_graph",
    "smallest_qtype",
]
