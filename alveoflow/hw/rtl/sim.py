"""Run one op's RTL unit on tensors: words in, Verilator model, tensors out.

``simulate(unit, inputs, out_shapes, ...)`` builds (or takes from the cache) the unit's
Verilator model, feeds ``unit.to_words(inputs)`` with the given back-pressure and returns the
output tensors (values, ``unit.from_words``) and the ``Run`` (cycles, stats); ``defines``
are passed to Verilator (``AF_FAST_DOT``: the MAC units' simulation datapath). A run that
deadlocks or stops short raises ``ToolchainError`` naming the stuck streams.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from alveoflow.errors import ToolchainError
from alveoflow.hw.rtl.ops import RtlUnit
from alveoflow.hw.rtl.verilator import Run, build


def simulate(
    unit: RtlUnit,
    inputs: Sequence[np.ndarray],
    out_shapes: Sequence[tuple[int, ...]],
    *,
    seed: int = 1,
    p_in: float = 1.0,
    p_out: float = 1.0,
    cache_dir: str | os.PathLike[str] | None = None,
    idle: int = 100_000,
    defines: tuple[str, ...] = (),
) -> tuple[list[np.ndarray], Run]:
    model = build(unit.inst, cache_dir, defines=defines)
    counts = unit.counts(out_shapes)
    run = model.run(unit.to_words(inputs), counts, seed=seed, p_in=p_in, p_out=p_out, idle=idle)
    if not run.stats["complete"]:
        stuck = run.stats.get("stuck", {})
        outs = {k: (v["words"], v["total"]) for k, v in run.stats["outputs"].items()}
        raise ToolchainError(
            f"{unit.inst.label}: the simulation stopped after {run.stats['cycles']} cycles "
            f"(deadlock: {run.stats['deadlock']}); output words (got, expected) {outs}; "
            f"[valid, ready] at the end {stuck}"
        )
    return unit.from_words(run.outputs, out_shapes), run
