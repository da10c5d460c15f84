"""One IP of a ``Design`` -> the C++ of its HLS top: streams, converters and library calls.

``render_ip(design, ip)`` decides nothing about the hardware: every stream, its depth, its
width on both ends and where its converter sits are the design's. It declares one
``hls::stream`` per stream inside the IP (depth as designed), names the IP's ports after the
design's ports, inserts a width converter (``alveo::dwc``, or ``alveo::dwc_sliced`` on an
MMV-interleaved stream) wherever the design puts one inside this IP, and calls each node's
unit (``units``/``units_stream``: config structs, parameter ROMs, library calls). A unit
whose own port widths disagree with the design's is an internal error, never silently
bridged. ``Flatten`` has no code: its stream is its input's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alveoflow.compiler.codegen.units import Unit, UnitContext
from alveoflow.compiler.codegen.units_stream import HANDLERS
from alveoflow.compiler.ir import Node, hw
from alveoflow.compiler.physical import DMA, IP, Design, Port, Stream, policy
from alveoflow.errors import GraphError, UnsupportedOpError


@dataclass
class IPCode:
    """What the templates render for one IP."""

    ip: IP
    nodes: tuple[Node, ...]
    ctx: UnitContext
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    wmem_bits: int = 0

    @property
    def name(self) -> str:
        return self.ip.name

    @property
    def top(self) -> str:
        return self.ip.top

    @property
    def ns(self) -> str:
        return self.ctx.ns


def render_ip(design: Design, ip: IP) -> IPCode:
    """The code of ``ip`` (see the module docstring)."""
    graph = design.graph
    nodes = tuple(graph.node(n) for n in ip.nodes)
    ctx = UnitContext(
        ns=f"afcfg_{ip.name}", prefix=f"af_{ip.name}_", mul_styles=dict(design.mul_styles)
    )
    code = IPCode(ip, nodes, ctx, list(ip.inputs), list(ip.outputs))
    for node in nodes:
        ctx.port_lanes[node.name] = policy.port_lanes(graph, node)
        if isinstance(node.op, hw.SlidingWindow):
            user = policy.reader(graph, node.outputs[0].name)
            if user is not None and isinstance(user.op, hw.VVAU):
                ctx.depthwise_swg[node.name] = int(user.op.pe)
    names = _stream_names(design, ip, code)
    for node in nodes:
        if isinstance(node.op, hw.Flatten):
            continue
        handler = HANDLERS.get(type(node.op))
        if handler is None:
            raise UnsupportedOpError(f"{node.name}: no HLS code generator for {node.op.kind}")
        unit = handler(ctx, node, graph.input_infos(node))
        code.wmem_bits = max(code.wmem_bits, unit.wmem_bits)
        ins = [_reader_end(code, s, names) for s in _inputs(design, node)]
        outs = [names[s.name] for s in _outputs(design, node)]
        _check_lanes(node, unit, _inputs(design, node), _outputs(design, node))
        code.statements.extend(unit.body(ins, outs))
    return code


def _inputs(design: Design, node: Node) -> list[Stream]:
    streams = [s for s in design.streams if s.dst == node.name]
    return sorted(streams, key=lambda s: s.dst_index)


def _outputs(design: Design, node: Node) -> list[Stream]:
    order = {t.name: k for k, t in enumerate(node.outputs)}
    streams = [s for s in design.streams if s.src == node.name]
    return sorted(streams, key=lambda s: order.get(s.tensor, 0))


def _stream_names(design: Design, ip: IP, code: IPCode) -> dict[str, str]:
    """The C++ name of every stream this IP touches: a port or a declared stream."""
    names = {p.stream: p.name for p in ip.inputs + ip.outputs}
    for s in design.streams:
        if s.kind == "internal" and s.src_ip == ip.name:
            names[s.name] = code.ctx.stream(s.name, s.src_width, s.depth)
    return names


def _reader_end(code: IPCode, s: Stream, names: dict[str, str]) -> str:
    """The stream a node reads: the design's stream, after its converter when the design puts
    one inside this IP."""
    src = names[s.name]
    if s.dwc != "ip":
        return src
    ctx = code.ctx
    conv = ctx.stream(f"{s.name}_dwc", s.dst_width, 2)
    cfg = ctx.config(
        f"cfg_{s.name}_dwc",
        f"{s.tensor}: {s.src_lanes} -> {s.dst_lanes} lanes"
        + (f", {s.slices} pixels per word" if s.slices > 1 else ""),
        IN_W=s.src_width,
        OUT_W=s.dst_width,
        FRAME_BITS=s.shape[-1] * s.qtype.bits,  # one pixel's vector (per slice)
        SLICES=s.slices,
    )
    reps = s.frame_elems // (s.shape[-1] * s.slices)
    fn = "dwc_sliced" if s.slices > 1 else "dwc"
    code.statements.append(f"alveo::{fn}<{cfg}>({src}, {conv}, {reps});")
    return conv


def _check_lanes(node: Node, unit: Unit, ins: list[Stream], outs: list[Stream]) -> None:
    got = (tuple(unit.in_lanes), tuple(unit.out_lanes))
    want = (tuple(s.dst_lanes for s in ins), tuple(s.src_lanes for s in outs))
    if got != want:
        raise GraphError(
            f"{node.name}: the HLS unit has ports {got} lanes, the design {want} (internal error: "
            "physical.policy.port_lanes and the code generator disagree)"
        )


__all__ = ["DMA", "IPCode", "render_ip"]
