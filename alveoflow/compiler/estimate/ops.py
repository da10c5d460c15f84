"""Per-op resource models (LUT, FF, BRAM18, URAM, DSP) as functions of folding and memory style.

All constants are in this file, each with its reason; ``reference.py`` checks the whole model
against the published utilisation of the reference design (see ``docs/estimates.md``). The
same functions price the reference folding and ours: any difference between the two comes
from structure (folding, memory style, packing, FIFOs, width converters), not from constants.

MAC lanes. A lane multiplies one weight by one activation and feeds an adder tree. Built from
LUTs (FINN-R cost model, Umuroglu/Blott et al.): with ``p = wbits + abits`` product bits, the
product costs ``(2*ceil(p/6) - 1) * p`` LUTs (a bipolar weight is a conditional negation: ``p``)
and the adder tree about ``2 * p`` per lane; ``SYNTH`` covers what synthesis adds. Wide
operands (>= 8-bit weights times >= 8-bit activations, the stem and the FC) use DSP48E2
slices, two lanes per DSP when two unsigned <= 8-bit pixels share one multiplier
(``DSP_PACK``, the reference stem's trick: MMV pixels against one weight), with a fabric
adder tree of ``DSP_LANE_LUT`` LUTs per lane.

Masked-sum lanes (``mac="masked_sum"``, a structural choice for bipolar weights times unsigned
activations, never used for the reference design): ``sum_c w_c x_c = 2 * sum_{w_c=+1} x_c -
sum_c x_c``. The same FINN-R formulas with the operands this datapath has: the product is an
AND of the weight bit with the ``a``-bit activation (``a`` LUTs, no negation) and the adder
tree adds ``a``-bit unsigned operands (``2 * a`` per lane) instead of signed ``a + 1``-bit
ones. The column sum ``sum_c x_c`` does not depend on the weights: one adder tree of ``simd``
``a``-bit operands per MMV copy (``2 * a`` per operand) serves all PE rows, and each PE and
MMV copy adds one ``2 * m - s`` adder of the word sum's width. ``alveo_mvau.hpp``
(``mul_style::masked_sum``) implements exactly this datapath.

Per PE (and per MMV copy): an accumulator of ``acc_bits`` and one comparator per threshold
(``CMP_LUT_PER_BIT`` LUT per bit: two bit pairs per LUT6_2 on the carry chain). Threshold
values are constants: one row per PE in registers, more rows in a LUT ROM.

Weights: per PE a memory of ``(mh/pe)*(mw/simd)`` words of ``simd*wbits`` bits (MMV copies
share it), in the node's memory style (``resources.memory_cost``).
"""

from __future__ import annotations

import math

import numpy as np

from alveoflow.compiler.estimate.cycles import pixels
from alveoflow.compiler.estimate.resources import (
    LUTRAM_FACTOR,
    Cost,
    bram18_blocks,
    buffer_cost,
    lut_rom,
    memory_cost,
)
from alveoflow.compiler.ir import Node, QType, hw
from alveoflow.compiler.physical.policy import (
    LUT_MAC_STYLES,
    acc_bits,
    masked_sum_applies,
    packs_two,
    uses_dsp,
    value_bits,
)

# LUTs after synthesis per LUT function the model counts: the one constant fitted to the
# reference's published LUT total (FINN-R's own value is 1.1; see docs/estimates.md).
SYNTH = 0.927
CMP_LUT_PER_BIT = 0.5
DSP_LANE_LUT = 16  # fabric adder of a 16-bit product per DSP lane
DSP_PACK = 2
CTRL_LUT, CTRL_FF = 120, 160  # handshake, counters and loop control of one HLS module
FF_PER_LANE_BIT = 2  # pipeline registers of the product and the adder tree per product bit


# The operand classes, lane styles and accumulator width are ``physical.policy``'s rules.
wbits = value_bits
MAC_STYLES = LUT_MAC_STYLES


def dsp_pack(op: hw.MVAU | hw.VVAU, mmv: int) -> int:
    """Lanes per DSP (``policy.packs_two``)."""
    return DSP_PACK if packs_two(op.wdt, op.idt, mmv) else 1


def lane_cost(wdt: QType, idt: QType) -> Cost:
    """One LUT-based MAC lane: product plus its share of the adder tree."""
    p = wbits(wdt) + idt.storage_bits()
    mul = p if wdt.bipolar or wbits(wdt) == 1 else (2 * math.ceil(p / 6) - 1) * p
    return Cost(lut=SYNTH * (mul + 2 * p), ff=FF_PER_LANE_BIT * p)


