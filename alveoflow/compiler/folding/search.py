"""Platform-aware folding search: ``plan_folding(graph, platform, target) -> FoldingPlan``.

The heuristic, in the order it runs:

1. **One initiation interval for everyone.** In a streaming dataflow design the frame rate
   is set by the slowest node, so every node is folded to meet one common target
   initiation interval ``II`` (cycles per frame) and no node is made faster than needed:
   parallelism a node does not need only costs area.
2. **Cheapest legal folding per node for that II.** For each MVAU/VVAU every legal (PE,
   SIMD, MMV) is known in advance (PE divides the output channels, SIMD the input vector,
   MMV the pixels; ``candidates.py``) with its cycles and its cost under each weight-memory
   style (LUT ROM, BRAM, URAM, one or two PEs per dual-port block). The node takes the
   candidate with cycles <= II of least *price*: resources weighted by 1 / (what the card
   allows of them), so a LUT-bound design spends BRAM or URAM on weights and keeps LUTs for
   lanes, and wide SIMD with few PEs wins where it is cheaper (fewer accumulators and
   threshold comparators per MAC lane). Binary-weight MVAUs with unsigned activations are
   also priced with masked-sum lanes (``mac_style="masked_sum"``: each lane ANDs, one
   column-sum tree per MVAU is shared by its PE rows), which win with many PEs. MMV (several
   pixels against one weight word) fills the gaps between power-of-two divisors, so layers
   land close to II rather than at half of it. A sliding window takes the smallest SIMD that
   keeps up with its consumer's MMV (preferring its consumer's SIMD, so no width converter
   is needed); element-wise nodes take the smallest PE that meets II, preferring their
   producer's stream width for the same reason.
3. **Re-price until it fits.** If the chosen design needs more of a resource than the card
   allows in total, or its floorplan overfills an SLR with it, that resource's price goes
   up (x 2 x the overflow) and step 2 runs again (a few rounds).
4. **Floorplan.** Units (residual blocks, layers) are laid along a serpentine of SLRs
   (``slr.py``): each SLR within its limits, each SLR boundary within its SLL budget. A
   unit stays whole in one SLR wherever that fits; only when it does not is it split at a
   node boundary, with the fewest splits (every stream across the split, main and bypass
   branch alike, is charged to the SLL budget).
5. **Target.** For a number (frames per second), II = clock / fps and steps 2-4 must fit,
   else ``ConfigError`` names the closest feasible figure. For ``"max"``, II is bisected
   between the fully parallel bound (the slowest node at its largest legal folding, the
   input DMA, the external-weight bandwidth) and the fully folded design: the smallest II
   whose design fits wins.

Per-layer overrides (``overrides={"layer3.0.conv2": {"pe": 16, "mem_style": "uram"}}``, also
``"mac_style": "lut" | "masked_sum"``) fix fields of a node before the search; unknown node
names or fields, and a mac style a node cannot use, are rejected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from alveoflow.compiler.estimate.cycles import consumer_mmv, node_cycles, op_cycles
from alveoflow.compiler.estimate.model import (
    GraphEstimate,
    estimate_graph,
    io_cycles,
)
from alveoflow.compiler.estimate.ops import node_cost
from alveoflow.compiler.folding.candidates import KEYS, MacTable, divisors, mac_table, vec
from alveoflow.compiler.folding.plan import FoldingPlan
from alveoflow.compiler.folding.slr import Placement, floorplan
from alveoflow.compiler.ir import Graph, Node, hw
from alveoflow.compiler.physical import policy
from alveoflow.compiler.physical.policy import lut_mac_styles, mul_style
from alveoflow.errors import ConfigError, close_matches
from alveoflow.hw.platforms import Platform, load_platform

OVERRIDE_KEYS = ("pe", "simd", "mmv", "mem_style", "mac_style")
FOLD_FIELDS = ("pe", "simd", "mmv")
STYLE_KEYS = ("mem_style", "mac_style")  # override fields that are not fields of the op
PRICE_ROUNDS = 5
SCAN_POINTS = 40
PE_OPS = (
    hw.StreamingMaxPool,
    hw.SumPool,
    hw.Thresholding,
    hw.AddStreams,
    hw.DuplicateStreams,
    hw.ConcatStreams,
    hw.Upsample,
    hw.ChannelMul,
    hw.ScaleStream,
)


@dataclass
class Candidate:
    ii_target: float
    graph: Graph
    styles: dict[str, tuple[str, int]]
    estimate: GraphEstimate
    placement: Placement
    sll_ok: bool
    macs: dict[str, str] = dataclasses.field(default_factory=dict)  # MAC unit -> mac style

    @property
    def fits(self) -> bool:
        return self.placement.fits and self.sll_ok


def plan_folding(
    graph: Graph,
    platform: str | Platform = "u250",
    target: float | str = "max",
    clock_mhz: float = 250.0,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    limits: Mapping[str, float] | None = None,
    fifo_depths: Mapping[tuple[str, str], int] | None = None,
) -> FoldingPlan:
    """Fold ``graph`` for ``platform`` at ``target`` FPS (or ``"max"``); see module docstring.
    ``fifo_depths`` (from a previous ``compiler.fifo.size_fifos``) prices the stream FIFOs;
    without it every FIFO is priced at depth 2."""
    plat = load_platform(platform, dict(limits or {})) if isinstance(platform, str) else platform
    overrides = _check_overrides(graph, overrides or {})
    if clock_mhz <= 0:
        raise ConfigError(f"clock must be positive, got {clock_mhz} MHz")
    search = _Search(graph, plat, overrides, dict(fifo_depths or {}))
    if target == "max":
        design = search.maximise()
    else:
        fps = _parse_fps(target)
        found = search.at(clock_mhz * 1e6 / fps)
        if found is None or not found.fits:
            best = search.maximise()
            raise ConfigError(
                f"{fps:.0f} FPS at {clock_mhz:g} MHz does not fit on {plat.name}: the closest "
                f"feasible design reaches {best.estimate.fps(clock_mhz):.0f} FPS "
                f"(II {best.estimate.ii} cycles); lower --target-fps or raise --clock-mhz"
            )
        design = found
    return _to_plan(design, plat, clock_mhz, target, overrides)


def _parse_fps(target: float | str) -> float:
    try:
        fps = float(target)
    except (TypeError, ValueError):
        raise ConfigError(f"target must be a number of FPS or 'max', got {target!r}") from None
    if not fps > 0:
        raise ConfigError(f"target FPS must be positive, got {fps}")
    return fps


def _check_overrides(
    graph: Graph, overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    names = [n.name for n in graph.nodes]
    out: dict[str, dict[str, Any]] = {}
    for name, fields in overrides.items():
        if name not in names:
            raise ConfigError(f"override for unknown node {name!r}{close_matches(name, names)}")
        bad = [k for k in fields if k not in OVERRIDE_KEYS]
        if bad:
            raise ConfigError(
                f"override {name}: unknown field {bad[0]!r}{close_matches(bad[0], OVERRIDE_KEYS)}"
            )
        node = graph.node(name)
        own = {f.name for f in dataclasses.fields(node.op)}  # type: ignore[arg-type]
        for key in fields:
            if key not in STYLE_KEYS and key not in own:
                raise ConfigError(f"override {name}: {node.op.kind} has no field {key!r}")
        if "mac_style" in fields and fields["mac_style"] not in lut_mac_styles(node.op):
            raise ConfigError(
                f"override {name}: mac_style {fields['mac_style']!r} does not apply to this "
                f"{node.op.kind}; choose one of {list(lut_mac_styles(node.op))}"
            )
        out[name] = dict(fields)
    return out


class _Search:
    def __init__(
        self,
        graph: Graph,
        platform: Platform,
        overrides: dict[str, dict[str, Any]],
        fifo_depths: dict[tuple[str, str], int],
    ):
        self.graph, self.platform, self.overrides = graph, platform, overrides
        self.fifo_depths = fifo_depths
        self.macs: dict[str, MacTable] = {
            n.name: mac_table(graph, n, overrides.get(n.name))
            for n in graph.nodes
            if isinstance(n.op, hw.MVAU | hw.VVAU)
        }
        budget = platform.total_budget().as_dict()
        self.budget = np.array([budget[k] for k in KEYS])
        self.base_prices = np.where(self.budget > 0, 1.0 / np.maximum(self.budget, 1e-9), 1e6)

    # -- bounds and search -----------------------------------------------------------------
    def lower_bound(self) -> float:
        fastest = [float(np.min(np.maximum(t.cycles, _feed(t)))) for t in self.macs.values()]
        return max(fastest + [float(io_cycles(self.graph)), 1.0])

    def upper_bound(self) -> float:
        return max([float(np.max(t.cycles)) for t in self.macs.values()] + [self.lower_bound()])

    def maximise(self) -> Candidate:
        lo, hi = self.lower_bound(), self.upper_bound() * 1.05
        best = self.at(hi)
        if best is None or not best.fits:
            raise self._no_fit(best)
        lo_design = self.at(lo)
        if lo_design is not None and lo_design.fits:
            return lo_design
        floor = lo
        while hi / lo > 1.002:
            mid = math.sqrt(lo * hi)
            design = self.at(mid)
            if design is not None and design.fits:
                hi, best = mid, design
            else:
                lo = mid
        return self._refine(floor, best)

    def _refine(self, floor: float, best: Candidate) -> Candidate:
        """Feasibility is not monotone in II (divisor steps): also try the natural IIs
        (cycle counts some candidate lands on exactly) below the bisection's answer."""
        values = np.unique(np.concatenate([t.cycles for t in self.macs.values()]))
        values = values[(values >= floor) & (values < best.estimate.ii)]
        if len(values) > SCAN_POINTS:
            values = values[np.linspace(0, len(values) - 1, SCAN_POINTS).astype(int)]
        for ii in values:
            design = self.at(float(ii))
            if design is not None and design.fits and design.estimate.ii < best.estimate.ii:
                return design
        return best

    def at(self, ii: float) -> Candidate | None:
        """The design meeting ``ii``, re-priced until it fits (or None). A resource is
        re-priced when the design needs more of it than the card allows in total, or when
        the floorplan overfills an SLR with it (whole units per SLR: a design that fits in
        total can still overflow one SLR, and then that resource is the scarce one)."""
        prices = self.base_prices.copy()
        design = None
        for _ in range(PRICE_ROUNDS):
            design = self._design(ii, prices)
            if design is None:
                return None
            over = design.estimate.total().to_vector()
            used = np.array([over.as_dict()[k] for k in KEYS])
            ratio = np.divide(used, self.budget, out=np.zeros_like(used), where=self.budget > 0)
            ratio = np.maximum(ratio, self._slr_ratio(design.placement))
            if design.fits or not np.any(ratio > 1.0):
                return design
            prices = prices * np.where(ratio > 1.0, 2.0 * ratio, 1.0)
        return design

    def _slr_ratio(self, placement: Placement) -> np.ndarray:
        """Per resource, the fullest SLR's use over its budget."""
        worst = np.zeros(len(KEYS))
        for i, usage in enumerate(placement.usage):
            budget = self.platform.budget(i).as_dict()
            for j, k in enumerate(KEYS):
                if budget[k] > 0:
                    worst[j] = max(worst[j], usage[k] / budget[k])
        return worst

    def _no_fit(self, design: Candidate | None) -> ConfigError:
        if design is None:
            return ConfigError("no legal folding exists for this graph")
        used = design.estimate.total().to_vector().as_dict()
        budget = dict(zip(KEYS, self.budget, strict=True))
        worst = max(KEYS, key=lambda k: used[k] / budget[k] if budget[k] > 0 else 0.0)
        frac = used[worst] / budget[worst] if budget[worst] > 0 else float("inf")
        if frac <= 1.0:  # the total fits: one SLR cannot hold what must sit in it
            slr_worst = KEYS[int(np.argmax(self._slr_ratio(design.placement)))]
            return ConfigError(
                f"the design does not fit on {self.platform.name} at any folding: it fits in "
                f"total, but even fully folded and split at layer boundaries one SLR would be "
                f"at {design.placement.cap:.0%} of its limits ({slr_worst}; the I/O SLR also "
                f"holds the DMA engines and the DDR controller); the closest feasible figure "
                f"is 0 FPS. Raise the {slr_worst} limit or use a larger card"
            )
        return ConfigError(
            f"the design does not fit on {self.platform.name} at any folding: even fully folded "
            f"it needs {used[worst]:.0f} {worst} = {frac:.0%} of what the limits allow "
            f"({budget[worst]:.0f}); the closest feasible figure is 0 FPS. Use a larger card, "
            f"fewer/lower-precision weights, or raise the {worst} limit"
        )

    # -- one design --------------------------------------------------------------------------
    def _design(self, ii: float, prices: np.ndarray) -> Candidate | None:
        fold: dict[str, dict[str, int]] = {}
        styles: dict[str, tuple[str, int]] = {}
        macs: dict[str, str] = {}
        for name, table in self.macs.items():
            choice = table.pick(ii, prices)
            if choice is None:
                return None
            fold[name] = {"pe": choice.pe, "simd": choice.simd}
            if isinstance(self.graph.node(name).op, hw.MVAU):
                fold[name]["mmv"] = choice.mmv
            styles[name] = (choice.style, choice.pack)
            macs[name] = choice.mac
        nodes: list[Node] = []
        for node in self.graph.nodes:
            if node.name in fold:
                nodes.append(_refold(node, fold[node.name]))
            else:
                nodes.append(node)
        virtual = Graph(self.graph.inputs, tuple(nodes), self.graph.outputs, self.graph.meta)
        rest = self._fold_rest(virtual, ii, prices, fold, styles)
        if rest is None:
            return None
        virtual = Graph(self.graph.inputs, tuple(rest), self.graph.outputs, self.graph.meta)
        est = estimate_graph(virtual, styles, self.fifo_depths, mac_styles=macs)
        placement, sll_ok = self._place(virtual, est)
        return Candidate(ii, virtual, styles, est, placement, sll_ok, macs)

    def _fold_rest(
        self,
        g: Graph,
        ii: float,
        prices: np.ndarray,
        fold: dict[str, dict[str, int]],
        styles: dict[str, tuple[str, int]],
    ) -> list[Node] | None:
        widths: dict[str, int] = {}
        out: list[Node] = []
        for node in g.nodes:
            op = node.op
            fixed = self.overrides.get(node.name, {})
            if isinstance(op, hw.SlidingWindow):
                mmv = consumer_mmv(g, node)
                user = g.consumers(node.outputs[0].name)[0]
                want = getattr(user.op, "simd", 1)
                simd = _smallest(g, node, "simd", op.channels, ii, mmv, want, fixed)
                if simd is None:
                    return None
                node = _refold(node, {"simd": simd})
                styles[node.name] = self._buffer_style(g, node, mmv, prices, fixed)
                fold[node.name] = {"simd": simd}
            elif isinstance(op, PE_OPS):
                prefer = widths.get(node.inputs[0], 1)
                size = math.gcd(*op.channels) if isinstance(op.channels, tuple) else op.channels
                pe = _smallest(g, node, "pe", size, ii, 1, prefer, fixed)
                if pe is None:
                    return None
                node = _refold(node, {"pe": pe})
                fold[node.name] = {"pe": pe}
            for t in node.outputs:
                widths[t.name] = policy.port_lanes(g, node)[1][0] if not op.on_host else 0
            out.append(node)
        return out

    def _buffer_style(
        self, g: Graph, node: Node, mmv: int, prices: np.ndarray, fixed: Mapping[str, Any]
    ) -> tuple[str, int]:
        if "mem_style" in fixed:
            return (str(fixed["mem_style"]), 1)
        in_shape = g.tensor(node.inputs[0]).shape
        scores = {
            s: float(vec(node_cost(node, in_shape, s, 1, mmv)) @ prices) for s in ("lut", "bram")
        }
        return (min(scores, key=lambda s: scores[s]), 1)

    def _place(self, g: Graph, est: GraphEstimate) -> tuple[Placement, bool]:
        placement = floorplan(g, est, self.platform)
        return placement, placement.sll_ok


