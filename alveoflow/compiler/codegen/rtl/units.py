"""One hardware node -> RTL library cells between the design's streams.

``HANDLERS[type(op)](ctx, node, ins, outs)`` adds the node's cells to the IP's netlist, read
from net names ``ins`` (one per input, in input order, already at the design's consumer
width) and written to ``outs`` (one per output, at the design's producer width). Every
choice is the design's: the lane arithmetic (``Design.mul_styles``; ``dsp_packed2`` runs as
plain DSP lanes, one DSP per product, same results), the weight memory
(``Design.mem_styles``: ``lut`` -> LUTRAM, ``bram`` -> block RAM, ``uram`` -> UltraRAM,
``external`` -> the FC weight stream), the MMV format of a sliding window (``policy``). Like
the HLS generator:

- an MVAU with MMV > 1 reads MMV pixels per word from a sliding window, else gathers them
  (``af_mmv_pack``); its MMV pixels per output word are put back in pixel order
  (``af_mmv_unpack``), one pixel's PE lanes per word as the design's stream carries them;
- the external-weights layer is an ``af_mvau`` with ``WMEM = "stream"``: PE = 1, SIMD =
  ``policy.fc_lanes``, int8 weights from the IP's ``fcw`` stream, one 8*SIMD-bit word per
  step (the HLS ``fc_external`` reads the same words from card memory);
- a VVAU with SIMD > 1 gets its SIMD kernel positions per word through a width converter.

Cell names are ``u_<node>[_<part>]``; ``$readmemh`` files are ``<ip>__<node>_<file>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from alveoflow.compiler.codegen.rtl.netlist import Netlist
from alveoflow.compiler.ir import Node, QType, hw
from alveoflow.compiler.physical import Design, policy
from alveoflow.compiler.physical.design import ident
from alveoflow.errors import UnsupportedOpError
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl.instance import Instance

WMEM = {"lut": "distributed", "bram": "block", "uram": "ultra", "external": "stream"}


@dataclass
class RtlContext:
    """What a handler may use: the design, the IP's netlist, its FC weight stream net."""

    design: Design
    netlist: Netlist
    ip: str
    fc_net: str = ""

    def cell(self, node: Node, part: str, inst: Instance, nets: dict[str, str]) -> None:
        key = ident(node.name)
        named = inst.with_file_prefix(f"{self.ip}__{key}_")
        self.netlist.add(f"u_{key}{'_' + part if part else ''}", named, nets)

    def chain(self, node: Node, cells: list[tuple[str, Instance]], src: str, dst: str) -> None:
        """Single-stream cells in series from net ``src`` to net ``dst``."""
        key = ident(node.name)
        for k, (part, inst) in enumerate(cells):
            out = dst
            if k < len(cells) - 1:
                out = self.netlist.net(f"n_{key}_{part or 'unit'}", inst.outputs[0].word_bits)
            self.cell(node, part, inst, {"in0": src, "out0": out})
            src = out


Handler = Callable[[RtlContext, Node, list[str], list[str]], None]


def _style(ctx: RtlContext, node: Node) -> str:
    return ctx.design.mem_styles.get(node.name, ("bram", 1))[0]


def _mac(ctx: RtlContext, node: Node) -> str:
    style = ctx.design.mul_styles.get(node.name, "lut")
    return "dsp" if style == "dsp_packed2" else style


def rtl_mvau(ctx: RtlContext, node: Node, ins: list[str], outs: list[str]) -> None:
    op: hw.MVAU = node.op  # type: ignore[assignment]
    if op.external_weights:
        _fc_external(ctx, node, ins, outs)
        return
    wmem = WMEM.get(_style(ctx, node), "block")
    unit = ops.mvau(op, node.weights, mac=_mac(ctx, node), wmem=wmem)
    windowed = policy.window_feed(ctx.design.graph, node) is not None
    nf, sf = op.mh // op.pe, op.mw // op.simd
    cells: list[tuple[str, Instance]] = []
    if op.mmv > 1 and not windowed:
        cells.append(("mmv_in", ops.mmv_pack(op.simd * op.idt.bits, sf, op.mmv)))
    cells.append(("", unit.inst))
    if op.mmv > 1:
        cells.append(("mmv_out", ops.mmv_unpack(op.pe * op.odt.bits, nf, op.mmv)))
    ctx.chain(node, cells, ins[0], outs[0])


