"""The hardware rules that more than one part of the compiler needs: decided here, once.

Every rule the physical design, the estimate and the code generators share lives in this
module, so they cannot disagree:

- ``mul_style``: the ``alveo::mul_style`` of a MAC unit (``lut``, ``dsp``, ``dsp_packed2``,
  ``masked_sum``) from its operand types, its MMV and the plan's choice;
- ``acc_bits``: the accumulator width of ``mw`` products;
- ``port_lanes``: elements per stream word on every input and output port of a node (and
  ``window_mmv``/``window_simd``: what a sliding window emits for the unit it feeds);
- ``stream_bits``: the width of a stream as the design carries it (also what crosses SLRs);
- ``unit_of``: a node's floorplanning unit (its residual block, its layer, or ``io``);
- ``node_slr``: the SLR of a node under a plan;
- ``fifo_memory``: what a FIFO of a given depth and width is built from.

Operand classes. A MAC lane uses DSP48E2 slices when both operands are at least 8 bits
(the stem's int8 weights x uint8 pixels, an 8-bit FC), else LUTs. Two unsigned <= 8-bit
pixels share one DSP (``dsp_packed2``, the reference stem's trick) when an even MMV pairs
them against one signed <= 8-bit weight. ``masked_sum`` (bipolar weights x unsigned
activations: ``2 * sum_{w=+1} x - sum x``) is a planner choice where it applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from alveoflow.compiler.ir import Graph, Node, QType, hw

MUL_STYLES = ("lut", "dsp", "dsp_packed2", "masked_sum")  # alveo::mul_style values
LUT_MAC_STYLES = ("lut", "masked_sum")  # what the planner chooses between for LUT lanes
DSP_MIN_BITS = 8
FC_PORT_BITS = 512  # the external-weights read port (one AXI4 word per cycle)
URAM_FIFO_BITS = 4096 * 72  # FIFOs holding at least this many bits go to URAM
BRAM_FIFO_BITS = 18 * 1024  # ... at least this many to BRAM, else LUTRAM/SRL


def value_bits(q: QType) -> int:
    """Bits of one element on a stream or in a memory word (bipolar: 1)."""
    return 1 if q.bipolar else q.storage_bits()


def uses_dsp(wdt: QType, idt: QType) -> bool:
    """MAC lanes with both operands at least ``DSP_MIN_BITS`` wide are DSP lanes."""
    return value_bits(wdt) >= DSP_MIN_BITS and idt.storage_bits() >= DSP_MIN_BITS


def packs_two(wdt: QType, idt: QType, mmv: int) -> bool:
    """Two pixels per DSP: signed <= 8-bit weights, unsigned <= 8-bit pixels, even MMV."""
    return (
        mmv % 2 == 0
        and wdt.signed
        and wdt.bits <= 8
        and not idt.signed
        and not idt.bipolar
        and idt.bits <= 8
    )


def masked_sum_applies(op: hw.Op) -> bool:
    """An MVAU with bipolar weights and unsigned (non-bipolar) LUT-lane activations."""
    return (
        isinstance(op, hw.MVAU)
        and op.wdt.bipolar
        and not op.idt.signed
        and not op.idt.bipolar
        and not uses_dsp(op.wdt, op.idt)
    )


def lut_mac_styles(op: hw.Op) -> tuple[str, ...]:
    """The LUT-lane arithmetic the planner may choose for ``op``."""
    return LUT_MAC_STYLES if masked_sum_applies(op) else LUT_MAC_STYLES[:1]


def mul_style(op: hw.Op, planned: str | None = None) -> str:
    """The ``alveo::mul_style`` of a MAC unit (``"-"`` for other ops). ``planned`` is the
    plan's lane choice (``lut`` or ``masked_sum``); a DSP unit ignores it."""
    if not isinstance(op, hw.MVAU | hw.VVAU):
        return "-"
    if uses_dsp(op.wdt, op.idt):
        mmv = op.mmv if isinstance(op, hw.MVAU) else 1
        return "dsp_packed2" if packs_two(op.wdt, op.idt, mmv) else "dsp"
    if planned == "masked_sum" and masked_sum_applies(op):
        return "masked_sum"
    return "lut"


def acc_bits(mw: int, wdt: QType, idt: QType) -> int:
    """Width of a signed accumulator of ``mw`` products of ``wdt`` x ``idt`` values."""
    wmax = max(abs(wdt.min), abs(wdt.max))
    amax = max(abs(idt.min), abs(idt.max))
    return max(2, int(mw * wmax * amax).bit_length() + 1)