def _feed(table: MacTable) -> np.ndarray:
    return table.feed()


def _refold(node: Node, fields: Mapping[str, int]) -> Node:
    """``node`` with new folding fields, without re-inference (the search's scratch copy)."""
    changed = {k: v for k, v in fields.items() if getattr(node.op, k) != v}
    if not changed:
        return node
    return dataclasses.replace(node, op=dataclasses.replace(node.op, **changed))  # type: ignore[type-var]


def _smallest(
    g: Graph,
    node: Node,
    field: str,
    size: int,
    ii: float,
    mmv: int,
    prefer: int,
    fixed: Mapping[str, Any],
) -> int | None:
    """The smallest legal value of ``field`` meeting ``ii``; ``prefer`` when it is legal,
    meets ``ii`` and is at most 4x the smallest (it saves a width converter)."""
    in_shape = g.tensor(node.inputs[0]).shape
    options = [int(fixed[field])] if field in fixed else divisors(size)
    ok = [
        v
        for v in options
        if op_cycles(
            dataclasses.replace(node.op, **{field: v}),  # type: ignore[type-var]
            in_shape,
            node.outputs[0].shape,
            mmv,
        )
        <= ii
    ]
    if not ok:
        return None
    if prefer in ok and prefer <= 4 * ok[0]:
        return prefer
    return ok[0]


