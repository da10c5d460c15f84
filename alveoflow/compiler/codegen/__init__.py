"""Code generation: a ``Design`` -> HLS C++, weight headers, FC weights and build scripts
(``emit``), written by one writer (``write_tree``). Pure: the same design gives byte-identical
files, with no absolute path in any of them. Codegen decides no hardware: the design does."""

from alveoflow.compiler.codegen.emit import emit, summary, write_tree

__all__ = ["emit", "summary", "write_tree"]
