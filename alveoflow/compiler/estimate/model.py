"""The estimate prices the ``Design``: cycles and resources per node, stream infrastructure,
totals.

``estimate_design(design)`` prices every node with ``ops.node_cost`` and
``cycles.node_cycles`` (memory style and lane arithmetic as the design records them) and
adds what the design instantiates between nodes (``stream_infra``): the FIFO of every stream
at its depth, a width converter on every stream whose ends differ, the DMA engines, and the
PLRAM of external weights. ``estimate_graph`` builds the design of a folded graph first (the
folding search prices its candidates that way); ``extras`` adds infrastructure a design does
not describe (the reference design's own, in ``benchmarks/reference_design.py``).

Nodes are grouped into *units* for floorplanning (``policy.unit_of``): one residual block,
one layer, or ``io`` for host ops.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alveoflow.compiler.estimate.cycles import consumer_mmv, node_cycles
from alveoflow.compiler.estimate.ops import dma_cost, dwc_cost, fifo_cost, node_cost
from alveoflow.compiler.estimate.resources import Cost, memory_cost, total
from alveoflow.compiler.ir import Graph, Node, hw
from alveoflow.compiler.physical import DMA, Design, Layout, build_design
from alveoflow.compiler.physical.policy import unit_of

Edge = tuple[str, str]  # (tensor name, consumer node name)
DMA_PORT_BITS = 512


@dataclass(frozen=True)
class NodeEstimate:
    name: str
    kind: str
    unit: str
    cycles: int
    cost: Cost
    mem_style: str
    pack: int
    lanes: int
    mac_style: str = "-"  # the alveo::mul_style of a MAC unit ("-" for other nodes)


@dataclass(frozen=True)
class InfraItem:
    """Infrastructure between nodes: a FIFO, a width converter, a DMA engine."""

    kind: str
    unit: str
    label: str
    cost: Cost
    node: str = ""  # the node it serves (a FIFO/converter: its consumer); "" = the whole unit


@dataclass(frozen=True)
class GraphEstimate:
    nodes: tuple[NodeEstimate, ...]
    infra: tuple[InfraItem, ...]
    io_cycles: int
    units: tuple[str, ...] = field(default=())

    @property
    def ii(self) -> int:
        """Initiation interval (cycles per frame) = the slowest node or the input DMA."""
        return max([n.cycles for n in self.nodes] + [self.io_cycles, 1])

    @property
    def bottleneck(self) -> str:
        worst = max(self.nodes, key=lambda n: n.cycles)
        return worst.name if worst.cycles >= self.io_cycles else "input DMA"

    def fps(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.ii

    def total(self) -> Cost:
        return total([n.cost for n in self.nodes] + [i.cost for i in self.infra])

    def per_unit(self) -> dict[str, Cost]:
        """Cost per floorplanning unit, in graph order."""
        out: dict[str, Cost] = {u: Cost() for u in self.units}
        for n in self.nodes:
            out[n.unit] = out.get(n.unit, Cost()) + n.cost
        for i in self.infra:
            out[i.unit] = out.get(i.unit, Cost()) + i.cost
        return out

    def per_node(self) -> dict[str, list[tuple[str, Cost]]]:
        """Per floorplanning unit, its nodes in graph order with their cost plus that of the
        infrastructure serving them (a FIFO or converter goes with its consumer). Unit-wide
        infrastructure (DMA engines, the reference design's extras) goes with the unit's
        first node, or is a piece named after the unit where the unit has no node."""
        out: dict[str, list[tuple[str, Cost]]] = {u: [] for u in self.units}
        where: dict[str, tuple[str, int]] = {}
        for n in self.nodes:
            pieces = out.setdefault(n.unit, [])
            where[n.name] = (n.unit, len(pieces))
            pieces.append((n.name, n.cost))
        for i in self.infra:
            unit, k = where.get(i.node, (i.unit, 0))
            pieces = out.setdefault(unit, [])
            if not pieces:
                pieces.append((unit, Cost()))
            name, cost = pieces[k]
            pieces[k] = (name, cost + i.cost)
        return out

    def breakdown(self) -> dict[str, Cost]:
        """Cost by category: MAC units, other ops, FIFOs, converters, DMA, extras."""
        groups: dict[str, Cost] = {}
        for n in self.nodes:
            key = "mac" if n.kind in ("MVAU", "VVAU") else "other_ops"
            groups[key] = groups.get(key, Cost()) + n.cost
        for i in self.infra:
            groups[i.kind] = groups.get(i.kind, Cost()) + i.cost
        return groups


def stream_infra(design: Design) -> list[InfraItem]:
    """The design's stream infrastructure: the FIFO of every stream (depth x producer width),
    a width converter where its two ends differ, and the card's DMA engines. A FIFO or
    converter belongs to the unit of the node it feeds (the producer's for a DMA output)."""
    graph = design.graph
    items: list[InfraItem] = []
    for s in design.streams:
        node = graph.node(s.dst) if s.dst != DMA else graph.node(s.src)
        unit = unit_of(node)
        label = f"{s.tensor}->{s.dst}"
        items.append(InfraItem("fifo", unit, label, fifo_cost(s.depth, s.src_width), node.name))
        if s.converts:
            cost = dwc_cost(s.src_width, s.dst_width)
            items.append(InfraItem("dwc", unit, label, cost, node.name))
    buffers = sum(1 for a in design.kernel_args if a.kind == "buffer")
    items.append(InfraItem("dma", "io", "dma", dma_cost(buffers)))
    return items


def io_cycles(graph: Graph) -> int:
    """Cycles the input DMA needs per frame at one ``DMA_PORT_BITS`` word per cycle."""
    bits = sum(t.elems_per_frame * max(8, t.qtype.storage_bits()) for t in graph.inputs)
    return math.ceil(bits / DMA_PORT_BITS)


def estimate_design(design: Design, extras: Sequence[InfraItem] = ()) -> GraphEstimate:
    """Price ``design``: every node as folded, with the design's memory and lane styles, plus
    the design's streams (``stream_infra``), the external weights' PLRAM and ``extras``."""
    graph = design.graph
    rows: list[NodeEstimate] = []
    units: list[str] = []
    for node in graph.nodes:
        unit = unit_of(node)
        if unit not in units:
            units.append(unit)
        rows.append(_node_row(design, node, unit))
    infra = stream_infra(design) + plram_items(graph)
    return GraphEstimate(tuple(rows), tuple(infra) + tuple(extras), io_cycles(graph), tuple(units))


def _node_row(design: Design, node: Node, unit: str) -> NodeEstimate:
    graph = design.graph
    style, pack = design.mem_styles.get(node.name, ("bram", 1))
    in_shape = graph.tensor(node.inputs[0]).shape if node.inputs else ()
    mmv = consumer_mmv(graph, node) if isinstance(node.op, hw.SlidingWindow) else 1
    mul = design.mul_styles.get(node.name, "-")
    cost = node_cost(
        node, in_shape, style, pack, mmv, "masked_sum" if mul == "masked_sum" else "lut"
    )
    is_mac = isinstance(node.op, hw.MVAU | hw.VVAU | hw.SlidingWindow)
    return NodeEstimate(
        node.name,
        node.op.kind,
        unit,
        node_cycles(graph, node),
        cost,
        style if is_mac else "-",
        pack if is_mac else 1,
        _lanes(node),
        mul,
    )


def estimate_graph(
    graph: Graph,
    styles: Mapping[str, tuple[str, int]] | None = None,
    fifo_depths: Mapping[Edge, int] | None = None,
    extras: Sequence[InfraItem] = (),
    default_style: tuple[str, int] = ("bram", 1),
    mac_styles: Mapping[str, str] | None = None,
    layout: Layout | None = None,
) -> GraphEstimate:
    """Price ``graph`` as folded: its ``Design`` (``physical.build_design``) with memory
    ``styles`` (MAC unit -> (style, pack); others ``default_style``), planned lane arithmetic
    ``mac_styles`` and sized ``fifo_depths``, priced by ``estimate_design``. ``layout`` gives
    the floorplan (IPs split per SLR); without it every node sits in one SLR."""
    base = layout or Layout()
    mem: dict[str, tuple[str, int]] = {}
    for n in graph.nodes:
        if isinstance(n.op, hw.MVAU | hw.VVAU | hw.SlidingWindow):
            style, pack = (styles or {}).get(n.name, default_style)
            mem[n.name] = (str(style), int(pack))
    layout = dataclasses.replace(
        base,
        mem_styles={**mem, **dict(base.mem_styles)} if layout else mem,
        mac_styles=dict(mac_styles or base.mac_styles),
    )
    return estimate_design(build_design(graph, layout, fifo_depths), extras)


def plram_items(graph: Graph) -> list[InfraItem]:
    """External weights live in PLRAM, which the platform builds from URAM in the kernel's SLR
    (ResNet50-PYNQ: ``setup_plram.tcl`` grows PLRAM0 to 2 MB for the FC)."""
    items = []
    for node in graph.nodes:
        op = node.op
        if isinstance(op, hw.MVAU) and op.external_weights:
            bits = op.mh * op.mw * op.wdt.storage_bits()
            cost = memory_cost("uram", math.ceil(bits / 72), 72)
            label = f"PLRAM ({node.name} weights)"
            items.append(InfraItem("plram", unit_of(node), label, cost, node.name))
    return items


def _lanes(node: Node) -> int:
    op = node.op
    if isinstance(op, hw.MVAU):
        return op.pe * op.simd * op.mmv
    if isinstance(op, hw.VVAU):
        return op.pe * op.simd
    return 0
