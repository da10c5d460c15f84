"""Brevitas -> QONNX export and checks of what was exported.

``to_qonnx(model, path, input_shape=None, input_datatype=None) -> Path`` writes a cleaned,
annotated QONNX file (see ``qonnx_export`` for the naming and metadata contract);
``execute_qonnx(path, x)`` runs it with qonnx; ``check_exportable(model)`` is the pre-check;
``describe_layers``/``format_layer_table`` (``inspect``) summarise any QONNX file.
"""

from alveoflow.export.checks import check_exportable, check_graph
from alveoflow.export.inspect import LayerInfo, describe_layers, format_layer_table
from alveoflow.export.qonnx_export import execute_qonnx, read_metadata, to_qonnx

__all__ = [
    "LayerInfo",
    "check_exportable",
    "check_graph",
    "describe_layers",
    "execute_qonnx",
    "format_layer_table",
    "read_metadata",
    "to_qonnx",
]