def _to_plan(
    design: Candidate,
    platform: Platform,
    clock_mhz: float,
    target: float | str,
    overrides: dict[str, dict[str, Any]],
) -> FoldingPlan:
    g = design.graph
    folding: dict[str, dict[str, int]] = {}
    for node in g.nodes:
        own = {f.name for f in dataclasses.fields(node.op)}  # type: ignore[arg-type]
        fields: dict[str, int] = {
            k: int(getattr(node.op, k)) for k in ("pe", "simd", "mmv") if k in own
        }
        if fields:
            folding[node.name] = fields
    styles = {k: {"style": s, "pack": p} for k, (s, p) in design.styles.items()}
    macs = {k: mul_style(g.node(k).op, m) for k, m in design.macs.items()}
    est = design.estimate
    names = {n.name for n in g.nodes}
    return FoldingPlan(
        platform=platform.name,
        shell=platform.default_shell,
        clock_mhz=float(clock_mhz),
        target=str(target),
        ii_cycles=int(est.ii),
        fps=float(est.fps(clock_mhz)),
        folding=folding,
        mem_styles=styles,
        mac_styles=macs,
        slr={u: int(s) for u, s in design.placement.slr_of.items()},
        node_slrs={n: int(s) for n, s in design.placement.node_slr.items() if n in names},
        unit_slrs={u: [int(x) for x in s] for u, s in design.placement.unit_slrs.items()},
        split_units=list(design.placement.split_units),
        sll=[int(x) for x in design.placement.sll],
        walk=list(design.placement.walk),
        units=list(est.units),
        overrides={k: dict(v) for k, v in overrides.items()},
        limits={k: float(getattr(platform.limits, k)) for k in KEYS},
    )


