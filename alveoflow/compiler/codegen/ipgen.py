"""One partition -> one HLS IP: ports, internal streams, converters, duplicators, calls.

``build_ip`` wires the units of a partition (``units``/``units_stream``) together:

- every stream source (an input port or a node output) is fanned out to its readers (nodes
  of this IP, output ports) by ``duplicate`` chains, and converted with ``dwc`` where a
  reader takes a different word width (frame: one pixel's vector, C * bits);
- an input port takes the reader's width when an IPI ``axis_dwidth_converter`` can do the
  conversion on the link (single reader, both widths whole bytes), else the producer's;
- ``Flatten`` is free in a stream: its output is an alias of its input;
- FIFO depths come from ``fifo_depths[(tensor, consumer node)]``; defaults: 32 words (the
  reference's internal FIFOs), and four image rows into a residual add (``link_depth``: the
  same rule for a link between IPs, at least the reference's 1024 words; a bypass stream
  into the add of a block split across SLRs is such a link);
- ``mac_styles`` (node -> ``alveo::mul_style``, from the folding plan) is handed to the MAC
  unit handlers (``units``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alveoflow.compiler.codegen.units import Unit, UnitContext
from alveoflow.compiler.codegen.units_stream import HANDLERS, duplicate_calls
from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, hw
from alveoflow.errors import UnsupportedOpError

DEFAULT_DEPTH = 32
MAX_DEPTH = 32768


@dataclass
class Port:
    name: str
    tensor: str
    lanes: int
    qtype: QType
    width: int
    dest: str = ""  # output ports: the consuming IP ("dma" for card outputs)
    ipi_from_lanes: int = 0  # input ports: producer lanes when the link converts widths


@dataclass
class IPCode:
    name: str
    top: str
    ns: str
    nodes: tuple[Node, ...]
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    wmem_bits: int = 0
    ctx: UnitContext | None = None
    statements: list[str] = field(default_factory=list)


def canonical(graph: Graph, tensor: str) -> str:
    """The stream a tensor lives in: Flatten outputs are their input's stream."""
    prod = graph.producer(tensor)
    while prod is not None and isinstance(prod.op, hw.Flatten):
        tensor = prod.inputs[0]
        prod = graph.producer(tensor)
    return tensor


def link_depth(
    fifo_depths: Mapping[tuple[str, str], int],
    tensor: str,
    reader: Node | None,
    info: TensorInfo,
    lanes: int,
    default: int,
) -> int:
    """Depth of the link FIFO from another IP into ``reader``: the sized depth, else
    ``default`` (or four rows, if deeper, when ``reader`` is a residual add)."""
    if reader is not None and (tensor, reader.name) in fifo_depths:
        return int(fifo_depths[(tensor, reader.name)])
    if reader is not None and isinstance(reader.op, hw.AddStreams):
        return max(default, _depth(fifo_depths, tensor, reader, info, lanes))
    return default


def _depth(
    fifo_depths: Mapping[tuple[str, str], int],
    tensor: str,
    reader: Node | None,
    info: TensorInfo,
    lanes: int,
) -> int:
    if reader is not None and (tensor, reader.name) in fifo_depths:
        return max(2, min(MAX_DEPTH, int(fifo_depths[(tensor, reader.name)])))
    if reader is not None and isinstance(reader.op, hw.AddStreams) and len(info.shape) == 4:
        row_words = info.shape[2] * info.shape[3] // lanes
        return max(DEFAULT_DEPTH, min(MAX_DEPTH, 4 * row_words))
    return DEFAULT_DEPTH


@dataclass
class _Reader:
    node: Node | None  # None: an output port
    index: int  # input index of the node, or output port index
    lanes: int


