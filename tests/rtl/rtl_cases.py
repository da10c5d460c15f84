"""Shared helpers of the RTL tests: one-node graphs, the reference output, and a check that
runs a unit at full speed and under random back-pressure and compares every output word."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, hw
from alveoflow.compiler.semantics import run_graph
from alveoflow.hw.rtl.ops import RtlUnit
from alveoflow.hw.rtl.sim import simulate
from alveoflow.hw.rtl.verilator import Run

# (seed, p_in, p_out): full speed, then random valid/ready on both sides
PRESSURES = ((1, 1.0, 1.0), (7, 0.45, 0.55))


def codes(rng: np.random.Generator, qtype: QType, shape: tuple[int, ...]) -> np.ndarray:
    if qtype.bipolar:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(qtype.min, qtype.max + 1, size=shape)


def sorted_thresholds(rng, rows: int, n: int, spread: int) -> np.ndarray:
    return np.sort(rng.integers(-spread, spread + 1, size=(rows, n)), axis=1)


def reference(
    op: hw.Op,
    inputs: Sequence[np.ndarray],
    in_types: Sequence[QType],
    weights: Mapping[str, np.ndarray] | None = None,
) -> list[np.ndarray]:
    """The op's outputs by the bit-exact reference executor (a one-node graph)."""
    infos = []
    for i, (x, q) in enumerate(zip(inputs, in_types, strict=True)):
        layout = "NHWC" if np.ndim(x) == 4 else "NC"
        infos.append(TensorInfo(f"x{i}", tuple(np.shape(x)), q, layout))
    n_out = op.num_outputs()
    names = "y" if n_out == 1 else [f"y{i}" for i in range(n_out)]
    node = Node.create("n", op, infos, names, weights)
    graph = Graph.build(infos, [node], [t.name for t in node.outputs])
    result = run_graph(graph, {f"x{i}": x for i, x in enumerate(inputs)})
    return [np.asarray(result[t.name]).astype(np.int64) for t in node.outputs]


def check(
    unit: RtlUnit,
    inputs: Sequence[np.ndarray],
    want: Sequence[np.ndarray],
    pressures: Sequence[tuple[int, float, float]] = PRESSURES,
    defines: tuple[str, ...] = (),
) -> list[Run]:
    """Simulate ``unit`` under each back-pressure setting; every output must equal ``want``."""
    runs = []
    shapes = [w.shape for w in want]
    for seed, p_in, p_out in pressures:
        got, run = simulate(
            unit, inputs, shapes, seed=seed, p_in=p_in, p_out=p_out, defines=defines
        )
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w, err_msg=f"seed={seed} p_in={p_in} p_out={p_out}")
        assert run.stats["surplus"] == 0, "the unit sent more words than the op produces"
        runs.append(run)
    return runs