def fixed_plan(
    graph: Graph, platform: str | Platform = "u250", clock_mhz: float = 250.0
) -> FoldingPlan:
    """A plan that keeps ``graph``'s own folding: default memory and lane styles, every unit
    in the platform's I/O SLR (what a build without the folding search uses)."""
    plat = load_platform(platform) if isinstance(platform, str) else platform
    folding: dict[str, dict[str, int]] = {}
    for node in graph.nodes:
        own = {f.name for f in dataclasses.fields(node.op)}  # type: ignore[arg-type]
        kept: dict[str, int] = {k: int(getattr(node.op, k)) for k in FOLD_FIELDS if k in own}
        if kept:
            folding[node.name] = kept
    units = list(dict.fromkeys(policy.unit_of(n) for n in graph.nodes))
    ii = max([node_cycles(graph, n) for n in graph.nodes] + [1])
    return FoldingPlan(
        platform=plat.name,
        shell=plat.default_shell,
        clock_mhz=float(clock_mhz),
        target="graph",
        ii_cycles=int(ii),
        fps=float(clock_mhz * 1e6 / ii),
        folding=folding,
        mem_styles={},
        slr={u: plat.io_slr for u in units},
        walk=[plat.io_slr],
        units=units,
        notes=["no folding search: the graph's own folding, every unit in the I/O SLR"],
    )
