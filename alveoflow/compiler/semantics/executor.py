"""``run_graph``: the bit-exact reference executor of an IR graph.

Contract
- ``run_graph(graph, feeds, device="cpu", keep_intermediates=False, fuse=None,
  precision="auto")`` runs every node in order with its registered kernel and returns the
  graph outputs (and, with ``keep_intermediates``, every tensor) as numpy arrays: integer
  tensors as int64, FLOAT32 tensors as float32. Any batch size; feeds are numpy arrays or
  torch tensors, checked against the graph inputs (shape after the batch, integer ranges).
- ``fuse`` (default: not ``keep_intermediates``) runs a SlidingWindow + MVAU/VVAU pair, and
  an MVAU on an image, as one conv2d (``fused``); results are identical either way.
- ``precision``: "auto" keeps integers in float32 wherever the exactness bound allows;
  "float64" or "int64" raise that floor (slower; used to cross-check the float paths).
- ``device``: "cpu" or "cuda" (needs a CUDA build of torch and a GPU).
The per-graph preparation (plan, weights converted once per dtype) is cached while the
graph object is alive.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import alveoflow.compiler.semantics.hw_kernels  # noqa: F401  (registers the kernels)
from alveoflow.compiler.ir import Graph, Node, TensorInfo, hw
from alveoflow.compiler.semantics import fused
from alveoflow.compiler.semantics.exact import WeightTable, storage_dtype
from alveoflow.compiler.semantics.registry import kernel_for
from alveoflow.errors import AlveoflowError, DeviceError

PRECISIONS = {"auto": torch.float32, "float64": torch.float64, "int64": torch.int64}


class FeedError(AlveoflowError, ValueError):
    """A feed that does not match the graph input it is given for."""


@dataclass
class _Step:
    """One node, or a (window, unit) pair run as a fused conv."""

    node: Node
    window: Node | None = None
    fused: bool = False


@dataclass
class _Prepared:
    device: torch.device
    weights: dict[str, WeightTable] = field(default_factory=dict)
    plans: dict[bool, list[_Step]] = field(default_factory=dict)


_CACHE: dict[int, _Prepared] = {}


def run_graph(
    graph: Graph,
    feeds: Mapping[str, Any],
    device: str | torch.device = "cpu",
    keep_intermediates: bool = False,
    fuse: bool | None = None,
    precision: str = "auto",
) -> dict[str, np.ndarray]:
    """Run ``graph`` on ``feeds`` (see the module docstring); returns name -> array."""
    if precision not in PRECISIONS:
        raise FeedError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    floor = PRECISIONS[precision]
    prep = _prepare(graph, _device(device))
    plan = _plan(graph, prep, keep_intermediates if fuse is None else not fuse)
    env = {t.name: _feed(t, feeds, prep.device, floor) for t in graph.inputs}
    last_use = {} if keep_intermediates else _last_uses(graph, plan)
    keep: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        for index, step in enumerate(plan):
            outs = _run_step(step, env, prep)
            for info, out in zip(step.node.outputs, outs, strict=True):
                host_int = step.node.op.on_host and not info.qtype.is_float
                env[info.name] = _raise_floor(out, floor) if host_int else out
            if keep_intermediates:
                keep.update((k, v) for k, v in env.items())
            for name in last_use.get(index, ()):
                env.pop(name, None)
        wanted = keep if keep_intermediates else {name: env[name] for name in graph.outputs}
        return {name: _to_numpy(t, graph.tensor(name)) for name, t in wanted.items()}


def _run_step(step: _Step, env: dict[str, torch.Tensor], prep: _Prepared) -> list[torch.Tensor]:
    node = step.node
    if step.fused:
        window = step.window.op if step.window else None
        source = step.window.inputs[0] if step.window else node.inputs[0]
        unit = node.op
        assert isinstance(unit, hw.MVAU | hw.VVAU)
        assert window is None or isinstance(window, hw.SlidingWindow)
        out = fused.conv_unit(window, unit, env[source], prep.weights[node.name])
        if out is not None:
            return [out]
        if step.window is not None:  # int64: the plain kernels
            env[step.window.outputs[0].name] = _run_node(step.window, env, prep)[0]
    return _run_node(node, env, prep)


def _run_node(node: Node, env: dict[str, torch.Tensor], prep: _Prepared) -> list[torch.Tensor]:
    fn = kernel_for(node.op)
    return fn(node.op, [env[t] for t in node.inputs], prep.weights[node.name])


def _prepare(graph: Graph, device: torch.device) -> _Prepared:
    key = id(graph)
    prep = _CACHE.get(key)
    if prep is None or prep.device != device:
        prep = _Prepared(device, {n.name: WeightTable(n.weights, device) for n in graph.nodes})
        _CACHE[key] = prep
        weakref.finalize(graph, _CACHE.pop, key, None)
    return prep


def _plan(graph: Graph, prep: _Prepared, unfused: bool) -> list[_Step]:
    fuse = not unfused
    if fuse not in prep.plans:
        prep.plans[fuse] = _build_plan(graph) if fuse else [_Step(n) for n in graph.nodes]
    return prep.plans[fuse]


def _build_plan(graph: Graph) -> list[_Step]:
    """Pair each SlidingWindow with its only consumer when that is a fusable unit."""
    absorbed: dict[str, Node] = {}  # unit name -> its window
    for node in graph.nodes:
        if not isinstance(node.op, hw.SlidingWindow):
            continue
        out = node.outputs[0].name
        users = graph.consumers(out)
        if len(users) == 1 and out not in graph.outputs and fused.can_fuse(node.op, users[0].op):
            absorbed[users[0].name] = node
    windows = {w.name for w in absorbed.values()}
    steps = []
    for node in graph.nodes:
        if node.name in windows:
            continue
        window = absorbed.get(node.name)
        image_mvau = isinstance(node.op, hw.MVAU) and len(graph.input_infos(node)[0].shape) == 4
        steps.append(_Step(node, window, fused=window is not None or image_mvau))
    return steps


def _last_uses(graph: Graph, plan: list[_Step]) -> dict[int, list[str]]:
    """Step index -> tensors no later step reads (freed to bound memory)."""
    last: dict[str, int] = {}
    for index, step in enumerate(plan):
        reads = list(step.window.inputs if step.window else step.node.inputs)
        for name in reads:
            last[name] = index
    out: dict[int, list[str]] = {}
    for name, index in last.items():
        if name not in graph.outputs:
            out.setdefault(index, []).append(name)
    return out


def _device(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device='cuda' but torch sees no CUDA GPU; use device='cpu'")
    return dev


def _feed(info: TensorInfo, feeds: Mapping[str, Any], device: torch.device, floor: torch.dtype):
    if info.name not in feeds:
        raise FeedError(f"missing feed for graph input {info.name!r} (given: {sorted(feeds)})")
    value = feeds[info.name]
    t = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))
    if tuple(t.shape[1:]) != info.shape[1:] or t.dim() != len(info.shape):
        raise FeedError(
            f"input {info.name!r}: expected shape (N, {', '.join(map(str, info.shape[1:]))}), "
            f"got {tuple(t.shape)}"
        )
    if info.qtype.is_float:
        return t.to(device=device, dtype=torch.float32)
    if t.is_floating_point() and bool((t != torch.round(t)).any()):
        raise FeedError(f"input {info.name!r} is {info.qtype} but holds non-integer values")
    if t.numel() and (t.min() < info.qtype.min or t.max() > info.qtype.max):
        raise FeedError(
            f"input {info.name!r}: values {t.min().item()}..{t.max().item()} "
            f"outside {info.qtype} ({info.qtype.min}..{info.qtype.max})"
        )
    return t.to(device=device, dtype=storage_dtype(info.qtype, floor))


def _raise_floor(t: torch.Tensor, floor: torch.dtype) -> torch.Tensor:
    order = (torch.float32, torch.float64, torch.int64)
    if t.dtype in order and order.index(t.dtype) < order.index(floor):
        return t.to(floor)
    return t


def _to_numpy(t: torch.Tensor, info: TensorInfo) -> np.ndarray:
    t = t.detach().to("cpu")
    if info.qtype.is_float:
        return t.to(torch.float32).numpy()
    return t.to(torch.int64).contiguous().numpy()
