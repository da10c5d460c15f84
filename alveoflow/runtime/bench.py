"""Throughput, latency and power of an ``AlveoModule`` per batch size.

``bench_module(module, batches, reps, sampler)`` times ``reps`` calls of
``module.run_outputs(x)`` per batch size (after one warm-up call) on seeded random input of
the build's dtype and shape, and returns one ``BenchRow`` each: frames per second over all
reps, median and worst call latency, and, with a ``PowerSampler``, the mean board and FPGA
power while that batch size ran (an extra sample is taken at the start and end of each
window so short runs still get a reading). ``format_table``, ``to_json`` and ``plot``
present the rows; the plot shows FPS and power against batch size (log scale), like the
reference notebook.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alveoflow.runtime.module import AlveoModule
from alveoflow.runtime.power import PowerSampler


@dataclass(frozen=True)
class BenchRow:
    batch: int
    reps: int
    fps: float
    latency_ms: float  # median wall time of one call
    max_latency_ms: float
    board_w: float | None = None
    fpga_w: float | None = None


def example_input(module: AlveoModule, n: int, seed: int = 0) -> torch.Tensor:
    """Seeded random input of the build's dtype and per-frame shape, batch ``n``."""
    stage = module.build.plan.input
    shape = (n, *stage.user.shape[1:])
    rng = np.random.default_rng(seed)
    if stage.user_dtype == np.uint8:
        return torch.from_numpy(rng.integers(0, 256, size=shape, dtype=np.uint8))
    return torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))


def bench_module(
    module: AlveoModule,
    batches: Sequence[int],
    reps: int = 10,
    sampler: PowerSampler | None = None,
    seed: int = 0,
) -> list[BenchRow]:
    rows = []
    for batch in batches:
        x = example_input(module, batch, seed)
        module.run_outputs(x)  # warm-up: first-call allocations, caches
        times = []
        t0 = time.monotonic()
        if sampler is not None:
            sampler.sample()
        with torch.inference_mode():
            for _ in range(reps):
                start = time.perf_counter()
                module.run_outputs(x)
                times.append(time.perf_counter() - start)
        power = None
        if sampler is not None:
            sampler.sample()
            power = sampler.window(t0, time.monotonic())
        rows.append(
            BenchRow(
                batch=batch,
                reps=reps,
                fps=batch * reps / sum(times),
                latency_ms=statistics.median(times) * 1e3,
                max_latency_ms=max(times) * 1e3,
                board_w=power[0] if power else None,
                fpga_w=power[1] if power else None,
            )
        )
    return rows


def format_table(rows: Sequence[BenchRow]) -> str:
    head = f"{'batch':>6} {'reps':>5} {'FPS':>10} {'latency ms':>11} {'max ms':>9}"
    power = any(r.board_w is not None for r in rows)
    if power:
        head += f" {'board W':>8} {'FPGA W':>7}"
    lines = [head]
    for r in rows:
        line = (
            f"{r.batch:>6} {r.reps:>5} {r.fps:>10.1f} {r.latency_ms:>11.3f} "
            f"{r.max_latency_ms:>9.3f}"
        )
        if power:
            line += f" {_w(r.board_w):>8} {_w(r.fpga_w):>7}"
        lines.append(line)
    return "\n".join(lines)


def _w(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def to_json(rows: Sequence[BenchRow], **meta: Any) -> dict[str, Any]:
    return {**meta, "rows": [asdict(r) for r in rows]}


def plot(rows: Sequence[BenchRow], path: str | Path, title: str = "") -> Path:
    """FPS (left axis) and board/FPGA power (right axis, when measured) vs batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batches = [r.batch for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        ax.plot(batches, [r.fps for r in rows], "o-", color="tab:blue", label="FPS")
        ax.set_xscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("frames per second", color="tab:blue")
        if any(r.board_w is not None for r in rows):
            ax2 = ax.twinx()
            for attr, color, label in (
                ("board_w", "tab:red", "board W"),
                ("fpga_w", "tab:orange", "FPGA W"),
            ):
                ax2.plot(
                    batches,
                    [getattr(r, attr) or np.nan for r in rows],
                    "s--",
                    color=color,
                    label=label,
                )
            ax2.set_ylabel("power (W)")
            ax2.legend(loc="lower right")
        ax.set_title(title or "throughput vs batch size")
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    return out