def masked_lane_cost(idt: QType) -> Cost:
    """One masked-sum lane: AND of the weight bit with ``a`` activation bits, plus its share
    of an adder tree of ``a``-bit unsigned operands (FINN-R's ``2 * p`` with ``p = a``)."""
    a = idt.storage_bits()
    return Cost(lut=SYNTH * (a + 2 * a), ff=FF_PER_LANE_BIT * a)


def masked_shared_cost(idt: QType, pe: int, simd: int, mmv: int) -> Cost:
    """What masked-sum lanes add per MVAU: per MMV copy one column-sum adder tree of ``simd``
    ``a``-bit operands (no product), and per PE and MMV copy one ``2*m - s`` adder as wide as
    a word's sum (``bit_length(simd * amax) + 2`` bits)."""
    a = idt.storage_bits()
    tree = Cost(lut=SYNTH * 2 * a * simd, ff=FF_PER_LANE_BIT * a * simd) * mmv
    word = int(simd * max(abs(idt.min), abs(idt.max))).bit_length() + 2
    return tree + Cost(lut=SYNTH * word, ff=word) * (pe * mmv)


def threshold_cost(units: int, pe: int, rows: int, nth: int, bits: int) -> Cost:
    """Comparators for ``units`` outputs per cycle plus threshold storage for ``pe`` lanes
    of ``rows`` rows each (``nth`` thresholds of ``bits`` bits per row)."""
    if nth == 0:
        return Cost()
    cmp = Cost(
        lut=SYNTH * units * nth * bits * CMP_LUT_PER_BIT, ff=units * math.ceil(nth).bit_length()
    )
    if rows <= 1:
        return cmp + Cost(ff=pe * nth * bits)
    return cmp + Cost(lut=SYNTH * pe * lut_rom(rows, nth * bits))


