"""SLR assignment: a serpentine chain of units through the SLRs within limits and SLL budget.

Units (residual blocks, layers) are placed in graph order along a *walk* of SLRs that moves
one SLR at a time: ``0, 1, 2, 3, 2, 1, 0`` on a 4-SLR card whose DMA engines sit in SLR0, so
the stream starts and ends next to the I/O (the reference floorplan snakes the same way).
Each visit takes a contiguous run of the chain. The placement fills visits greedily under a
common cap, a fraction of every SLR's budget, and bisects the cap to the smallest that
works, which spreads the design evenly.

**Floorplan granularity.** A unit is placed whole wherever that fits. Only when the whole
placement cannot fit (some SLR would exceed its budget) may a unit be *split* at a node
boundary in stream order: when the rest of a unit does not fit the room left in the current
SLR, either the whole rest moves on to the next SLR of the walk, or its longest prefix of
nodes that fits stays and the remainder moves on (a split). The placement with the fewest
splits that fits is taken (every split ends a visit, so there are at most ``len(walk) - 1``
and at most ``2^(len(walk)-1)`` fill paths to try), then its cap is bisected as above.

**SLR crossings.** Every stream between nodes in different SLRs uses ``width + 2`` SLLs
(data, valid, ready) on every boundary it crosses; each boundary's total must stay within
the platform's SLL budget. Inside a split residual block both the main branch and the
bypass branch cross, and both are counted (they are just two stream edges of the graph).
The crossing registers sit in the Laguna sites of the SLL columns, so they cost no fabric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.estimate.model import GraphEstimate
from alveoflow.compiler.ir import Graph, Node
from alveoflow.compiler.physical import policy
from alveoflow.hw.platforms import RESOURCE_KEYS, Platform

Edge = tuple[str, str, int]  # (producer node, consumer node, stream bits)
DMA_END = "@dma"  # the consumer of a card output no host op reads (placed with the I/O)
Segment = tuple[int, int, int, int]  # (unit index, first piece, end piece, SLR)
BISECT_STEPS = 18
EPS = 1e-9


@dataclass(frozen=True)
class Placement:
    slr_of: dict[str, int]  # unit -> the SLR its first node sits in
    walk: tuple[int, ...]
    cap: float  # the fraction of each SLR budget the fullest SLR uses
    usage: tuple[dict[str, float], ...]  # per SLR, platform units (incl. infrastructure)
    sll: tuple[int, ...]  # per boundary
    node_slr: dict[str, int]  # every piece (node) -> SLR
    unit_slrs: dict[str, tuple[int, ...]]  # unit -> its SLRs in stream order
    sll_ok: bool = True

    @property
    def fits(self) -> bool:
        return self.cap <= 1.0 + EPS and self.sll_ok

    @property
    def split_units(self) -> list[str]:
        return [u for u, s in self.unit_slrs.items() if len(s) > 1]


def serpentine(platform: Platform) -> tuple[int, ...]:
    n, io = platform.num_slrs, platform.io_slr
    if n == 1:
        return (0,)
    up = tuple(range(io, n))
    down = tuple(range(n - 2, -1, -1))
    walk = up + down
    return walk if walk[-1] == io else up


def floorplan(graph: Graph, est: GraphEstimate, platform: Platform) -> Placement:
    """The placement of a priced graph: its units (``est.units``), each a chain of nodes with
    their cost and that of the FIFOs and converters feeding them, host ops pinned to the I/O
    SLR."""
    pieces = {u: [(n, _vector(c.as_dict())) for n, c in ps] for u, ps in est.per_node().items()}
    pinned = {"io": platform.io_slr}
    io_node = pieces["io"][0][0] if pieces.get("io") else "io"
    edges = [(a, io_node if b == DMA_END else b, bits) for a, b, bits in stream_edges(graph)]
    return place(list(est.units), pieces, edges, platform, pinned=pinned)


def stream_edges(graph: Graph) -> list[Edge]:
    """Every stream between two nodes as (producer, consumer, bits), at the width the
    physical design gives it (``policy.stream_bits``); a host end is the I/O SLR's DMA."""
    edges: list[Edge] = []
    for node in graph.nodes:
        for t in node.inputs:
            prod = graph.producer(t)
            if prod is None:
                continue
            consumer = node
            if node.op.on_host:  # a card output read by the host: the stream into the DMA
                edges.append((prod.name, node.name, _out_bits(graph, prod, t)))
            else:
                edges.append((prod.name, node.name, policy.stream_bits(graph, t, consumer)))
    for t in graph.outputs:  # card outputs no host op reads (top-k): streams into the DMA
        prod = graph.producer(t)
        if prod is not None and not prod.op.on_host and not graph.consumers(t):
            edges.append((prod.name, DMA_END, _out_bits(graph, prod, t)))
    return edges


def _out_bits(graph: Graph, prod: Node, tensor: str) -> int:
    index = [t.name for t in prod.outputs].index(tensor)
    return policy.port_lanes(graph, prod)[1][index] * graph.tensor(tensor).qtype.bits


