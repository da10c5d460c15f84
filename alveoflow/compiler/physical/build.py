"""``build_design``: the folded graph, its floorplan and its FIFO depths -> one ``Design``.

Inputs (``Layout``, read from a ``FoldingPlan`` with ``Layout.from_plan`` or left at its
defaults for an unplanned graph): node and unit SLRs, the I/O SLR, the planned lane
arithmetic and memory style of each MAC unit, the clock, the part and shell, and the FIFO
depths sized by the dataflow model (keyed ``(tensor, consumer node)``).

Rules (each stated once, here or in ``policy``):
- IPs: ``partition`` then ``split_by_slr``; an IP sits in the SLR most of its nodes sit in
  (a split part in its own SLR).
- Streams: one per card reader of every tensor (``Flatten`` is a view) plus the DMA ends;
  lanes from ``policy.port_lanes``.
- FIFO depth of a stream: the sized depth (at least ``MIN_LINK_DEPTH`` on a link between
  IPs, at least 2 inside one); unsized (no FIFO sizing, and while the folding search prices
  its candidates): ``DEFAULT_DEPTH`` inside an IP, ``LINK_DEPTH`` (the reference's inter-IP
  FIFO) on a link, and four image rows into a join (residual add, concat, gate multiply).
- Kernel arguments (Vitis HLS numbering, the reference's layout): ``in``, ``out`` (top-k
  when the design has it, else the logits), ``weightsmem`` (external FC weights), ``numReps``
  (the batch), then any further output ``out_<tensor>``. Pointers take 12 bytes of AXI-Lite
  space from 0x10, scalars 8.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alveoflow.compiler.boundary import input_stage, output_stages
from alveoflow.compiler.ir import Graph, Node, hw
from alveoflow.compiler.physical import policy
from alveoflow.compiler.physical.design import (
    DMA,
    IP,
    Design,
    DmaEnd,
    FcWeights,
    KernelArg,
    Port,
    Stream,
    ident,
)
from alveoflow.compiler.physical.partition import Partition, partition, split_by_slr
from alveoflow.errors import ConfigError, UnsupportedOpError

DEFAULT_DEPTH = 2  # an unsized stream inside an IP: a register pair (FINN's default)
LINK_DEPTH = 1024  # the reference's inter-IP axis_data_fifo depth
MIN_LINK_DEPTH = 32
MAX_DEPTH = 1 << 17
PLRAM_LIMIT = 2 * 1024 * 1024  # bytes of PLRAM0 the link script can set up (URAM)
PART = "xcu250-figd2104-2L-e"
SHELL = "xilinx_u250_gen3x16_xdma_4_1_202210_1"
Edge = tuple[str, str]


@dataclass(frozen=True)
class Layout:
    """What the design takes from the plan (see the module docstring)."""

    platform: str = "u250"
    part: str = PART
    shell: str = SHELL
    clock_mhz: float = 250.0
    io_slr: int = 0
    node_slrs: Mapping[str, int] = field(default_factory=dict)
    unit_slrs: Mapping[str, int] = field(default_factory=dict)
    mac_styles: Mapping[str, str] = field(default_factory=dict)
    mem_styles: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    hw: str = "hls"

    @staticmethod
    def from_plan(plan: Any, part: str = PART, hw_flavour: str = "hls") -> Layout:
        """A layout from a ``FoldingPlan`` (or its dict)."""
        get = plan.get if isinstance(plan, Mapping) else lambda k, d=None: getattr(plan, k, d)
        slr = {str(k): int(v) for k, v in dict(get("slr", {}) or {}).items()}
        styles = {
            str(k): (str(v["style"]), int(v["pack"]))
            for k, v in dict(get("mem_styles", {}) or {}).items()
        }
        return Layout(
            platform=str(get("platform", "u250")),
            part=str(get("part", part) or part),
            shell=str(get("shell", SHELL) or SHELL),
            clock_mhz=float(get("clock_mhz", 250.0)),
            io_slr=slr.get("io", 0),
            node_slrs={str(k): int(v) for k, v in dict(get("node_slrs", {}) or {}).items()},
            unit_slrs=slr,
            mac_styles={str(k): str(v) for k, v in dict(get("mac_styles", {}) or {}).items()},
            mem_styles=styles,
            hw=hw_flavour,
        )

    @staticmethod
    def from_design(design: Design) -> Layout:
        """The layout ``design`` was built with (to build a variant of the same network)."""
        return Layout(
            platform=design.platform,
            part=design.part,
            shell=design.shell,
            clock_mhz=design.clock_mhz,
            io_slr=design.io_slr,
            node_slrs=dict(design.node_slrs),
            mac_styles=dict(design.mul_styles),
            mem_styles=dict(design.mem_styles),
            hw=design.hw,
        )

    def slr_of(self, node: Node) -> int:
        return policy.node_slr(self.node_slrs, self.unit_slrs, node, self.io_slr)


def build_design(
    graph: Graph, layout: Layout | None = None, depths: Mapping[Edge, int] | None = None
) -> Design:
    """The ``Design`` of a folded, lowered ``graph`` (see the module docstring)."""
    layout = layout or Layout()
    _check_mac_styles(graph, layout)
    parts = split_by_slr(graph, partition(graph), layout.slr_of)
    ip_of = {n.name: p.name for p in parts for n in p.nodes}
    streams = _streams(graph, ip_of, dict(depths or {}))
    ips = tuple(_ip(p, streams, layout) for p in parts)
    dma_in, dma_outs = _dma_ends(graph, streams)
    fc = _fc(graph)
    return Design(
        kernel=_kernel_name(graph),
        platform=layout.platform,
        part=layout.part,
        shell=layout.shell,
        clock_mhz=layout.clock_mhz,
        hw=layout.hw,
        ips=ips,
        streams=tuple(streams),
        dma_in=dma_in,
        dma_outs=dma_outs,
        kernel_args=_kernel_args(dma_in, dma_outs, fc),
        fc=fc,
        io_slr=layout.io_slr,
        graph=graph,
        node_slrs={n.name: layout.slr_of(n) for n in graph.nodes if not n.op.on_host},
        mem_styles=_mem_styles(graph, layout),
        mul_styles={
            n.name: policy.mul_style(n.op, layout.mac_styles.get(n.name))
            for n in graph.nodes
            if isinstance(n.op, hw.MVAU | hw.VVAU)
        },
    )


def _check_mac_styles(graph: Graph, layout: Layout) -> None:
    """The plan's lane styles must be ``alveo::mul_style`` s that apply to their nodes."""
    for name, style in layout.mac_styles.items():
        node = next((n for n in graph.nodes if n.name == name), None)
        if node is None or not isinstance(node.op, hw.MVAU | hw.VVAU):
            continue
        if style not in policy.MUL_STYLES:
            raise ConfigError(
                f"{name}: the plan's mac style {style!r} is not an alveo::mul_style (one of "
                f"{list(policy.MUL_STYLES)}); fix mac_styles or re-run the folding planner"
            )
        if style == "masked_sum" and not policy.masked_sum_applies(node.op):
            raise ConfigError(
                f"{name}: the plan asks for masked_sum but its weights are "
                f"{node.op.wdt.name} x {node.op.idt.name}, not bipolar x unsigned; the plan does "
                "not belong to this graph, re-run the folding planner"
            )