def weight_memory(op: hw.MVAU | hw.VVAU) -> tuple[int, int, int]:
    """(depth, width bits, count) of the weight memories of an MVAU/VVAU."""
    if isinstance(op, hw.MVAU):
        depth = (op.mh // op.pe) * (op.mw // op.simd)
    else:
        depth = (op.channels // op.pe) * (op.kernel_elems // op.simd)
    return depth, op.simd * wbits(op.wdt), op.pe


def mac_unit_cost(node: Node, style: str, pack: int, mac: str = "lut") -> Cost:
    """MVAU or VVAU: lanes, accumulators, thresholds, weight memory, control; ``mac`` is the
    lane arithmetic (``MAC_STYLES``; the DSP styles follow from the operand widths)."""
    op = node.op
    assert isinstance(op, hw.MVAU | hw.VVAU)
    thr = node.weights.get("thresholds")
    nth = 0 if thr is None else int(thr.shape[1])
    mmv = getattr(op, "mmv", 1)
    if getattr(op, "external_weights", False):
        style = "external"
    return mac_core_cost(op, nth, op.pe, op.simd, mmv, mac) + weight_cost(
        op, op.pe, op.simd, style, pack
    )


def mac_core_cost(
    op: hw.MVAU | hw.VVAU, nth: int, pe: int, simd: int, mmv: int, mac: str = "lut"
) -> Cost:
    """Everything of a MAC unit but its weight memory, at folding (pe, simd, mmv), with
    LUT lanes in ``mac`` style (``"lut"`` or, where it applies, ``"masked_sum"``)."""
    lanes = pe * simd * mmv
    mw = op.mw if isinstance(op, hw.MVAU) else op.kernel_elems
    rows = (op.mh if isinstance(op, hw.MVAU) else op.channels) // pe
    acc = acc_bits(mw, op.wdt, op.idt)
    if mac not in MAC_STYLES or (mac == "masked_sum" and not masked_sum_applies(op)):
        raise ValueError(f"mac style {mac!r} does not apply to {op.kind} {op.wdt}x{op.idt}")
    if uses_dsp(op.wdt, op.idt):
        pack_dsp = dsp_pack(op, mmv)
        core = Cost(lut=SYNTH * lanes * DSP_LANE_LUT, ff=lanes * 2 * acc, dsp=lanes / pack_dsp)
    elif mac == "masked_sum":
        core = masked_lane_cost(op.idt) * lanes + masked_shared_cost(op.idt, pe, simd, mmv)
    else:
        core = lane_cost(op.wdt, op.idt) * lanes
    units = pe * mmv
    accum = Cost(lut=SYNTH * units * acc, ff=units * acc)
    ctrl = Cost(lut=CTRL_LUT, ff=CTRL_FF + op.odt.storage_bits() * units)
    return (
        core
        + accum
        + threshold_cost(units, pe, rows, nth, acc)
        + ctrl
        + input_buffer(mw, simd, mmv, op.idt.storage_bits())
    )


def input_buffer(mw: int, simd: int, mmv: int, bits: int) -> Cost:
    """The input vector held while every output row sweeps past it (``mw / simd`` words of
    ``simd * mmv`` elements; doubled with MMV, whose pixels are gathered while others work)."""
    width = simd * mmv * bits
    depth = (mw // simd) * (2 if mmv > 1 else 1)
    if depth <= 2:
        return Cost(ff=width * depth)
    return Cost(lut=LUTRAM_FACTOR * width * math.ceil(depth / 64), ff=width)


def weight_cost(op: hw.MVAU | hw.VVAU, pe: int, simd: int, style: str, pack: int) -> Cost:
    """The weight memories of a MAC unit at folding (pe, simd) in ``style``."""
    if isinstance(op, hw.MVAU):
        depth = (op.mh // pe) * (op.mw // simd)
    else:
        depth = (op.channels // pe) * (op.kernel_elems // simd)
    return memory_cost(style, depth, simd * wbits(op.wdt), pe, pack)


def window_cost(node: Node, in_shape: tuple[int, ...], mmv: int, style: str = "bram") -> Cost:
    """SlidingWindow: (kh/sh + 1) row buffers of ``sh * W * C`` elements (FINN's generator)
    in BRAM (``style="bram"``) or LUTRAM (``"lut"``), and an output multiplexer per output
    bit. A 1x1 window only drops pixels."""
    op = node.op
    assert isinstance(op, hw.SlidingWindow)
    bits = op.dt.storage_bits()
    width = op.simd * bits
    out_bits = width * mmv
    ctrl = Cost(lut=CTRL_LUT + 2 * out_bits, ff=CTRL_FF + 2 * out_bits)
    if op.kernel == (1, 1):
        return ctrl
    w_in = in_shape[2] + op.pads[1] + op.pads[3]
    blocks = op.kernel[0] // op.stride[0] + 1
    depth = op.stride[0] * w_in * op.channels // op.simd
    if style == "lut":
        buf = Cost(lut=LUTRAM_FACTOR * width * math.ceil(depth / 64), ff=width)
    else:
        buf = Cost(bram18=bram18_blocks(depth, width), ff=width)
    return ctrl + buf * blocks


def elementwise_cost(node: Node, in_shape: tuple[int, ...]) -> Cost:
    """Thresholding, AddStreams, DuplicateStreams, pools and LabelSelect."""
    op = node.op
    ctrl = Cost(lut=CTRL_LUT, ff=CTRL_FF)
    if isinstance(op, hw.Thresholding):
        thr = node.weights["thresholds"]
        bits = op.idt.storage_bits()
        return ctrl + threshold_cost(op.pe, op.pe, op.channels // op.pe, int(thr.shape[1]), bits)
    if isinstance(op, hw.AddStreams):
        bits = max(op.idt_a.storage_bits(), op.idt_b.storage_bits()) + 1
        return ctrl + Cost(lut=SYNTH * op.pe * bits * 2, ff=op.pe * bits * 3)
    if isinstance(op, hw.DuplicateStreams):
        bits = op.pe * op.dt.storage_bits()
        return ctrl + Cost(lut=bits * 0.25 * op.copies, ff=bits * op.copies)
    if isinstance(op, hw.StreamingMaxPool):
        bits = op.dt.storage_bits()
        w_out = node.outputs[0].shape[2]
        buf = buffer_cost(w_out * op.channels // op.pe, op.pe * bits)
        return ctrl + buf + Cost(lut=SYNTH * op.pe * bits * 2, ff=op.pe * bits * 2)
    if isinstance(op, hw.SumPool):
        acc = op.odt.storage_bits()
        w_out = node.outputs[0].shape[2]
        buf = buffer_cost(w_out * op.channels // op.pe, op.pe * acc)
        return ctrl + buf + Cost(lut=SYNTH * op.pe * acc, ff=op.pe * acc * 2)
    if isinstance(op, hw.LabelSelect):
        bits = op.idt.storage_bits() + 32
        return ctrl + Cost(lut=SYNTH * op.k * bits * 2, ff=op.k * bits)
    return ctrl + merge_cost(node)


def merge_cost(node: Node) -> Cost:
    """The merge ops of ``alveo_merge.hpp``, beyond their control: a concat selects between
    its inputs per output bit; an upsample keeps one input row (``W * CH / PE`` words); a gate
    multiply has ``pe`` products (DSP when both operands are 8 bits or more) and holds one
    image's gate; a gain has ``pe`` products by ROM constants."""
    op = node.op
    if isinstance(op, hw.ConcatStreams):
        bits = op.pe * op.odt.storage_bits()
        return Cost(lut=SYNTH * bits, ff=bits)
    if isinstance(op, hw.Upsample):
        bits = op.pe * op.dt.storage_bits()
        w = node.outputs[0].shape[2] // op.factor[1]
        return buffer_cost(w * op.channels // op.pe, bits) + Cost(ff=bits)
    if isinstance(op, hw.ChannelMul):
        products = _product_cost(op.idt, op.gdt) * op.pe
        gate = buffer_cost(op.channels // op.pe, op.pe * op.gdt.storage_bits())
        return products + gate + Cost(ff=op.pe * op.odt.storage_bits())
    if isinstance(op, hw.ScaleStream):
        factors = node.weights["factors"]
        fbits = max(1, int(np.max(factors)).bit_length())
        rom = Cost(lut=SYNTH * lut_rom(op.channels // op.pe, op.pe * fbits))
        products = _product_cost(op.idt, QType.uint(fbits)) * op.pe
        return products + rom + Cost(ff=op.pe * op.odt.storage_bits())
    raise NotImplementedError(f"no resource model for {op.kind}")


def _product_cost(a: QType, b: QType) -> Cost:
    """One multiplier of ``a`` x ``b`` values: a DSP from 8 x 8 bits on, else LUTs."""
    if uses_dsp(a, b):
        return Cost(lut=SYNTH * DSP_LANE_LUT, ff=2 * (a.storage_bits() + b.storage_bits()), dsp=1)
    return lane_cost(a, b)


def node_cost(
    node: Node, in_shape: tuple[int, ...], style: str, pack: int, mmv: int, mac: str = "lut"
) -> Cost:
    """Resources of one node; host ops and Flatten cost nothing on the card."""
    op = node.op
    if op.on_host or isinstance(op, hw.Flatten):
        return Cost()
    if isinstance(op, hw.MVAU | hw.VVAU):
        return mac_unit_cost(node, style, pack, mac)
    if isinstance(op, hw.SlidingWindow):
        return window_cost(node, in_shape, mmv, "lut" if style == "lut" else "bram")
    return elementwise_cost(node, in_shape)


def fifo_cost(depth: int, width: int) -> Cost:
    """A stream FIFO: registers when <= 2 deep, SRL/LUTRAM up to 64, else BRAM."""
    if depth <= 0:
        return Cost()
    if depth <= 2:
        return Cost(lut=20, ff=depth * width + 10)
    if depth <= 64:
        return Cost(lut=30 + width * math.ceil(depth / 32), ff=width + 20)
    return Cost(lut=60, ff=width + 40) + buffer_cost(depth, width)


def fifo_cost_uram(depth: int, width: int) -> Cost:
    """A deep FIFO built in URAM (the reference's inter-IP ``axis_data_fifo``)."""
    return Cost(lut=60, ff=width + 40) + memory_cost("uram", depth, width)


def dwc_cost(in_bits: int, out_bits: int) -> Cost:
    """A data-width converter: a register of the wider side plus a multiplexer."""
    if in_bits == out_bits:
        return Cost()
    wide = max(in_bits, out_bits)
    return Cost(lut=SYNTH * (wide + 30), ff=in_bits + out_bits + 20)


def dma_cost(ports: int) -> Cost:
    """AXI4 memory-mapped masters (512-bit, burst buffers) plus one AXI-Lite control port."""
    return Cost(lut=3000 * ports + 800, ff=5000 * ports + 1000, bram18=8 * ports)


__all__ = [
    "MAC_STYLES",
    "acc_bits",
    "dma_cost",
    "dwc_cost",
    "fifo_cost",
    "fifo_cost_uram",
    "masked_sum_applies",
    "node_cost",
    "pixels",
    "uses_dsp",
    "weight_memory",
]
