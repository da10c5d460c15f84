"""Code generation: a folded, lowered graph -> HLS C++, weight headers, FC weights, build
scripts (``emit``), written by one writer (``write_tree``). Pure: the same graph, plan and
FIFO depths give byte-identical files, with no absolute path in any of them."""

from alveoflow.compiler.codegen.emit import emit, summary, write_tree

__all__ = ["emit", "summary", "write_tree"]
