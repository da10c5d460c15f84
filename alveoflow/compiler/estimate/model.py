"""Whole-graph estimate: cycles and resources per node, stream infrastructure, totals.

``estimate_graph(graph, styles, fifo_depths, extras, mac_styles=...)`` prices every node with
``ops.node_cost`` and ``cycles.node_cycles`` and adds the stream infrastructure between
nodes: a FIFO on every edge (``fifo_depths[(tensor, consumer)]``, default 2 = registers), a
width converter where the producer's and the consumer's stream widths differ, and the
card's DMA engines. ``mac_styles`` maps MAC units to their lane arithmetic (``"masked_sum"``
where the plan chose it; anything else, or absent, is the plain LUT/DSP datapath, which is
what the reference design uses). ``extras`` adds design-specific infrastructure (the
reference design's FIFO/converter chains, see ``reference.py``).

Nodes are grouped into *units* for floorplanning: one residual block (``layer2.3``), one
``block<i>``, or one layer (``conv1`` with its ``conv1.swg``); host ops belong to ``io``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alveoflow.compiler.estimate.cycles import consumer_mmv, in_elems, node_cycles, out_elems
from alveoflow.compiler.estimate.ops import (
    dma_cost,
    dwc_cost,
    fifo_cost,
    hls_mul_style,
    node_cost,
)
from alveoflow.compiler.estimate.resources import Cost, memory_cost, total
from alveoflow.compiler.ir import Graph, Node, hw

Edge = tuple[str, str]  # (tensor name, consumer node name)
DMA_PORT_BITS = 512
_BLOCK = re.compile(r"^((?:layer\d+\.\d+)|(?:block\d+))(?:\.|$)")


def unit_of(node: Node) -> str:
    """The floorplanning unit of a node (see module docstring)."""
    if node.op.on_host:
        return "io"
    m = _BLOCK.match(node.name)
    if m:
        return m.group(1)
    return node.name.split(".")[0]


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


def tensor_widths(graph: Graph) -> dict[str, int]:
    """Stream width in bits of every tensor as its producer writes it (0 for host ends)."""
    widths: dict[str, int] = {t.name: 0 for t in graph.inputs}
    for node in graph.nodes:
        for out in node.outputs:
            if node.op.on_host:
                widths[out.name] = 0
            elif isinstance(node.op, hw.Flatten):
                widths[out.name] = widths.get(node.inputs[0], 0)
            else:
                mmv = consumer_mmv(graph, node) if isinstance(node.op, hw.SlidingWindow) else 1
                widths[out.name] = out_elems(node.op, mmv) * out.qtype.storage_bits()
    return widths


def consumer_width(graph: Graph, node: Node, tensor: str) -> int:
    if node.op.on_host or isinstance(node.op, hw.Flatten):
        return 0
    mmv = consumer_mmv(graph, node) if isinstance(node.op, hw.SlidingWindow) else 1
    return in_elems(node.op, mmv) * graph.tensor(tensor).qtype.storage_bits()


def stream_infra(graph: Graph, fifo_depths: Mapping[Edge, int] | None) -> list[InfraItem]:
    """A FIFO on every on-card edge and a width converter where widths differ."""
    widths = tensor_widths(graph)
    items: list[InfraItem] = []
    for node in graph.nodes:
        unit = unit_of(node)
        for t in node.inputs:
            w_in, w_cons = widths.get(t, 0), consumer_width(graph, node, t)
            if w_in == 0 or w_cons == 0:
                continue
            depth = (fifo_depths or {}).get((t, node.name), 2)
            label = f"{t}->{node.name}"
            items.append(InfraItem("fifo", unit, label, fifo_cost(depth, w_in), node.name))
            if w_in != w_cons:
                items.append(InfraItem("dwc", unit, label, dwc_cost(w_in, w_cons), node.name))
    return items


def io_cycles(graph: Graph) -> int:
    """Cycles the input DMA needs per frame at one ``DMA_PORT_BITS`` word per cycle."""
    bits = sum(t.elems_per_frame * max(8, t.qtype.storage_bits()) for t in graph.inputs)
    return math.ceil(bits / DMA_PORT_BITS)


def estimate_graph(
    graph: Graph,
    styles: Mapping[str, tuple[str, int]] | None = None,
    fifo_depths: Mapping[Edge, int] | None = None,
    extras: Sequence[InfraItem] = (),
    default_style: tuple[str, int] = ("bram", 1),
    mac_styles: Mapping[str, str] | None = None,
) -> GraphEstimate:
    """Price ``graph`` as folded. ``styles`` maps MVAU/VVAU names to (memory style, pack),
    ``mac_styles`` MVAU names to their lane arithmetic (see the module docstring)."""
    rows: list[NodeEstimate] = []
    units: list[str] = []
    for node in graph.nodes:
        unit = unit_of(node)
        if unit not in units:
            units.append(unit)
        style, pack = (styles or {}).get(node.name, default_style)
        if getattr(node.op, "external_weights", False):
            style, pack = "external", 1
        in_shape = graph.tensor(node.inputs[0]).shape if node.inputs else ()
        mmv = consumer_mmv(graph, node) if isinstance(node.op, hw.SlidingWindow) else 1
        mac = "masked_sum" if (mac_styles or {}).get(node.name) == "masked_sum" else "lut"
        cost = node_cost(node, in_shape, style, pack, mmv, mac)
        lanes = _lanes(node)
        is_mac = isinstance(node.op, hw.MVAU | hw.VVAU | hw.SlidingWindow)
        rows.append(
            NodeEstimate(
                node.name,
                node.op.kind,
                unit,
                node_cycles(graph, node),
                cost,
                style if is_mac else "-",
                pack if is_mac else 1,
                lanes,
                hls_mul_style(node.op, mac),
            )
        )
    ports = 2 + sum(1 for n in graph.nodes if getattr(n.op, "external_weights", False))
    infra = stream_infra(graph, fifo_depths)
    infra.append(InfraItem("dma", "io", "dma", dma_cost(ports)))
    infra.extend(plram_items(graph))
    return GraphEstimate(tuple(rows), tuple(infra) + tuple(extras), io_cycles(graph), tuple(units))


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
