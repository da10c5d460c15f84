"""FIFO depths, latency and throughput from a fast dataflow model (no RTL simulation).

``size_fifos(graph, clock_mhz)`` runs ``model.DataflowModel`` on a folded graph and returns a
``FifoResult``: a depth for every on-card stream (keyed ``(tensor, consumer node)``, the keys
``compiler.estimate.estimate_graph`` takes), the batch-1 latency and the throughput at
batch 1, 10, 100 and 1000. ResNet-50 takes about a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from alveoflow.compiler.fifo.model import OUT_DMA_DELAY, DataflowModel, fifo_depth, join_slack
from alveoflow.compiler.ir import Graph

BATCHES = (1, 10, 100, 1000)


@dataclass(frozen=True)
class FifoResult:
    depths: dict[tuple[str, str], int]
    ii_cycles: float
    latency_cycles: float  # batch 1, first input word to last result
    clock_mhz: float
    batches: dict[int, dict[str, float]] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clock_mhz": self.clock_mhz,
            "ii_cycles": self.ii_cycles,
            "latency_cycles": self.latency_cycles,
            "latency_ms": self.latency_ms,
            "latency_over_ii": self.latency_cycles / self.ii_cycles,
            "batches": {str(b): v for b, v in self.batches.items()},
            "depths": {f"{t}->{c}": d for (t, c), d in sorted(self.depths.items())},
        }


def size_fifos(
    graph: Graph, clock_mhz: float = 250.0, batches: Sequence[int] = BATCHES
) -> FifoResult:
    """FIFO depths (no stall, no deadlock), batch-1 latency and throughput per batch size."""
    model = DataflowModel(graph)
    one = model.forward(1)
    latency = max(float(one[s][-1]) for s in model.sinks) + OUT_DMA_DELAY
    ii = max(model.rt[n] * model.rows[n] for n in model.order)
    ii = max(ii, model.source_rt * model.rows["@dma"])
    frames = int(math.ceil(latency / ii)) + 2
    steady = model.forward(frames, pace=ii)
    depths = {
        (e.tensor, e.consumer): fifo_depth(
            model.occupancy(steady, e, frames) + join_slack(graph, graph.node(e.consumer), e.tensor)
        )
        for e in model.edges()
        if e.producer != "@dma"
    }
    per_batch: dict[int, dict[str, float]] = {}
    for b in batches:
        times = one if b == 1 else model.forward(int(b))
        end = max(float(times[s][-1]) for s in model.sinks) + OUT_DMA_DELAY
        seconds = end / (clock_mhz * 1e6)
        per_batch[int(b)] = {"fps": b / seconds, "latency_ms": seconds * 1e3}
    return FifoResult(depths, float(ii), latency, float(clock_mhz), per_batch)


__all__ = ["BATCHES", "FifoResult", "size_fifos"]
