"""``SimBackend``: the bit-exact reference executor behind the runtime's backend protocol.

The one sim backend. ``SimBackend(source, device="auto")``: ``source`` is a ``Graph`` (any
single-input graph; the runtime passes the card part of a build) or a build directory (its
whole lowered graph, host stages included, is run). ``device``: "auto" (CUDA when torch
sees a GPU, else CPU), "cpu", "cuda" or "cuda:N"; anything else is a ``ConfigError`` raised
when the backend is built, not at the first call.

``run(x)`` takes one batch (N, *frame) for the graph input and returns every graph output
keyed by tensor name, each in its storage dtype (``boundary.storage_dtype``: integer codes
in the narrowest numpy integer type of their width, top-k uint32, floats float32). A wrong
shape or dtype is a ``ConfigError`` naming what was expected and what came. The op
semantics are ``alveoflow.compiler.semantics`` (the single definition of every op).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from alveoflow.compiler.boundary import storage_dtype
from alveoflow.compiler.ir import Graph, TensorInfo
from alveoflow.compiler.semantics import run_graph
from alveoflow.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when available, else 'cpu'; 'cpu', 'cuda', 'cuda:N' pass through
    (CUDA only when torch sees a GPU). Anything else is a ``ConfigError``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    cuda = device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())
    if device != "cpu" and not cuda:
        raise ConfigError(
            f"sim device must be one of {', '.join(DEVICES)} or cuda:N, got {device!r}"
        )
    if cuda and not torch.cuda.is_available():
        raise ConfigError(f"sim device {device!r}: torch sees no CUDA GPU; use 'cpu' or 'auto'")
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
            from alveoflow.runtime.build import open_build

            build = open_build(source)
            self.graph, self.manifest = build.graph, build.manifest
        if len(self.graph.inputs) != 1:
            names = [t.name for t in self.graph.inputs]
            raise ConfigError(f"SimBackend runs single-input graphs, this one has {names}")
        self.input: TensorInfo = self.graph.inputs[0]
        self.device = resolve_device(device)
        self._dtypes = {t.name: storage_dtype(t.qtype) for t in self.graph.output_infos()}

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs of the graph for the batch ``x`` (N, *frame), in storage dtypes."""
        arr = np.asarray(x)
        self._check(arr)
        raw = run_graph(self.graph, {self.input.name: arr}, device=self.device)
        return {name: raw[name].astype(dt, copy=False) for name, dt in self._dtypes.items()}

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