def build_ip(
    graph: Graph,
    name: str,
    nodes: tuple[Node, ...],
    producer_lanes: Mapping[str, int | None],
    out_ports: list[tuple[str, str]],
    fifo_depths: Mapping[tuple[str, str], int],
    mac_styles: Mapping[str, str] | None = None,
) -> IPCode:
    """Wire an IP. ``producer_lanes``: lanes of every input tensor's producer (None: the DMA,
    which adapts to the reader); ``out_ports``: (tensor, destination IP) in port order;
    ``mac_styles``: planned ``alveo::mul_style`` per MAC node."""
    ip = IPCode(name, f"af_{name}", f"afcfg_{name}", nodes)
    ctx = UnitContext(ns=ip.ns, prefix=f"af_{name}_", mul_styles=dict(mac_styles or {}))
    ip.ctx = ctx
    hw_nodes = [n for n in nodes if not isinstance(n.op, hw.Flatten)]
    for node in hw_nodes:
        for t in node.inputs:
            prod = graph.producer(canonical(graph, t))
            if (
                isinstance(node.op, hw.VVAU)
                and prod is not None
                and isinstance(prod.op, hw.SlidingWindow)
            ):
                ctx.depthwise_swg[prod.name] = node.op.pe
    units: dict[str, Unit] = {}
    for node in hw_nodes:
        handler = HANDLERS.get(type(node.op))
        if handler is None:
            raise UnsupportedOpError(f"{node.name}: no HLS code generator for {node.op.kind}")
        units[node.name] = handler(ctx, node, graph.input_infos(node))
        ip.wmem_bits = max(ip.wmem_bits, units[node.name].wmem_bits)
    readers: dict[str, list[_Reader]] = {}
    for node in hw_nodes:
        for k, t in enumerate(node.inputs):
            readers.setdefault(canonical(graph, t), []).append(
                _Reader(node, k, units[node.name].in_lanes[k])
            )
    produced = {canonical(graph, t.name) for n in hw_nodes for t in n.outputs}
    for t in readers:
        if t not in produced and t not in producer_lanes:
            raise UnsupportedOpError(f"IP {name}: no producer known for input {t}")
    stream_of: dict[tuple[str, int], str] = {}  # (node name, input index) -> stream
    src_lanes: dict[str, int] = {}
    for t in [t for t in readers if t not in produced]:
        _add_in_port(ip, graph, t, producer_lanes[t], readers[t])
        src_lanes[t] = ip.inputs[-1].lanes
    for k, (t, dest) in enumerate(out_ports):
        readers.setdefault(t, []).append(_Reader(None, k, 0))
        info = graph.tensor(t)
        ip.outputs.append(Port(f"out{k}", t, 0, info.qtype, 0, dest))
    for port in ip.inputs:
        _distribute(
            ip,
            graph,
            port.tensor,
            port.name,
            port.lanes,
            readers[port.tensor],
            stream_of,
            fifo_depths,
        )
    for node in hw_nodes:
        unit = units[node.name]
        outs = []
        for k, info in enumerate(node.outputs):
            t = info.name
            lanes = unit.out_lanes[k]
            src_lanes[t] = lanes
            mine = readers.get(t, [])
            if not mine:
                raise UnsupportedOpError(f"{node.name}: output {t} is never read")
            if len(mine) == 1 and mine[0].node is None:
                port = ip.outputs[mine[0].index]
                port.lanes, port.width = lanes, lanes * _bits(info.qtype)
                outs.append(port.name)
                mine.clear()
            else:
                depth = _depth(fifo_depths, t, mine[0].node, info, lanes)
                outs.append(ctx.stream(_key(t), lanes * _bits(info.qtype), depth))
        ins = [stream_of[(node.name, k)] for k in range(len(node.inputs))]
        ip.statements.extend(unit.body(ins, outs))
        for k, info in enumerate(node.outputs):
            if readers.get(info.name):
                _distribute(
                    ip,
                    graph,
                    info.name,
                    outs[k],
                    unit.out_lanes[k],
                    readers[info.name],
                    stream_of,
                    fifo_depths,
                )
    return ip


def _bits(q: QType) -> int:
    return q.bits


def _key(tensor: str) -> str:
    return tensor.replace(".", "_")


def _add_in_port(
    ip: IPCode, graph: Graph, t: str, prod_lanes: int | None, mine: list[_Reader]
) -> None:
    info = graph.tensor(t)
    bits = _bits(info.qtype)
    lanes, ipi = prod_lanes or mine[0].lanes, 0
    if prod_lanes is not None and len(mine) == 1 and mine[0].lanes != prod_lanes:
        a, b = prod_lanes * bits, mine[0].lanes * bits
        if a % 8 == 0 and b % 8 == 0:
            lanes, ipi = mine[0].lanes, prod_lanes
    ip.inputs.append(
        Port(f"in{len(ip.inputs)}", t, lanes, info.qtype, lanes * bits, ipi_from_lanes=ipi)
    )


def _distribute(
    ip: IPCode,
    graph: Graph,
    t: str,
    src: str,
    lanes: int,
    mine: list[_Reader],
    stream_of: dict[tuple[str, int], str],
    fifo_depths: Mapping[tuple[str, str], int],
) -> None:
    """Fan ``src`` out to every reader of ``t``, converting widths where needed."""
    ctx = ip.ctx
    assert ctx is not None
    info = graph.tensor(t)
    bits = _bits(info.qtype)
    targets = []
    for r in mine:
        if r.node is None:
            port = ip.outputs[r.index]
            port.lanes, port.width = lanes, lanes * bits
            targets.append(port.name)
        elif len(mine) == 1:
            targets.append(src)
        else:
            depth = _depth(fifo_depths, t, r.node, info, lanes)
            targets.append(
                ctx.stream(f"{_key(t)}_to_{_key(r.node.name)}_{r.index}", lanes * bits, depth)
            )
    if len(mine) > 1:
        words = info.elems_per_frame // lanes
        ip.statements.extend(duplicate_calls(ctx, _key(t), src, targets, lanes * bits, words))
    for r, stream in zip(mine, targets, strict=True):
        if r.node is None:
            continue
        if r.lanes != lanes:
            depth = _depth(fifo_depths, t, r.node, info, r.lanes)
            conv = ctx.stream(f"{_key(t)}_dwc_{_key(r.node.name)}_{r.index}", r.lanes * bits, depth)
            cfg = ctx.config(
                f"cfg_{_key(t)}_dwc_{_key(r.node.name)}_{r.index}",
                f"{t}: {lanes} -> {r.lanes} lanes",
                IN_W=lanes * bits,
                OUT_W=r.lanes * bits,
                FRAME_BITS=info.shape[-1] * bits,
            )
            reps = info.elems_per_frame // info.shape[-1]
            ip.statements.append(f"alveo::dwc<{cfg}>({stream}, {conv}, {reps});")
            stream = conv
        stream_of[(r.node.name, r.index)] = stream