def place(
    units: Sequence[str],
    pieces: Mapping[str, Sequence[tuple[str, np.ndarray]]],
    edges: Sequence[Edge],
    platform: Platform,
    pinned: Mapping[str, int] | None = None,
) -> Placement:
    """Assign ``units`` (graph order) to SLRs. ``pieces[unit]`` lists the unit's nodes in stream
    order with their costs (platform-unit vectors; a unit can only be split between pieces);
    ``edges`` are node-level streams; ``pinned`` fixes whole units to an SLR."""
    return _Placer(units, pieces, edges, platform, dict(pinned or {})).run()


@dataclass
class _Fill:
    """The search state of one fill: room used per SLR (updated in place and restored on
    backtracking), the per-SLR limit, the fill's rules and the segments placed so far."""

    used: np.ndarray
    limit: np.ndarray
    check_sll: bool
    split_first: bool
    path: list[Segment]


class _Placer:
    def __init__(
        self,
        units: Sequence[str],
        pieces: Mapping[str, Sequence[tuple[str, np.ndarray]]],
        edges: Sequence[Edge],
        platform: Platform,
        pinned: dict[str, int],
    ):
        self.platform, self.walk = platform, serpentine(platform)
        n = len(platform.slrs)
        self.budgets = np.array([_vector(platform.budget(i).as_dict()) for i in range(n)])
        self.free = [u for u in units if u not in pinned]
        self.names = [[p for p, _ in pieces.get(u, ())] or [u] for u in self.free]
        self.cums = [_cumulative(pieces.get(u, ())) for u in self.free]
        # cost of units i.. (for pruning: what is left must fit the room left)
        totals = [c[-1] for c in self.cums] + [np.zeros(len(RESOURCE_KEYS))]
        self.suffix = np.cumsum(np.array(totals)[::-1], axis=0)[::-1]
        self.base = np.zeros_like(self.budgets)
        self.fixed: dict[str, int] = {}
        for unit, slr in pinned.items():
            for name, cost in pieces.get(unit, ()) or ((unit, np.zeros(len(RESOURCE_KEYS))),):
                self.base[slr] += cost
                self.fixed[name] = slr
        self.pinned = pinned
        order = list(self.fixed) + [name for names in self.names for name in names]
        index = {name: i for i, name in enumerate(order)}
        known = [(index[a], index[b], bits) for a, b, bits in edges if a in index and b in index]
        self.edge_a = np.array([e[0] for e in known], dtype=np.int64)
        self.edge_b = np.array([e[1] for e in known], dtype=np.int64)
        self.edge_bits = np.array([e[2] + 2 for e in known], dtype=np.int64)
        self.sll_budget = np.array(platform.sll_per_boundary[: max(n - 1, 0)])
        self.max_splits = len(self.walk) - 1

    # -- strategy ----------------------------------------------------------------------------
    def run(self) -> Placement:
        # the greedy split-everywhere fill is the most permissive: if it fails, all do
        if self._fill(1.0, self.max_splits, False) is not None:
            for splits in range(self.max_splits + 1):
                if self._fill(1.0, splits, True) is not None:
                    return self._finish(self._bisect(0.0, 1.0, splits, True))
        # nothing fits: the least-overfull placement (split freely, SLLs unchecked) says
        # which resource overflows, so the search can re-price it
        return self._finish(self._bisect(1.0, 1e9, self.max_splits, False))

    def _bisect(self, lo: float, hi: float, splits: int, check_sll: bool) -> list[Segment]:
        best = self._fill(hi, splits, check_sll)
        assert best is not None
        if lo <= 0.0:
            lo = 0.0
        for _ in range(BISECT_STEPS):
            mid = (lo + hi) / 2 if hi < 2.0 else np.sqrt(max(lo, 1e-3) * hi)
            trial = self._fill(mid, splits, check_sll)
            if trial is None:
                lo = mid
            else:
                hi, best = mid, trial
        return best

    # -- one fill ----------------------------------------------------------------------------
    def _fill(self, cap: float, splits: int, check_sll: bool) -> list[Segment] | None:
        """Segments of a fill under ``cap`` with at most ``splits`` splits, or None."""
        limit = self.budgets * cap + EPS
        # a split run (free splits, SLLs unchecked) prefers splitting: it is then greedy
        split_first = not check_sll and splits == self.max_splits
        fill = _Fill(self.base.copy(), limit, check_sll, split_first, [])
        return self._step(fill, 0, 0, 0, splits)

    def _step(
        self, fill: _Fill, i: int, start: int, visit: int, splits: int
    ) -> list[Segment] | None:
        """Place unit ``i`` from piece ``start`` on, at walk position ``visit``, and the rest."""
        if i == len(self.free):
            if fill.check_sll and not self._sll_within(fill.path):
                return None
            return list(fill.path)
        if visit == len(self.walk):
            return None
        cum, slr = self.cums[i], self.walk[visit]
        before = cum[start - 1] if start > 0 else 0.0
        if not self._room_for(i, before, visit, fill.used, fill.limit):
            return None
        if np.all(fill.used[slr] + cum[-1] - before <= fill.limit[slr]):
            segment = (i, start, len(cum), slr)
            return self._place(fill, segment, cum[-1] - before, (i + 1, 0, visit), splits)
        moves = ("split", "move") if fill.split_first else ("move", "split")
        for move in moves:
            if move == "move":
                found = self._step(fill, i, start, visit + 1, splits)
            elif splits > 0:
                found = self._split(fill, i, start, visit, splits)
            else:
                found = None
            if found is not None:
                return found
        return None

    def _split(
        self, fill: _Fill, i: int, start: int, visit: int, splits: int
    ) -> list[Segment] | None:
        """Keep the longest prefix of unit ``i`` (from piece ``start``) that fits here."""
        cum, slr = self.cums[i], self.walk[visit]
        before = cum[start - 1] if start > 0 else 0.0
        ok = np.all(fill.used[slr] + cum[start:] - before <= fill.limit[slr], axis=1)
        end = start + int(np.argmin(ok)) if not ok.all() else len(cum)
        if end == start or end == len(cum):
            return None  # nothing fits here (or all of it does, handled by the caller)
        part = cum[end - 1] - before
        return self._place(fill, (i, start, end, slr), part, (i, end, visit + 1), splits - 1)

    def _place(
        self,
        fill: _Fill,
        segment: Segment,
        part: np.ndarray,
        then: tuple[int, int, int],
        splits: int,
    ) -> list[Segment] | None:
        """Place ``segment`` (costing ``part`` in its SLR), search on from ``then`` (unit,
        first piece, walk position) with ``splits`` left, then undo the placement."""
        slr = segment[3]
        fill.used[slr] += part
        fill.path.append(segment)
        found = self._step(fill, *then, splits)
        fill.path.pop()
        fill.used[slr] -= part
        return found

    def _room_for(
        self, i: int, before: np.ndarray | float, visit: int, used: np.ndarray, limit: np.ndarray
    ) -> bool:
        """Whether what is left (units i.. less the ``before`` part placed) can fit in the
        room the SLRs still on the walk have left (a necessary condition only)."""
        ahead = sorted(set(self.walk[visit:]))
        room = np.sum(limit[ahead] - used[ahead], axis=0)
        return bool(np.all(self.suffix[i] - before <= room + EPS))

    # -- results -----------------------------------------------------------------------------
    def _slr_vector(self, path: Sequence[Segment]) -> np.ndarray:
        slrs = list(self.fixed.values())
        for names in self.names:
            slrs.extend([-1] * len(names))
        offset = len(self.fixed)
        starts = np.cumsum([0] + [len(n) for n in self.names])
        for i, a, b, slr in path:
            slrs[offset + starts[i] + a : offset + starts[i] + b] = [slr] * (b - a)
        return np.array(slrs, dtype=np.int64)

    def _crossings(self, path: Sequence[Segment]) -> np.ndarray:
        n = len(self.platform.slrs)
        out = np.zeros(max(n - 1, 0), dtype=np.int64)
        if not len(self.edge_a):
            return out
        slr = self._slr_vector(path)
        lo = np.minimum(slr[self.edge_a], slr[self.edge_b])
        hi = np.maximum(slr[self.edge_a], slr[self.edge_b])
        for boundary in range(n - 1):
            out[boundary] = int(np.sum(self.edge_bits[(lo <= boundary) & (hi > boundary)]))
        return out

    def _sll_within(self, path: Sequence[Segment]) -> bool:
        return bool(np.all(self._crossings(path) <= self.sll_budget))

    def _finish(self, path: Sequence[Segment]) -> Placement:
        node_slr = dict(self.fixed)
        unit_slrs: dict[str, tuple[int, ...]] = {u: (s,) for u, s in self.pinned.items()}
        usage = self.base.copy()
        for i, a, b, slr in path:
            cum = self.cums[i]
            usage[slr] += cum[b - 1] - (cum[a - 1] if a > 0 else 0.0)
            for name in self.names[i][a:b]:
                node_slr[name] = slr
            unit = self.free[i]
            unit_slrs[unit] = unit_slrs.get(unit, ()) + (slr,)
        ratio = np.divide(usage, self.budgets, out=np.zeros_like(usage), where=self.budgets > 0)
        sll = self._crossings(path)
        return Placement(
            slr_of={u: s[0] for u, s in unit_slrs.items()},
            walk=self.walk,
            cap=float(np.max(ratio)) if ratio.size else 0.0,
            usage=tuple(_as_dict(u) for u in usage),
            sll=tuple(int(x) for x in sll),
            node_slr=node_slr,
            unit_slrs=unit_slrs,
            sll_ok=bool(np.all(sll <= self.sll_budget)),
        )


def _cumulative(pieces: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
    if not pieces:
        return np.zeros((1, len(RESOURCE_KEYS)))
    return np.cumsum(np.array([c for _, c in pieces], dtype=np.float64), axis=0)


def _vector(d: Mapping[str, float]) -> np.ndarray:
    return np.array([d[k] for k in RESOURCE_KEYS], dtype=np.float64)


def _as_dict(v: np.ndarray) -> dict[str, float]:
    return {k: float(x) for k, x in zip(RESOURCE_KEYS, v, strict=True)}