def _kernel_name(graph: Graph) -> str:
    return ident(str(graph.meta.get("model", "alveoflow"))).lower()


# -- streams ----------------------------------------------------------------------------------


def _source(graph: Graph, tensor: str) -> tuple[str, Node | None]:
    """The tensor a stream carries and its producer, looking through Flatten views."""
    prod = graph.producer(tensor)
    while prod is not None and isinstance(prod.op, hw.Flatten):
        tensor = prod.inputs[0]
        prod = graph.producer(tensor)
    return tensor, prod


def _streams(graph: Graph, ip_of: Mapping[str, str], depths: dict[Edge, int]) -> list[Stream]:
    _check_single_readers(graph)
    card_in = input_stage(graph).card.name
    out: list[Stream] = []
    for node in graph.nodes:
        if node.op.on_host or isinstance(node.op, hw.Flatten):
            continue
        lanes_in = policy.port_lanes(graph, node)[0]
        for k, seen in enumerate(node.inputs):
            tensor, prod = _source(graph, seen)
            if prod is None and tensor != card_in:
                raise UnsupportedOpError(f"{node.name}: input {tensor} comes from nowhere")
            on_card = prod is not None and not prod.op.on_host
            src = prod.name if on_card and prod is not None else DMA
            src_lanes = _out_lanes(graph, prod, tensor) if on_card and prod else lanes_in[k]
            out.append(
                _stream(
                    graph, tensor, seen, src, node.name, ip_of, src_lanes, lanes_in[k], k, depths
                )
            )
    for stage in sorted(output_stages(graph), key=lambda o: o.kind != "topk"):
        tensor, prod = _source(graph, stage.card.name)
        if prod is None:
            raise UnsupportedOpError(f"card output {stage.card.name} has no card producer")
        lanes = _out_lanes(graph, prod, tensor)
        out.append(_stream(graph, tensor, tensor, prod.name, DMA, ip_of, lanes, lanes, 0, depths))
    return out


