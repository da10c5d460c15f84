"""QONNX -> IR: the only package that reads ONNX protobufs (see ``reader``)."""

from alveoflow.compiler.frontend.reader import from_qonnx, load_model

__all__ = ["from_qonnx", "load_model"]
