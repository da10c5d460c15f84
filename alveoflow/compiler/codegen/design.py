"""The whole card design: IPs, the links between them, the DMA and the external FC weights.

``build_design(graph, plan, fifo_depths)`` partitions the card part of a folded, lowered
graph (``partition``), wires every IP (``ipgen.build_ip``) and records the links (with
FIFO depths and IPI width converters), the DMA ends and the kernel's argument list. It is
the single model every emitter (C++, Tcl, cfg, cppsim harness) renders from.

What it reads from the plan dict (``FoldingPlan.to_dict()``, all optional):

- ``node_slrs`` (else ``slr`` per floorplanning unit, else SLR0): the SLR of every node. An
  IP holding a unit the floorplanner split across SLRs (a residual block) becomes one IP per
  SLR (``partition.split_by_slr``), each pinned to its SLR; any other IP is pinned to the
  SLR most of its nodes sit in;
- ``mac_styles``: the ``alveo::mul_style`` of each MAC unit (``units``); without it the
  code generator's own rule picks one;
- ``clock_mhz``, ``part``, ``shell``; ``slr["io"]`` places ``inoutdma``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alveoflow.compiler.codegen.cpp import ctype, ident, storage_bits, storage_ctype
from alveoflow.compiler.codegen.ipgen import IPCode, build_ip, canonical, link_depth
from alveoflow.compiler.codegen.partition import card_boundary, partition, split_by_slr
from alveoflow.compiler.estimate.model import unit_of
from alveoflow.compiler.ir import Graph, Node, QType, hw
from alveoflow.errors import UnsupportedOpError

LINK_DEPTH = 1024  # the reference's inter-IP axis_data_fifo depth
PART = "xcu250-figd2104-2L-e"
SHELL = "xilinx_u250_gen3x16_xdma_4_1_202210_1"
PLRAM_LIMIT = 2 * 1024 * 1024  # bytes of PLRAM0 the link script can set up (URAM)


@dataclass
class Link:
    tensor: str
    src: str
    src_port: str
    dst: str
    dst_port: str
    qtype: QType
    src_lanes: int
    dst_lanes: int
    depth: int
    frame_elems: int
    shape: tuple[int, ...] = ()

    @property
    def src_width(self) -> int:
        return self.src_lanes * self.qtype.bits

    @property
    def dst_width(self) -> int:
        return self.dst_lanes * self.qtype.bits


@dataclass
class DmaEnd:
    """One DMA stream: the card input (``mem -> stream``) or a card output (``stream -> mem``)."""

    arg: str  # kernel argument name
    tensor: str  # card tensor name (as the runtime knows it)
    qtype: QType
    lanes: int
    frame_elems: int
    bundle: str
    shape: tuple[int, ...] = ()

    @property
    def elem(self) -> str:
        return ctype(self.qtype)

    @property
    def storage(self) -> str:
        return storage_ctype(self.qtype)

    @property
    def storage_bits(self) -> int:
        return storage_bits(self.qtype)

    @property
    def frame_bytes(self) -> int:
        return self.frame_elems * self.storage_bits // 8

    @property
    def width(self) -> int:
        return self.lanes * self.qtype.bits

    @property
    def mem_w(self) -> int:
        return 8 * math.gcd(64, self.frame_bytes)


@dataclass
class Design:
    kernel: str
    ips: list[IPCode]
    links: list[Link]
    dma_in: DmaEnd
    dma_outs: list[DmaEnd]
    fc_node: str | None
    fc_weights: np.ndarray | None
    fc_mem_w: int
    fc_memory: str
    slr: dict[str, int]
    clock_mhz: float
    part: str
    shell: str
    meta: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)  # split IP -> the block it is part of

    def ip(self, name: str) -> IPCode:
        return next(i for i in self.ips if i.name == name)


def build_design(
    graph: Graph,
    plan: Mapping[str, Any] | None = None,
    fifo_depths: Mapping[tuple[str, str], int] | None = None,
) -> Design:
    plan = dict(plan or {})
    depths = dict(fifo_depths or {})
    node_slr = slr_function(plan)
    parts = split_by_slr(graph, partition(graph), node_slr, unit_of)
    macs = {str(k): str(v) for k, v in dict(plan.get("mac_styles") or {}).items()}
    card_in, card_out = card_boundary(graph)
    if len(card_in) != 1:
        raise UnsupportedOpError(f"the card needs exactly one input stream, got {list(card_in)}")
    t_in = canonical(graph, card_in[0])
    owner = {canonical(graph, t.name): p.name for p in parts for n in p.nodes for t in n.outputs}
    reads: dict[str, list[str]] = {}
    for p in parts:
        for n in p.nodes:
            for t in n.inputs:
                c = canonical(graph, t)
                if owner.get(c) != p.name and p.name not in reads.setdefault(c, []):
                    reads[c].append(p.name)
    ips: list[IPCode] = []
    port_lanes: dict[tuple[str, str], int] = {}  # (tensor, dest) -> producer lanes
    for p in parts:
        outs = [(t, d) for t in _produced(graph, p) for d in reads.get(t, [])]
        outs += [
            (canonical(graph, c), f"dma:{c}")
            for c in card_out
            if owner.get(canonical(graph, c)) == p.name
        ]
        prod = {t: port_lanes.get((t, p.name)) for t, ds in reads.items() if p.name in ds}
        ip = build_ip(graph, p.name, p.nodes, prod, outs, depths, macs)
        for port in ip.outputs:
            port_lanes[(port.tensor, port.dest)] = port.lanes
        ips.append(ip)
    links = _links(graph, ips, depths, t_in)
    dma_in, dma_outs = _dma(graph, ips, t_in, card_in[0], card_out)
    fc = next(
        (n for p in parts for n in p.nodes if isinstance(n.op, hw.MVAU) and n.op.external_weights),
        None,
    )
    fc_w = None if fc is None else np.asarray(fc.weights["weights"]).astype(np.int8)
    fc_mem = max((ip.wmem_bits for ip in ips), default=0)
    slr = _slr_of(plan, ips, node_slr)
    kernel = ident(str(graph.meta.get("model", "alveoflow"))).lower()
    return Design(
        kernel=kernel,
        ips=ips,
        links=links,
        dma_in=dma_in,
        dma_outs=dma_outs,
        fc_node=fc.name if fc else None,
        fc_weights=fc_w,
        fc_mem_w=fc_mem,
        fc_memory="PLRAM[0]" if fc_w is not None and fc_w.size <= PLRAM_LIMIT else "DDR[0]",
        slr=slr,
        clock_mhz=float(plan.get("clock_mhz", 250.0)),
        part=str(plan.get("part", PART)),
        shell=str(plan.get("shell", SHELL)),
        meta={"model": str(graph.meta.get("model", "")), "folding_plan": bool(plan)},
        blocks={p.name: p.block for p in parts if p.block},
    )


def _produced(graph: Graph, p: Any) -> list[str]:
    seen: list[str] = []
    for n in p.nodes:
        for t in n.outputs:
            c = canonical(graph, t.name)
            if c not in seen:
                seen.append(c)
    return seen


def _links(
    graph: Graph, ips: list[IPCode], depths: Mapping[tuple[str, str], int], t_in: str
) -> list[Link]:
    links = []
    for ip in ips:
        for port in ip.inputs:
            t = port.tensor
            info = graph.tensor(t)
            if t == t_in:
                src, sport, slanes = "dma", "to_net", port.lanes
            else:
                src_ip = next(
                    i for i in ips for o in i.outputs if o.tensor == t and o.dest == ip.name
                )
                out = next(o for o in src_ip.outputs if o.tensor == t and o.dest == ip.name)
                src, sport, slanes = src_ip.name, out.name, out.lanes
            reader = next((n for n in ip.nodes for x in n.inputs if canonical(graph, x) == t), None)
            depth = link_depth(depths, t, reader, info, port.lanes, LINK_DEPTH)
            links.append(
                Link(
                    t,
                    src,
                    sport,
                    ip.name,
                    port.name,
                    info.qtype,
                    slanes,
                    port.lanes,
                    int(depth),
                    info.elems_per_frame,
                    info.shape,
                )
            )
    for ip in ips:
        for port in ip.outputs:
            if port.dest.startswith("dma:"):
                info = graph.tensor(port.tensor)
                links.append(
                    Link(
                        port.tensor,
                        ip.name,
                        port.name,
                        "dma",
                        port.dest[4:],
                        info.qtype,
                        port.lanes,
                        port.lanes,
                        LINK_DEPTH,
                        info.elems_per_frame,
                        info.shape,
                    )
                )
    return links


def _dma(
    graph: Graph, ips: list[IPCode], t_in: str, card_in: str, card_out: tuple[str, ...]
) -> tuple[DmaEnd, list[DmaEnd]]:
    first = next(p for ip in ips for p in ip.inputs if p.tensor == t_in)
    info = graph.tensor(t_in)
    dma_in = DmaEnd(
        "in",
        card_in,
        info.qtype,
        first.lanes,
        info.elems_per_frame,
        "gmem0",
        graph.tensor(card_in).shape,
    )
    order = sorted(card_out, key=lambda c: not _is_topk(graph, c))
    outs = []
    for k, c in enumerate(order):
        port = next(p for ip in ips for p in ip.outputs if p.dest == f"dma:{c}")
        cinfo = graph.tensor(c)
        end = DmaEnd(
            "out" if k == 0 else f"out_{ident(c)}",
            c,
            cinfo.qtype,
            port.lanes,
            cinfo.elems_per_frame,
            "gmem1" if k == 0 else f"gmem{k + 2}",
            cinfo.shape,
        )
        if end.frame_bytes % 4:
            raise UnsupportedOpError(
                f"card output {c}: {end.frame_bytes} bytes per frame is not a multiple of 4 "
                "(the output DMA writes 32-bit words)"
            )
        outs.append(end)
    return dma_in, outs


def _is_topk(graph: Graph, tensor: str) -> bool:
    prod = graph.producer(tensor)
    return prod is not None and isinstance(prod.op, hw.LabelSelect)


def slr_function(plan: Mapping[str, Any]) -> Callable[[Node], int]:
    """The SLR of a node under ``plan`` (``FoldingPlan.slr_of_node``'s rule on the plan dict:
    ``node_slrs``, else its unit's ``slr``, else 0)."""
    nodes = {str(k): int(v) for k, v in dict(plan.get("node_slrs") or {}).items()}
    units = {str(k): int(v) for k, v in dict(plan.get("slr") or {}).items()}

    def slr_of(node: Node) -> int:
        return nodes[node.name] if node.name in nodes else units.get(unit_of(node), 0)

    return slr_of


def _slr_of(
    plan: Mapping[str, Any], ips: list[IPCode], node_slr: Callable[[Node], int]
) -> dict[str, int]:
    units = dict(plan.get("slr", {}))
    out = {"inoutdma": int(units.get("io", 0))}
    for ip in ips:
        votes = [node_slr(n) for n in ip.nodes if not isinstance(n.op, hw.Flatten)]
        out[ip.name] = max(sorted(set(votes)), key=votes.count) if votes else 0
    return out