def _check_single_readers(graph: Graph) -> None:
    """Every stream has one reader (``insert_duplicate_streams`` ran)."""
    counts: dict[str, int] = {}
    for node in graph.nodes:
        for t in set(node.inputs):
            if node.op.on_host:
                producer = graph.producer(t)
                if producer is None or producer.op.on_host:
                    continue
            counts[t] = counts.get(t, 0) + 1
    shared = sorted(t for t, n in counts.items() if n > 1)
    if shared:
        raise UnsupportedOpError(
            f"streams with several readers: {shared[:4]}; the graph predates duplicate "
            "insertion of this version, recompile the build"
        )


def _out_lanes(graph: Graph, prod: Node, tensor: str) -> int:
    index = [t.name for t in prod.outputs].index(tensor)
    return policy.port_lanes(graph, prod)[1][index]


def _stream(
    graph: Graph,
    tensor: str,
    seen: str,
    src: str,
    dst: str,
    ip_of: Mapping[str, str],
    src_lanes: int,
    dst_lanes: int,
    index: int,
    depths: dict[Edge, int],
) -> Stream:
    info = graph.tensor(tensor)
    src_ip, dst_ip = ip_of.get(src, ""), ip_of.get(dst, "")
    link = src_ip != dst_ip
    sized = depths.get((seen, dst), depths.get((tensor, dst)))
    reader = graph.node(dst) if dst != DMA else None
    depth = _depth(sized, link, reader, info.shape, src_lanes)
    slices = 1
    if reader is not None and isinstance(reader.op, hw.MVAU):
        prod = graph.producer(tensor)
        if prod is not None and isinstance(prod.op, hw.SlidingWindow):
            slices = int(reader.op.mmv)
    name = ident(f"{tensor}__{dst}_{index}" if dst != DMA else f"{tensor}__dma")
    return Stream(
        name=name,
        tensor=tensor,
        src=src,
        dst=dst,
        src_ip=src_ip,
        dst_ip=dst_ip,
        qtype=info.qtype,
        src_lanes=src_lanes,
        dst_lanes=dst_lanes,
        frame_elems=info.elems_per_frame,
        shape=info.shape,
        depth=depth,
        slices=slices,
        dst_index=index,
    )


