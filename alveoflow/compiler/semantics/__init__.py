"""The bit-exact reference executor (see ``executor``); importing it registers all kernels.

Public API: ``run_graph`` (executor), ``accumulator_bound`` (exact), ``SimBackend`` (backend).
"""

import importlib.util

from alveoflow.compiler.semantics import hw_kernels  # noqa: F401  (registers hw kernels)
from alveoflow.compiler.semantics.exact import accumulator_bound
from alveoflow.compiler.semantics.executor import run_graph

if importlib.util.find_spec("alveoflow.compiler.semantics.nn_kernels") is not None:
    from alveoflow.compiler.semantics import nn_kernels  # noqa: F401  (float/ONNX-level ops)

__all__ = ["accumulator_bound", "run_graph"]
