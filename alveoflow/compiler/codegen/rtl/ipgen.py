"""One IP of a ``Design`` -> one SystemVerilog module (``afn_<ip>``) of library cells.

Like the HLS ``ipgen`` it decides nothing: the module's stream ports are the design's ports
(``in<k>``/``out<k>``, the width the IP sees), plus ``fcw`` (the external FC weights) on the
IP that reads them. Every stream inside the IP gets an ``af_fifo`` at the design's depth
(``fifo_style``: a shift register up to 32 words, else the memory ``policy.fifo_memory``
picks); a stream whose converter the design puts inside this IP (``Stream.dwc == "ip"``)
gets ``af_dwc`` (``af_dwc_sliced`` on an MMV stream) in front of its reader; every node's
cells come from ``units.HANDLERS``; ``Flatten`` has no cells (its stream is its input's).
The occupancy of each FIFO leaves on a probe output ``probe_f<k>`` (``IpRtl.probes``:
stream, width, depth), for simulation only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alveoflow.compiler.codegen.rtl.netlist import Netlist
from alveoflow.compiler.codegen.rtl.units import HANDLERS, RtlContext
from alveoflow.compiler.ir import Node, hw
from alveoflow.compiler.physical import IP, Design, Stream, policy
from alveoflow.errors import UnsupportedOpError
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl.instance import Instance
from alveoflow.hw.rtl.instance import Stream as LibStream

FC_PORT = "fcw"
SRL_MAX = 32


@dataclass(frozen=True)
class Probe:
    """A FIFO occupancy probe: port ``probe_<name>`` of the module, on ``stream``."""

    name: str
    stream: str
    width: int
    depth: int


@dataclass
class IpRtl:
    ip: IP
    netlist: Netlist
    probes: list[Probe] = field(default_factory=list)

    @property
    def module(self) -> str:
        return self.netlist.module


def module_name(ip: IP) -> str:
    return f"afn_{ip.name}"


def fifo_style(depth: int, width: int) -> str:
    """The ``af_fifo`` STYLE of a FIFO (``policy.fifo_memory`` decides the memory)."""
    memory = policy.fifo_memory(depth, width)
    if memory == "uram":
        return "ultra"
    if memory == "bram":
        return "block"
    return "srl" if depth <= SRL_MAX else "distributed"


def count_bits(depth: int) -> int:
    return depth.bit_length()


def add_fifo(nl: Netlist, s: Stream, src: str, dst: str, probes: list[Probe]) -> None:
    """``af_fifo`` at ``s.depth`` from net ``src`` to net ``dst``, its count on a probe."""
    width = count_bits(s.depth)
    count = nl.wire(f"c_{s.name}", width)
    inst = ops.fifo(s.src_width, s.depth, fifo_style(s.depth, s.src_width))
    nl.add(f"u_fifo_{s.name}", inst, {"in0": src, "out0": dst}, {"count": count})
    name = f"f{len(probes)}"
    nl.probe(name, width, count)
    probes.append(Probe(name, s.name, width, s.depth))


def converter(s: Stream) -> Instance:
    """The width converter on ``s`` (per slice on an MMV stream)."""
    if s.slices > 1:
        frame = s.shape[-1] * s.qtype.bits  # one pixel's vector
        return ops.dwc_sliced(s.src_width, s.dst_width, s.slices, frame)
    return ops.dwc(s.src_width, s.dst_width)


def build_ip(design: Design, ip: IP) -> IpRtl:
    """The module of ``ip`` (see the module docstring)."""
    nl = Netlist(module_name(ip), f"IP {ip.name} (SLR {ip.slr}): {', '.join(ip.nodes)}")
    code = IpRtl(ip, nl)
    reader: dict[str, str] = {}
    writer: dict[str, str] = {}
    for p in ip.inputs:
        reader[p.stream] = nl.port(p.name, p.width, "in")
    for p in ip.outputs:
        writer[p.stream] = nl.port(p.name, p.width, "out")
    fc_net = nl.port(FC_PORT, design.fc.mem_w, "in") if ip.fc_port and design.fc else ""
    for s in design.streams:
        if s.kind == "internal" and s.src_ip == ip.name:
            writer[s.name] = nl.net(f"s_{s.name}", s.src_width)
            reader[s.name] = nl.net(f"q_{s.name}", s.src_width)
            add_fifo(nl, s, writer[s.name], reader[s.name], code.probes)
        if s.dst_ip == ip.name and s.dwc == "ip":
            converted = nl.net(f"d_{s.name}", s.dst_width)
            nl.add(f"u_dwc_{s.name}", converter(s), {"in0": reader[s.name], "out0": converted})
            reader[s.name] = converted
    ctx = RtlContext(design, nl, ip.name, fc_net)
    for node in (design.graph.node(n) for n in ip.nodes):
        if isinstance(node.op, hw.Flatten):
            continue
        handler = HANDLERS.get(type(node.op))
        if handler is None:
            raise UnsupportedOpError(f"{node.name}: no RTL code generator for {node.op.kind}")
        ins = [reader[s.name] for s in _inputs(design, node)]
        outs = [writer[s.name] for s in _outputs(design, node)]
        handler(ctx, node, ins, outs)
    return code


def _inputs(design: Design, node: Node) -> list[Stream]:
    streams = [s for s in design.streams if s.dst == node.name]
    return sorted(streams, key=lambda s: s.dst_index)


def _outputs(design: Design, node: Node) -> list[Stream]:
    order = {t.name: k for k, t in enumerate(node.outputs)}
    streams = [s for s in design.streams if s.src == node.name]
    return sorted(streams, key=lambda s: order.get(s.tensor, 0))


def ip_instance(code: IpRtl) -> Instance:
    """The module of an IP as an instance (to place it in the top, or simulate it alone)."""
    ins = [LibStream(p.name, p.width, p.name) for p in code.netlist.ports if p.direction == "in"]
    outs = [LibStream(p.name, p.width, p.name) for p in code.netlist.ports if p.direction == "out"]
    return Instance.create(
        code.module,
        {},
        ins,
        outs,
        files=code.netlist.files,
        probes=[(f"probe_{p.name}", p.width) for p in code.probes],
        label=code.ip.name,
    )

