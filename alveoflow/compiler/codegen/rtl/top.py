"""The network top ``afn_top``: the IPs, the streams between them, and the DMA ends as
AXI-Stream boundaries.

Ports (AXI-Stream; tlast is the top data bit of the DMA ends):

- ``in0``: the card input as the DMA reads it from memory: ``MEM_W``-bit words (the input
  kernel argument's width) of the frame's bytes in storage format (byte i at bits [8i, ..)),
  tlast on each frame's last word; ``af_dma_in`` re-packs them into one storage element per
  lane and ``af_lane_convert`` re-encodes them as the stream's elements (HLS ``af_dma_in``);
- ``in1`` (when the design has external FC weights): the FC's int8 weights, one
  ``FcWeights.mem_w``-bit word per step of the FC (the words the HLS tail reads from card
  memory), straight into the tail IP's ``fcw``;
- ``out<k>``: each card output in storage format as 32-bit words (``af_lane_convert`` to
  the storage type, ``af_dwc`` to 32 bits, ``af_dma_out`` with tlast per frame), in
  ``Design.dma_outs`` order.

Every stream between IPs or to a DMA end gets an ``af_fifo`` at the design's depth (and an
``af_dwc`` after it where the design converts on the link). Probes: the occupancy of every
FIFO of the design, ``probe_f<k>`` (``TopRtl.probes``: the link FIFOs, then each IP's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alveoflow.compiler.codegen.rtl.ipgen import (
    FC_PORT,
    IpRtl,
    Probe,
    add_fifo,
    converter,
    ip_instance,
)
from alveoflow.compiler.codegen.rtl.netlist import Netlist
from alveoflow.compiler.ir import QType
from alveoflow.compiler.physical import DMA, Design, DmaEnd
from alveoflow.hw.rtl import ops

TOP = "afn_top"


@dataclass
class TopRtl:
    netlist: Netlist
    probes: list[Probe] = field(default_factory=list)  # every FIFO: name, stream, width, depth
    mem_w: int = 0


def storage_type(end: DmaEnd) -> QType:
    """The element type of an end's storage (bipolar values are stored as int8 -1/+1)."""
    return QType(end.storage_bits, signed=end.qtype.signed or end.qtype.bipolar)


def build_top(design: Design, ips: list[IpRtl]) -> TopRtl:
    nl = Netlist(TOP, f"network top of kernel {design.kernel}: IPs, link FIFOs, DMA ends")
    arg = next(a for a in design.kernel_args if a.role == "input")
    top = TopRtl(nl, mem_w=arg.data_width)
    net_of: dict[str, str] = {}  # stream -> the net its producer writes
    net_of[design.dma_in.stream] = _dma_in(nl, design.dma_in, top.mem_w)
    fc = nl.port("in1", design.fc.mem_w, "in") if design.fc is not None else ""
    for code in ips:
        for p in code.netlist.ports:
            if p.direction == "out":
                net_of[p_stream(code, p.name)] = nl.net(f"l_{p_stream(code, p.name)}", p.width)
    reader_of = _links(nl, design, net_of, top.probes)
    for k, end in enumerate(design.dma_outs):
        _dma_out(nl, end, reader_of[end.stream], k)
    for code in ips:
        _place_ip(nl, code, reader_of, net_of, fc, top.probes)
    return top


def p_stream(code: IpRtl, port: str) -> str:
    """The design stream on an IP port."""
    return next(p.stream for p in code.ip.inputs + code.ip.outputs if p.name == port)


def _dma_in(nl: Netlist, end: DmaEnd, mem_w: int) -> str:
    nl.port("in0", mem_w + 1, "in")
    store = storage_type(end)
    bytes_w = end.lanes * store.bits
    words = end.frame_bytes * 8 // mem_w
    raw = nl.net("dma_in_raw", bytes_w)
    error = nl.wire("dma_in_frame_error", 1)  # declared, unread (a simulator may watch it)
    dma = ops.dma_in(mem_w, bytes_w, words)
    nl.add("u_dma_in", dma, {"in0": "in0", "out0": raw}, {"frame_error": error})
    if store == end.qtype:
        return raw
    out = nl.net("dma_in_elems", end.width)
    conv = ops.lane_convert(end.lanes, store, end.qtype)
    nl.add("u_dma_in_conv", conv, {"in0": raw, "out0": out})
    return out


def _dma_out(nl: Netlist, end: DmaEnd, src: str, k: int) -> None:
    store = storage_type(end)
    if store != end.qtype:
        wide = nl.net(f"dma_out{k}_wide", end.lanes * store.bits)
        conv = ops.lane_convert(end.lanes, end.qtype, store)
        nl.add(f"u_dma_out{k}_conv", conv, {"in0": src, "out0": wide})
        src = wide
    if end.lanes * store.bits != 32:
        words = nl.net(f"dma_out{k}_words", 32)
        dwc = ops.dwc(end.lanes * store.bits, 32)
        nl.add(f"u_dma_out{k}_dwc", dwc, {"in0": src, "out0": words})
        src = words
    nl.port(f"out{k}", 33, "out")
    nl.add(f"u_dma_out{k}", ops.dma_out(32, end.frame_bytes // 4), {"in0": src, "out0": f"out{k}"})


def _links(
    nl: Netlist, design: Design, net_of: dict[str, str], probes: list[Probe]
) -> dict[str, str]:
    """A FIFO (and a link converter) on every stream between IPs and DMA ends; the net each
    stream's reader takes."""
    reader_of: dict[str, str] = {}
    for s in design.links():
        queued = nl.net(f"q_{s.name}", s.src_width)
        add_fifo(nl, s, net_of[s.name], queued, probes)
        reader_of[s.name] = queued
        if s.dwc == "link" and s.dst != DMA:
            converted = nl.net(f"d_{s.name}", s.dst_width)
            nl.add(f"u_dwc_{s.name}", converter(s), {"in0": queued, "out0": converted})
            reader_of[s.name] = converted
    return reader_of


def _place_ip(
    nl: Netlist,
    code: IpRtl,
    reader_of: dict[str, str],
    net_of: dict[str, str],
    fc: str,
    probes: list[Probe],
) -> None:
    nets: dict[str, str] = {}
    for p in code.netlist.ports:
        if p.name == FC_PORT:
            nets[p.name] = fc
        elif p.direction == "in":
            nets[p.name] = reader_of[p_stream(code, p.name)]
        else:
            nets[p.name] = net_of[p_stream(code, p.name)]
    probe_nets = {}
    for probe in code.probes:
        wire = nl.wire(f"c_{probe.stream}", probe.width)
        name = f"f{len(probes)}"
        nl.probe(name, probe.width, wire)
        probes.append(Probe(name, probe.stream, probe.width, probe.depth))
        probe_nets[f"probe_{probe.name}"] = wire
    nl.add(f"u_{code.ip.name}", ip_instance(code), nets, probe_nets)
