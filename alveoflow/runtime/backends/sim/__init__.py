"""The bit-exact reference executor (see ``executor``); importing it registers all kernels.

Public API: ``run_graph`` (executor), ``accumulator_bound`` (exact), ``SimBackend`` (backend).
"""

import importlib.util

from alveoflow.runtime.backends.sim import hw_kernels  # noqa: F401  (registers hw kernels)
from alveoflow.runtime.backends.sim.exact import accumulator_bound
from alveoflow.runtime.backends.sim.executor import run_graph

if importlib.util.find_spec("alveoflow.runtime.backends.sim.nn_kernels") is not None:
    from alveoflow.runtime.backends.sim import nn_kernels  # noqa: F401  (float/ONNX-level ops)

__all__ = ["accumulator_bound", "run_graph"]
