"""What Yosys synthesises for a design out of context: every op, FIFO and converter.

``design_parts(design) -> (parts, missing)``: for each IP of the design, its nodes as
``hw.rtl`` instances with the design's choices (lane arithmetic, weight memory, window order
and MMV), the FIFO of every stream it reads (``af_fifo`` at the stream's depth) and the
width converter on it; the DMA ends (``af_dma_in``, ``af_dma_out``) belong to no IP
(``ip = ""``). FIFOs and converters are built as the RTL generator builds them
(``codegen.rtl.ipgen.fifo_style``, ``converter``). A FIFO or converter belongs to the IP of
the node it feeds (the producer's for a card output), as in the estimate. Nodes without
hardware (``Flatten``, host ops) are skipped; nodes the RTL library has no module for are
listed in ``missing``.

``config_key(inst, exact)``: one op configuration. Two instances with the same module,
parameters and ports are one configuration; the contents of their ``$readmemh`` files count
only where they become logic: weights in LUT ROM (``WMEM`` "distributed"). Threshold and bias
ROMs are small beside the datapath, so by default the first node of a configuration stands
for the others; ``exact=True`` keys on every file's contents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from alveoflow.compiler.codegen.rtl.ipgen import converter, fifo_style
from alveoflow.compiler.ir import Node, hw
from alveoflow.compiler.physical import DMA, Design
from alveoflow.compiler.physical.design import Stream
from alveoflow.compiler.physical.policy import reader, window_mmv, window_simd
from alveoflow.errors import AlveoflowError
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl.instance import Instance

WMEM = {"lut": "distributed", "bram": "block", "uram": "ultra", "external": "stream"}
MAC = {"lut": "lut", "masked_sum": "masked_sum", "dsp": "dsp", "dsp_packed2": "dsp"}
DEPTHWISE_READERS = (hw.VVAU, hw.StreamingMaxPool, hw.SumPool)


@dataclass(frozen=True)
class Part:
    """One instance Yosys synthesises: an op (``kind`` "op", ``name`` its node), a stream's
    FIFO or converter (``name`` the stream), or a DMA end; ``ip`` is its IP ("" for none)."""

    name: str
    kind: str
    ip: str
    inst: Instance


def config_key(inst: Instance, exact: bool = False) -> str:
    """The op configuration of ``inst`` (see the module docstring)."""
    h = hashlib.sha256(inst.structure_key().encode())
    logic_files = {name for name, _ in inst.files} if exact else _rom_files(inst)
    for name, text in inst.files:
        if name in logic_files:
            h.update(name.encode() + b"\0" + text.encode())
    return h.hexdigest()[:16]


def _rom_files(inst: Instance) -> set[str]:
    params = dict(inst.params)
    if params.get("WMEM") == "distributed" and isinstance(params.get("WFILE"), str):
        return {str(params["WFILE"])}
    return set()


def node_instance(design: Design, node: Node) -> Instance:
    """The ``hw.rtl`` instance of ``node`` with the design's choices."""
    graph = design.graph
    op = node.op
    shapes = [graph.tensor(t).shape for t in node.inputs]
    style = design.mem_styles.get(node.name, ("bram", 1))[0]
    if isinstance(op, hw.MVAU | hw.VVAU):
        mac = MAC[design.mul_styles.get(node.name, "lut")]
        if isinstance(op, hw.VVAU) and mac == "masked_sum":
            mac = "lut"
        wmem = WMEM[style]
        return ops.unit(op, node.weights, shapes, mac=mac, wmem=wmem).inst
    if isinstance(op, hw.SlidingWindow):
        user = reader(graph, node.outputs[0].name)
        choices: dict[str, bool | str | int] = {
            "depthwise": user is not None and isinstance(user.op, DEPTHWISE_READERS),
            "mem": "distributed" if style == "lut" else "block",
        }
        mmv, simd = window_mmv(graph, node), window_simd(graph, node)
        if mmv > 1:
            choices["mmv"] = mmv
        if simd != op.simd:
            choices["simd"] = simd
        return ops.unit(op, node.weights, shapes, **choices).inst
    return ops.unit(op, node.weights, shapes).inst


def stream_parts(design: Design, stream: Stream, ip: str) -> list[Part]:
    """The FIFO of ``stream`` (and its width converter) as parts of ``ip``, built as the RTL
    generator builds them (``codegen.rtl.ipgen``)."""
    style = fifo_style(stream.depth, stream.src_width)
    parts = [Part(stream.name, "fifo", ip, ops.fifo(stream.src_width, stream.depth, style))]
    if stream.converts and stream.dst != DMA:
        parts.append(Part(stream.name, "dwc", ip, converter(stream)))
    return parts


def dma_parts(design: Design) -> list[Part]:
    """The DMA ends: the input re-packer and one frame closer per card output."""
    mem_w = next(a.data_width for a in design.kernel_args if a.role == "input")
    end = design.dma_in
    words = -(-end.frame_bytes * 8 // mem_w)  # memory words per frame
    parts = [Part("dma_in", "dma", "", ops.dma_in(mem_w, end.width, words))]
    for out in design.dma_outs:
        inst = ops.dma_out(out.width, out.frame_elems // out.lanes)
        parts.append(Part(f"dma_out_{out.arg}", "dma", "", inst))
    return parts


def design_parts(design: Design) -> tuple[list[Part], list[str]]:
    """Every part of ``design`` and the nodes the RTL library cannot build (see above)."""
    graph = design.graph
    parts: list[Part] = []
    missing: list[str] = []
    for ip in design.ips:
        for name in ip.nodes:
            node = graph.node(name)
            if node.op.on_host or isinstance(node.op, hw.Flatten):
                continue
            try:
                parts.append(Part(name, "op", ip.name, node_instance(design, node)))
            except AlveoflowError as err:
                missing.append(f"{name} ({node.op.kind}): {err}")
    for stream in design.streams:
        owner = stream.src if stream.dst == DMA else stream.dst
        parts += stream_parts(design, stream, design.ip_of(owner))
    return parts + dma_parts(design), missing
