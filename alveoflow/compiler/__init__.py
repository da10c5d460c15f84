"""The alveoflow compiler: QONNX -> immutable integer IR -> hardware ops -> folding, estimates,
FIFO sizes and code.

Contract: every stage is a pure function over ``alveoflow.compiler.ir.Graph`` values; the
order of passes is written down once, in ``alveoflow.compiler.pipeline``.
"""