def _fc_external(ctx: RtlContext, node: Node, ins: list[str], outs: list[str]) -> None:
    op: hw.MVAU = node.op  # type: ignore[assignment]
    if op.mmv != 1:
        raise UnsupportedOpError(f"{node.name}: an external-weight layer has MMV 1")
    lanes = policy.fc_lanes(op)
    streamed = dataclasses.replace(op, wdt=QType.sint(8), simd=lanes, pe=1, mmv=1)
    unit = ops.mvau(streamed, node.weights, mac=_mac(ctx, node), wmem="stream")
    ctx.cell(node, "", unit.inst, {"in0": ins[0], "in1": ctx.fc_net, "out0": outs[0]})


def rtl_vvau(ctx: RtlContext, node: Node, ins: list[str], outs: list[str]) -> None:
    op: hw.VVAU = node.op  # type: ignore[assignment]
    wmem = WMEM.get(_style(ctx, node), "block")
    mac = "dsp" if _mac(ctx, node) == "dsp" else "lut"  # masked_sum runs as lut (as in HLS)
    unit = ops.vvau(op, node.weights, mac=mac, wmem="distributed" if wmem == "stream" else wmem)
    cells: list[tuple[str, Instance]] = []
    if op.simd > 1:  # SIMD kernel positions of a channel group per word
        word = op.pe * op.idt.bits
        cells.append(("kpos", ops.dwc(word, op.simd * word)))
    cells.append(("", unit.inst))
    ctx.chain(node, cells, ins[0], outs[0])


def rtl_swg(ctx: RtlContext, node: Node, ins: list[str], outs: list[str]) -> None:
    op: hw.SlidingWindow = node.op  # type: ignore[assignment]
    graph = ctx.design.graph
    user = policy.reader(graph, node.outputs[0].name)
    depthwise = user is not None and isinstance(user.op, hw.VVAU)
    unit = ops.sliding_window(
        op,
        graph.tensor(node.inputs[0]).shape,
        depthwise=depthwise,
        mem="distributed" if _style(ctx, node) == "lut" else "block",
        mmv=policy.window_mmv(graph, node),
        simd=policy.window_simd(graph, node),
    )
    ctx.cell(node, "", unit.inst, {"in0": ins[0], "out0": outs[0]})


def rtl_generic(ctx: RtlContext, node: Node, ins: list[str], outs: list[str]) -> None:
    """Ops whose library unit has the design's ports as they are."""
    graph = ctx.design.graph
    shapes = [graph.tensor(t).shape for t in node.inputs]
    choices = {"pe": 1} if isinstance(node.op, hw.LabelSelect) else {}
    unit = ops.unit(node.op, node.weights, shapes, **choices)
    nets = {f"in{k}": net for k, net in enumerate(ins)}
    nets.update({f"out{k}": net for k, net in enumerate(outs)})
    ctx.cell(node, "", unit.inst, nets)


HANDLERS: dict[type, Handler] = {
    hw.MVAU: rtl_mvau,
    hw.VVAU: rtl_vvau,
    hw.SlidingWindow: rtl_swg,
    **{
        op: rtl_generic
        for op in (
            hw.StreamingMaxPool,
            hw.SumPool,
            hw.Thresholding,
            hw.AddStreams,
            hw.DuplicateStreams,
            hw.LabelSelect,
            hw.ConcatStreams,
            hw.Upsample,
            hw.ChannelMul,
            hw.ScaleStream,
        )
    },
}
