"""Every legal folding of a MAC unit, priced once, then picked per initiation interval.

For an MVAU/VVAU, ``mac_table`` lists every (pe, simd, mmv) with pe | rows, simd | columns and
mmv | pixels (mmv | output row width when a sliding window feeds it; mmv <= ``MAX_MMV``, only
for MVAUs), its cycles per frame (``estimate.cycles``' rule) and its cost with
each weight-memory option (LUT ROM, BRAM or URAM, alone or two PEs per dual-port block) and
each lane arithmetic (``policy.lut_mac_styles``: plain LUT lanes, or masked-sum lanes for bipolar
weights times unsigned activations).
``MacTable.pick(ii, weights)`` returns the cheapest entry meeting ``ii`` under a per-resource
price vector (numpy, so the search can call it thousands of times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alveoflow.compiler.estimate.cycles import EXTERNAL_PORT_BITS, pixels
from alveoflow.compiler.estimate.ops import dwc_cost, mac_core_cost, weight_cost
from alveoflow.compiler.estimate.resources import Cost
from alveoflow.compiler.ir import Graph, Node, hw
from alveoflow.compiler.physical.policy import fc_lanes, lut_mac_styles

MAX_MMV = 64
MEM_OPTIONS = (("lut", 1), ("bram", 1), ("bram", 2), ("uram", 1), ("uram", 2))
KEYS = ("lut", "ff", "bram36", "uram", "dsp")


def divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(math.isqrt(n)) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def vec(cost: Cost) -> np.ndarray:
    d = cost.as_dict()
    return np.array([d[k] for k in KEYS], dtype=np.float64)


@dataclass(frozen=True)
class Choice:
    pe: int
    simd: int
    mmv: int
    cycles: int
    style: str
    pack: int
    cost: np.ndarray  # (5,) in platform units
    mac: str = "lut"  # lane arithmetic: "lut" or "masked_sum"


@dataclass
class MacTable:
    """Candidates of one MAC unit (arrays aligned on the first axis)."""

    name: str
    folds: np.ndarray  # (n, 3) pe, simd, mmv
    cycles: np.ndarray  # (n,)
    costs: np.ndarray  # (n, options, 5)
    options: tuple[tuple[str, int, str], ...]  # (memory style, pack, mac style)
    min_mmv_for: tuple[int, int] = (0, 0)  # (window writes per frame at simd=C, reads)
    depthwise_channels: int = 0  # > 0: a VVAU, whose window runs at SIMD = its PE

    def feed(self) -> np.ndarray:
        """Cycles per frame of the sliding window feeding each candidate (0 when none): MMV
        windows per word but one input word per cycle; a depthwise window emits the VVAU's
        PE channels per word."""
        writes, reads = self.min_mmv_for
        if not writes:
            return np.zeros_like(self.cycles)
        if self.depthwise_channels:
            return max(writes, reads) * self.depthwise_channels / self.folds[:, 0]
        return np.maximum(writes / self.folds[:, 2], reads)

    def pick(self, ii: float, prices: np.ndarray, mmv_floor: int = 1) -> Choice | None:
        """Cheapest candidate with cycles <= ii (and window feed met), or None."""
        ok = self.cycles <= ii
        writes, _ = self.min_mmv_for
        if writes:
            ok &= self.feed() <= ii
        ok &= self.folds[:, 2] >= mmv_floor
        if not ok.any():
            return None
        scores = self.costs @ prices  # (n, options)
        best_opt = scores.argmin(axis=1)
        best = scores[np.arange(len(scores)), best_opt]
        best = np.where(ok, best, np.inf)
        i = int(best.argmin())
        pe, simd, mmv = (int(v) for v in self.folds[i])
        style, pack, mac = self.options[best_opt[i]]
        return Choice(
            pe, simd, mmv, int(self.cycles[i]), style, pack, self.costs[i, best_opt[i]], mac
        )


def mac_table(graph: Graph, node: Node, fixed: dict[str, Any] | None = None) -> MacTable:
    """All legal foldings of ``node`` (restricted to the ``fixed`` fields of an override)."""
    op = node.op
    assert isinstance(op, hw.MVAU | hw.VVAU)
    fixed = fixed or {}
    thr = node.weights.get("thresholds")
    nth = 0 if thr is None else int(thr.shape[1])
    pix = pixels(node.outputs[0].shape)
    rows, cols = (op.mh, op.mw) if isinstance(op, hw.MVAU) else (op.channels, op.kernel_elems)
    pes = [int(fixed["pe"])] if "pe" in fixed else divisors(rows)
    simds = [int(fixed["simd"])] if "simd" in fixed else divisors(cols)
    if isinstance(op, hw.VVAU):
        mmvs = [1]
    elif "mmv" in fixed:
        mmvs = [int(fixed["mmv"])]
    else:  # a sliding window emits MMV pixels of one output row per word
        row = node.outputs[0].shape[2] if _window_channels(graph, node) else pix
        mmvs = [m for m in divisors(row) if m <= MAX_MMV]
    external = bool(getattr(op, "external_weights", False))
    mems: tuple[tuple[str, int], ...] = (("external", 1),) if external else MEM_OPTIONS
    if "mem_style" in fixed and not external:
        mems = tuple(o for o in MEM_OPTIONS if o[0] == fixed["mem_style"])
    macs = lut_mac_styles(op)
    if "mac_style" in fixed:
        macs = tuple(m for m in macs if m == fixed["mac_style"])
    options = tuple((s, p, m) for m in macs for s, p in mems)
    floor = 0
    if external:
        floor = math.ceil(rows * cols * op.wdt.storage_bits() / EXTERNAL_PORT_BITS)
    swg = _window_channels(graph, node)
    folds, cycles, costs = [], [], []
    mem_cache: dict[tuple[int, int], list[np.ndarray]] = {}
    for pe in pes:
        for simd in simds:
            if (pe, simd) not in mem_cache:
                mem_cache[(pe, simd)] = [vec(weight_cost(op, pe, simd, s, p)) for s, p in mems]
            for mmv in mmvs:
                dwc = np.zeros(len(KEYS))
                if swg and simd % swg != 0 and swg % simd != 0 or simd > swg > 0:
                    feed = math.gcd(simd, swg) * mmv * op.idt.storage_bits()
                    dwc = vec(dwc_cost(feed, simd * mmv * op.idt.storage_bits()))
                cores = [vec(mac_core_cost(op, nth, pe, simd, mmv, m)) + dwc for m in macs]
                folds.append((pe, simd, mmv))
                comp = math.ceil(pix * (rows // pe) * (cols // simd) / mmv)
                if external and isinstance(op, hw.MVAU):  # one weight word a cycle, any folding
                    comp = pix * rows * (cols // fc_lanes(op))
                if mmv > 1 and not swg:  # MMV pixels gathered from a one-pixel stream
                    comp = max(comp, pix * (cols // simd))
                if mmv > 1:  # ... and put back one pixel per output word
                    comp = max(comp, pix * (rows // pe))
                cycles.append(max(floor, comp))
                costs.append([core + m for core in cores for m in mem_cache[(pe, simd)]])
    return MacTable(
        node.name,
        np.array(folds, dtype=np.int64),
        np.array(cycles, dtype=np.float64),
        np.array(costs, dtype=np.float64),
        options,
        _window_feed(graph, node),
        int(op.channels) if isinstance(op, hw.VVAU) else 0,
    )


def _window_channels(graph: Graph, node: Node) -> int:
    """Channels of the SlidingWindow feeding ``node`` (0 when none): its SIMD divides them,
    so a wider or non-dividing MAC SIMD needs a width converter in between."""
    prod = graph.producer(node.inputs[0])
    if prod is None or not isinstance(prod.op, hw.SlidingWindow):
        return 0
    return int(prod.op.channels)


def _window_feed(graph: Graph, node: Node) -> tuple[int, int]:
    """(writes, reads) per frame of the SlidingWindow feeding ``node`` at full SIMD."""
    prod = graph.producer(node.inputs[0])
    if prod is None or not isinstance(prod.op, hw.SlidingWindow):
        return (0, 0)
    op = prod.op
    window = op.kernel[0] * op.kernel[1]
    return (
        pixels(prod.outputs[0].shape) * window,
        pixels(graph.tensor(prod.inputs[0]).shape),
    )