def reader(graph: Graph, tensor: str) -> Node | None:
    """The card node reading ``tensor`` (after duplicate insertion there is at most one);
    a ``Flatten`` is looked through."""
    for node in graph.consumers(tensor):
        if node.op.on_host:
            continue
        if isinstance(node.op, hw.Flatten):
            return reader(graph, node.outputs[0].name)
        return node
    return None


def window_feed(graph: Graph, node: Node) -> Node | None:
    """The SlidingWindow that feeds MAC unit ``node`` directly, if any."""
    prod = graph.producer(node.inputs[0])
    return prod if prod is not None and isinstance(prod.op, hw.SlidingWindow) else None


def window_mmv(graph: Graph, window: Node) -> int:
    """Output pixels per word of a SlidingWindow: its reader's MMV (an MVAU), else 1."""
    user = reader(graph, window.outputs[0].name)
    return int(user.op.mmv) if user is not None and isinstance(user.op, hw.MVAU) else 1


def window_simd(graph: Graph, window: Node) -> int:
    """Channels per word of a SlidingWindow: a depthwise reader's PE, else its own SIMD."""
    assert isinstance(window.op, hw.SlidingWindow)
    user = reader(graph, window.outputs[0].name)
    if user is not None and isinstance(user.op, hw.VVAU):
        return int(user.op.pe)
    return int(window.op.simd)


def fc_lanes(op: hw.MVAU) -> int:
    """Input elements per word of an external-weights layer (one 512-bit weight word holds
    64 int8 weights; the input word matches a divisor of it)."""
    return math.gcd(FC_PORT_BITS // 8, op.mw)


def port_lanes(graph: Graph, node: Node) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Elements per word on each input and output port of ``node``.

    An MVAU with MMV > 1 fed by a SlidingWindow takes ``mmv * simd`` elements per word (the
    window emits MMV pixels side by side); fed by anything else it takes one pixel's ``simd``
    elements per word and gathers MMV pixels itself. Its output is one pixel's ``pe``
    elements per word. A ``Flatten`` passes its input's words through."""
    op = node.op
    n_in, n_out = len(node.inputs), len(node.outputs)
    if isinstance(op, hw.MVAU):
        if op.external_weights:
            return (fc_lanes(op),), (1,)
        fed = window_feed(graph, node) is not None
        return ((op.simd * op.mmv if fed else op.simd),), (op.pe,)
    if isinstance(op, hw.SlidingWindow):
        simd = window_simd(graph, node)
        return (simd,), (simd * window_mmv(graph, node),)
    if isinstance(op, hw.LabelSelect):
        return (1,), (1,)
    if isinstance(op, hw.Flatten):
        prod = graph.producer(node.inputs[0])
        lanes = port_lanes(graph, prod)[1][0] if prod is not None else 1
        return (lanes,), (lanes,)
    pe = int(getattr(op, "pe", 1))
    return (pe,) * n_in, (pe,) * n_out


def stream_bits(graph: Graph, tensor: str, consumer: Node) -> int:
    """Bits per word of ``tensor`` on its way into ``consumer``, as the physical design
    carries it: the producer's output word, or, for the card input, the word the DMA feeds
    the consumer with (``Stream.src_width``)."""
    prod = graph.producer(tensor)
    bits = graph.tensor(tensor).qtype.bits
    if prod is None or prod.op.on_host:
        index = list(consumer.inputs).index(tensor)
        return port_lanes(graph, consumer)[0][index] * bits
    index = [t.name for t in prod.outputs].index(tensor)
    return port_lanes(graph, prod)[1][index] * bits


def unit_of(node: Node) -> str:
    """The floorplanning unit of a node: ``io`` for host ops, its residual block when it has
    one, else its layer (the first component of its module path)."""
    if node.op.on_host:
        return "io"
    if node.block:
        return node.block
    return node.name.split(".")[0]


def node_slr(
    node_slrs: Mapping[str, int], unit_slrs: Mapping[str, int], node: Node, default: int = 0
) -> int:
    """The SLR of ``node``: its own entry, else its unit's, else ``default`` (the plan's
    I/O SLR)."""
    if node.name in node_slrs:
        return int(node_slrs[node.name])
    return int(unit_slrs.get(unit_of(node), default))


def fifo_memory(depth: int, width: int) -> str:
    """``"registers"`` (depth <= 2), ``"lutram"`` (SRL/LUTRAM), ``"bram"`` or ``"uram"``."""
    if depth <= 2:
        return "registers"
    bits = depth * width
    if bits >= URAM_FIFO_BITS:
        return "uram"
    if bits >= BRAM_FIFO_BITS and depth > 64:
        return "bram"
    return "lutram"
