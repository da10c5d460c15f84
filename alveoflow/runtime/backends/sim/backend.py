"""``SimBackend``: the bit-exact reference executor behind the runtime's backend protocol.

``SimBackend(source, device="auto")``: ``source`` is a ``Graph`` (any single-input graph,
e.g. the card part of a build) or a build directory (``graph.json``/``graph.npz`` plus a
validated ``manifest.json``; the whole graph, host stages included, is run). ``device``:
"auto" (CUDA when torch sees a GPU, else CPU), "cpu" or "cuda".

``run(x)`` takes one batch (N, *frame) for the graph input and returns every graph output
as numpy (integers int64, floats float32), keyed by tensor name. A wrong shape or dtype is
a ``ConfigError`` naming what was expected and what came.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from alveoflow.compiler.ir import Graph, TensorInfo
from alveoflow.errors import ConfigError
from alveoflow.runtime.backends.sim.executor import run_graph


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when available, else 'cpu'; other names pass through."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"sim device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


class SimBackend:
    """Runs a graph with ``run_graph`` (see the module docstring)."""

    name = "sim"
    max_batch: int | None = None

    def __init__(self, source: Graph | str | os.PathLike[str], device: str = "auto") -> None:
        self.manifest: Any = None
        if isinstance(source, Graph):
            self.graph = source
        else:
            from alveoflow.runtime.build import open_build  # the runtime validates build dirs

            build = open_build(source)
            self.graph, self.manifest = build.graph, build.manifest
        if len(self.graph.inputs) != 1:
            names = [t.name for t in self.graph.inputs]
            raise ConfigError(f"SimBackend runs single-input graphs, this one has {names}")
        self.input: TensorInfo = self.graph.inputs[0]
        self.device = resolve_device(device)

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs of the graph for the batch ``x`` (N, *frame)."""
        arr = np.asarray(x)
        self._check(arr)
        return run_graph(self.graph, {self.input.name: arr}, device=self.device)

    def close(self) -> None:
        """Nothing to release (kept for the backend protocol)."""

    def _check(self, x: np.ndarray) -> None:
        info = self.input
        frame = tuple(info.shape[1:])
        expected = f"(N, {', '.join(map(str, frame))}) {info.layout}"
        if x.ndim != len(info.shape) or tuple(x.shape[1:]) != frame:
            raise ConfigError(f"input {info.name!r}: expected shape {expected}, got {x.shape}")
        if x.shape[0] == 0:
            raise ConfigError(f"input {info.name!r}: empty batch")
        if info.qtype.is_float and x.dtype.kind != "f":
            raise ConfigError(
                f"input {info.name!r}: expected float32 {expected}, got dtype {x.dtype}"
            )
        if not info.qtype.is_float and x.dtype.kind not in "iub":
            raise ConfigError(
                f"input {info.name!r}: expected integer codes of {info.qtype} {expected}, "
                f"got dtype {x.dtype}"
            )