def _depth(
    sized: int | None, link: bool, reader: Node | None, shape: tuple[int, ...], lanes: int
) -> int:
    if sized is not None:
        return max(MIN_LINK_DEPTH if link else 2, min(MAX_DEPTH, int(sized)))
    base = LINK_DEPTH if link else DEFAULT_DEPTH
    joins = hw.AddStreams | hw.ConcatStreams | hw.ChannelMul
    if reader is not None and isinstance(reader.op, joins) and len(shape) == 4:
        return max(base, min(MAX_DEPTH, 4 * shape[2] * shape[3] // lanes))
    return base


# -- IPs, DMA, kernel arguments ---------------------------------------------------------------


def _ip(part: Partition, streams: list[Stream], layout: Layout) -> IP:
    inputs = [s for s in streams if s.dst_ip == part.name and s.src_ip != part.name]
    outputs = [s for s in streams if s.src_ip == part.name and s.dst_ip != part.name]
    in_ports = tuple(
        Port(f"in{k}", s.name, s.tensor, s.dst_lanes if s.dwc == "link" else s.src_lanes, s.qtype)
        for k, s in enumerate(inputs)
    )
    out_ports = tuple(
        Port(f"out{k}", s.name, s.tensor, s.src_lanes, s.qtype) for k, s in enumerate(outputs)
    )
    votes = [layout.slr_of(n) for n in part.nodes if not isinstance(n.op, hw.Flatten)]
    slr = max(sorted(set(votes)), key=votes.count) if votes else layout.io_slr
    fc_port = any(isinstance(n.op, hw.MVAU) and n.op.external_weights for n in part.nodes)
    return IP(
        name=part.name,
        nodes=tuple(n.name for n in part.nodes),
        slr=slr,
        block=part.block or part.name,
        inputs=in_ports,
        outputs=out_ports,
        fc_port=fc_port,
    )


def _dma_ends(graph: Graph, streams: list[Stream]) -> tuple[DmaEnd, tuple[DmaEnd, ...]]:
    first = next(s for s in streams if s.src == DMA)
    card_in = input_stage(graph).card
    dma_in = DmaEnd(
        "in",
        "input",
        card_in.name,
        first.name,
        "in",
        card_in.qtype,
        first.dst_lanes,
        card_in.elems_per_frame,
        card_in.shape,
    )
    outs = []
    order = sorted(output_stages(graph), key=lambda o: o.kind != "topk")
    for k, stage in enumerate(order):
        tensor = _source(graph, stage.card.name)[0]
        stream = next(s for s in streams if s.dst == DMA and s.tensor == tensor)
        info = stage.card
        end = DmaEnd(
            "out" if k == 0 else f"out_{ident(info.name)}",
            stage.kind,
            info.name,
            stream.name,
            "out",
            info.qtype,
            stream.src_lanes,
            info.elems_per_frame,
            info.shape,
        )
        if end.frame_bytes % 4:
            raise UnsupportedOpError(
                f"card output {info.name}: {end.frame_bytes} bytes per frame is not a multiple "
                "of 4 (the output DMA writes 32-bit words)"
            )
        outs.append(end)
    return dma_in, tuple(outs)


def _fc(graph: Graph) -> FcWeights | None:
    node = next(
        (n for n in graph.nodes if isinstance(n.op, hw.MVAU) and n.op.external_weights), None
    )
    if node is None:
        return None
    op = node.op
    assert isinstance(op, hw.MVAU)
    size = op.mh * op.mw
    memory = "PLRAM[0]" if size <= PLRAM_LIMIT else "DDR[0]"
    return FcWeights(node.name, (op.mh, op.mw), memory, 8 * policy.fc_lanes(op))


def _bank(memory: str) -> str:
    """PYNQ's name for a linked memory: ``DDR[1]`` -> ``bank1``, ``PLRAM[0]`` -> ``PLRAM0``."""
    kind, _, rest = memory.partition("[")
    index = rest.rstrip("]")
    return f"bank{index}" if kind == "DDR" else f"{kind}{index}"


def _kernel_args(
    dma_in: DmaEnd, dma_outs: tuple[DmaEnd, ...], fc: FcWeights | None
) -> tuple[KernelArg, ...]:
    in_width = 8 * math.gcd(64, dma_in.frame_bytes)  # the input DMA's memory word
    order: list[tuple[str, str, str, int]] = [("in", "input", "DDR[0]", in_width)]
    first, *rest = dma_outs
    order.append((first.arg, first.role, "DDR[0]", 32))
    if fc is not None:
        order.append(("weightsmem", "fc_weights", fc.memory, fc.mem_w))
    order.append(("numReps", "batch", "", 0))
    order += [(o.arg, o.role, "DDR[0]", 32) for o in rest]
    args, offset, bundle = [], 0x10, 0
    for name, role, memory, width in order:
        if role == "batch":
            args.append(KernelArg(name, role, "scalar", offset, 4))
            offset += 8
            continue
        port = "gmem2" if role == "fc_weights" else f"gmem{bundle if bundle < 2 else bundle + 1}"
        if role != "fc_weights":
            bundle += 1
        args.append(KernelArg(name, role, "buffer", offset, 8, port, memory, _bank(memory), width))
        offset += 12
    return tuple(args)


def _mem_styles(graph: Graph, layout: Layout) -> dict[str, tuple[str, int]]:
    out = {}
    for node in graph.nodes:
        op = node.op
        if isinstance(op, hw.MVAU) and op.external_weights:
            out[node.name] = ("external", 1)
        elif isinstance(op, hw.MVAU | hw.VVAU | hw.SlidingWindow):
            out[node.name] = tuple(layout.mem_styles.get(node.name, ("bram", 1)))  # type: ignore[assignment]
    return out
