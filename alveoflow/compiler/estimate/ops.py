"""Per-op resource models (LUT, FF, BRAM18, URAM, DSP) as functions of folding and memory style.

The costs of the primitives that dominate a design come from Yosys (``calibration``: the
RTL library's sweeps in ``alveoflow/hw/rtl/calibration.json``); everything else is counted
here from first principles, each constant with its reason. The same functions price the
reference folding and ours, the folding search's candidates and the report: any difference
between two designs comes from structure (folding, memory style, packing, FIFOs, width
converters), not from constants. LUT figures are LUT functions as Yosys counts them
(``hw.rtl.yosys``); Vivado's will differ by an amount nobody has measured here.

MAC lanes (``dot_cost``: one PE row's dot product of ``simd`` lanes for one pixel, measured):
bipolar x bipolar is XNOR-popcount (``xnor_lane``); a bipolar weight times an ``a``-bit input
is a conditional negation (``negate_lane``, the reference design's binary lane); wider
weights are partial products in fabric (``int_lane``); operands of 8 bits or more use a
DSP48E2 per lane plus a fabric adder tree (``dsp_lane``), two lanes per DSP when two unsigned
<= 8-bit pixels share one multiplier (``DSP_PACK``, the reference stem's trick; the RTL
library does not pack, so Yosys counts one DSP per lane there).

Masked-sum lanes (``mac="masked_sum"``, a structural choice for bipolar weights times unsigned
activations, never used for the reference design): ``sum_c w_c x_c = 2 * sum_{w_c=+1} x_c -
sum_c x_c``. Each PE row ANDs its weight bits with the inputs, adds them and forms ``2m - s``
(``masked_sum_lane``, measured with that adder); the column sum ``sum_c x_c`` does not depend
on the weights, so one tree per MMV copy (``column_sum``) serves all PE rows.
``alveo_mvau.hpp`` (``mul_style::masked_sum``) and ``af_mvau`` implement exactly this.

Per PE (and per MMV copy): an accumulator of ``acc_bits`` (one LUT and one FF per bit on the
carry chain) and one comparator per threshold (``threshold_comparator``, measured). Threshold
values are constants: one row per PE in registers, more rows in a LUT ROM.

Weights: per PE a memory of ``(mh/pe)*(mw/simd)`` words of ``simd*wbits`` bits (MMV copies
share it), in the node's memory style (``resources.memory_cost``). Line buffers and FIFOs:
logic from the ``swg_buffer_*`` and ``fifo_*`` fits, blocks from ``resources``' mapping.
"""

from __future__ import annotations

import math

import numpy as np

from alveoflow.compiler.estimate.calibration import calibration
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
    fifo_memory,
    masked_sum_applies,
    packs_two,
    uses_dsp,
    value_bits,
)

DSP_PACK = 2
CTRL_LUT, CTRL_FF = 120, 160  # handshake, counters and loop control of one HLS module
LANE_SIMD = 32  # the SIMD at which ``lane_cost`` quotes an average lane
# FF are not taken from Yosys for lanes: the RTL's trees are combinational (0 FF at every
# sweep point), while HLS pipelines products and trees (the reference's 904k FF). Priced as
# HLS builds them, so an RTL build's FF come out lower than estimated.
FF_PER_LANE_BIT = 2  # pipeline registers of the product and the adder tree per product bit


# The operand classes, lane styles and accumulator width are ``physical.policy``'s rules.
wbits = value_bits
MAC_STYLES = LUT_MAC_STYLES


def dsp_pack(op: hw.MVAU | hw.VVAU, mmv: int) -> int:
    """Lanes per DSP (``policy.packs_two``)."""
    return DSP_PACK if packs_two(op.wdt, op.idt, mmv) else 1


def lane_primitive(wdt: QType, idt: QType) -> tuple[str, dict[str, int]]:
    """The calibrated lane primitive of ``wdt`` x ``idt`` operands and its parameters."""
    if uses_dsp(wdt, idt):
        return "dsp_lane", {}
    if wdt.bipolar and idt.bipolar:
        return "xnor_lane", {}
    if wdt.bipolar or wbits(wdt) == 1:
        return "negate_lane", {"a": idt.storage_bits()}
    return "int_lane", {"w": wbits(wdt), "a": idt.storage_bits()}


def _dot(name: str, simd: int, params: dict[str, int], ff_per_lane: float) -> Cost:
    cal = calibration()
    return Cost(
        lut=cal.dot(name, simd, "lut", **params),
        ff=ff_per_lane * simd,
        dsp=cal.dot(name, simd, "dsp", **params),
    )


def dot_cost(wdt: QType, idt: QType, simd: int) -> Cost:
    """One PE row's dot product of ``simd`` lanes for one pixel (products and adder tree;
    DSP lanes one DSP per lane, before packing)."""
    name, params = lane_primitive(wdt, idt)
    return _dot(name, simd, params, FF_PER_LANE_BIT * (wbits(wdt) + idt.storage_bits()))


def lane_cost(wdt: QType, idt: QType, simd: int = LANE_SIMD) -> Cost:
    """One MAC lane: a ``simd``-lane dot product's cost per lane."""
    return dot_cost(wdt, idt, simd) * (1.0 / simd)


def masked_dot_cost(idt: QType, simd: int) -> Cost:
    """One PE row of masked-sum lanes: AND of each weight bit with the ``a``-bit input, an
    adder tree of ``a``-bit unsigned operands and the ``2m - s`` adder."""
    a = idt.storage_bits()
    return _dot("masked_sum_lane", simd, {"a": a}, FF_PER_LANE_BIT * a)


def masked_lane_cost(idt: QType, simd: int = LANE_SIMD) -> Cost:
    """One masked-sum lane: a masked-sum row's cost per lane."""
    return masked_dot_cost(idt, simd) * (1.0 / simd)


def masked_shared_cost(idt: QType, pe: int, simd: int, mmv: int) -> Cost:
    """What masked-sum lanes share per MVAU: per MMV copy one column-sum adder tree of
    ``simd`` ``a``-bit operands, serving all ``pe`` rows."""
    a = idt.storage_bits()
    return _dot("column_sum", simd, {"a": a}, FF_PER_LANE_BIT * a) * mmv


def threshold_cost(units: int, pe: int, rows: int, nth: int, bits: int) -> Cost:
    """Comparators for ``units`` outputs per cycle plus threshold storage for ``pe`` lanes
    of ``rows`` rows each (``nth`` thresholds of ``bits`` bits per row)."""
    if nth == 0:
        return Cost()
    lut = calibration().fitted("threshold_comparator", "lut", {"nt*bits": nth * bits, "nt": nth})
    cmp = Cost(lut=units * lut, ff=units * math.ceil(nth).bit_length())
    if rows <= 1:
        return cmp + Cost(ff=pe * nth * bits)
    return cmp + Cost(lut=pe * lut_rom(rows, nth * bits))


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
    units = pe * mmv
    if uses_dsp(op.wdt, op.idt):
        dot = dot_cost(op.wdt, op.idt, simd)
        core = Cost(lut=dot.lut * units, ff=lanes * 2 * acc, dsp=lanes / dsp_pack(op, mmv))
    elif mac == "masked_sum":
        core = masked_dot_cost(op.idt, simd) * units + masked_shared_cost(op.idt, pe, simd, mmv)
    else:
        core = dot_cost(op.wdt, op.idt, simd) * units
    accum = Cost(lut=units * acc, ff=units * acc)
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
    """SlidingWindow as ``af_swg`` builds it: a line buffer of ``kh + sh`` input rows
    (``window_buffer``) in BRAM (``style="bram"``) or LUTRAM (``"lut"``); its logic (address
    arithmetic, padding, output registers) from the ``swg_buffer_*`` fits, plus the fitted
    cost per output bit for every MMV pixel beyond the first."""
    op = node.op
    assert isinstance(op, hw.SlidingWindow)
    width = op.simd * op.dt.storage_bits()
    banks, depth = window_buffer(op, in_shape, mmv)
    name = "swg_buffer_lutram" if style == "lut" else "swg_buffer_block"
    features = {
        "buffer_kbit": banks * depth * width / 1024,
        "word_bits": width,
        "log2_depth": math.log2(max(depth, 1)),
    }
    cal = calibration()
    per_bit = cal.primitive(name)["fit"]["lut"]["coef"]["word_bits"]
    logic = Cost(
        lut=cal.fitted(name, "lut", features) + per_bit * width * (mmv - 1),
        ff=cal.fitted(name, "ff", features) + width * (mmv - 1),
    )
    if style == "lut":
        return logic
    return logic + Cost(bram18=banks * bram18_blocks(depth, width))


def window_buffer(op: hw.SlidingWindow, in_shape: tuple[int, ...], mmv: int) -> tuple[int, int]:
    """(banks, words per bank) of ``af_swg``'s line buffer: ``kh + sh`` rows of ``W * C /
    simd`` words, split over ``mmv * sw`` banks when a word carries ``mmv`` pixels."""
    rows = op.kernel[0] + op.stride[0]
    cf = op.channels // op.simd
    banks = mmv * op.stride[1] if mmv > 1 else 1
    return banks, rows * math.ceil(in_shape[2] / banks) * cf


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
        return ctrl + Cost(lut=op.pe * bits * 2, ff=op.pe * bits * 3)
    if isinstance(op, hw.DuplicateStreams):
        bits = op.pe * op.dt.storage_bits()
        return ctrl + Cost(lut=bits * 0.25 * op.copies, ff=bits * op.copies)
    if isinstance(op, hw.StreamingMaxPool):
        bits = op.dt.storage_bits()
        w_out = node.outputs[0].shape[2]
        buf = buffer_cost(w_out * op.channels // op.pe, op.pe * bits)
        return ctrl + buf + Cost(lut=op.pe * bits * 2, ff=op.pe * bits * 2)
    if isinstance(op, hw.SumPool):
        acc = op.odt.storage_bits()
        w_out = node.outputs[0].shape[2]
        buf = buffer_cost(w_out * op.channels // op.pe, op.pe * acc)
        return ctrl + buf + Cost(lut=op.pe * acc, ff=op.pe * acc * 2)
    if isinstance(op, hw.LabelSelect):
        bits = op.idt.storage_bits() + 32
        return ctrl + Cost(lut=op.k * bits * 2, ff=op.k * bits)
    return ctrl + merge_cost(node)


def merge_cost(node: Node) -> Cost:
    """The merge ops of ``alveo_merge.hpp``, beyond their control: a concat selects between
    its inputs per output bit; an upsample keeps one input row (``W * CH / PE`` words); a gate
    multiply has ``pe`` products (DSP when both operands are 8 bits or more) and holds one
    image's gate; a gain has ``pe`` products by ROM constants."""
    op = node.op
    if isinstance(op, hw.ConcatStreams):
        bits = op.pe * op.odt.storage_bits()
        return Cost(lut=bits, ff=bits)
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
        rom = Cost(lut=lut_rom(op.channels // op.pe, op.pe * fbits))
        products = _product_cost(op.idt, QType.uint(fbits)) * op.pe
        return products + rom + Cost(ff=op.pe * op.odt.storage_bits())
    raise NotImplementedError(f"no resource model for {op.kind}")


def _product_cost(a: QType, b: QType) -> Cost:
    """One multiplier of ``a`` x ``b`` values: a DSP from 8 x 8 bits on, else LUTs."""
    if uses_dsp(a, b):
        dot = dot_cost(a, b, 1)
        return Cost(lut=dot.lut, ff=2 * (a.storage_bits() + b.storage_bits()), dsp=1)
    return dot_cost(a, b, 1)


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
    """A stream FIFO as ``af_fifo`` builds it in the memory ``policy.fifo_memory`` picks:
    SRL chains (the ``fifo_srl`` fit; registers for <= 2 words are priced the same), or a
    BRAM/URAM ring whose logic is the ``fifo_bram`` fit."""
    if depth <= 0 or width <= 0:
        return Cost()
    cal = calibration()
    memory = fifo_memory(depth, width)
    if memory in ("registers", "lutram"):
        srl = {"w*srl32": float(width * math.ceil((depth - 1) / 32)), "w": float(width)}
        return Cost(lut=cal.fitted("fifo_srl", "lut", srl), ff=cal.fitted("fifo_srl", "ff", srl))
    ring = {"w": float(width), "log2_depth": math.log2(depth)}
    logic = Cost(lut=cal.fitted("fifo_bram", "lut", ring), ff=cal.fitted("fifo_bram", "ff", ring))
    return logic + memory_cost("uram" if memory == "uram" else "bram", depth, width)


def fifo_cost_uram(depth: int, width: int) -> Cost:
    """A deep FIFO built in URAM (the reference's inter-IP ``axis_data_fifo``)."""
    return Cost(lut=60, ff=width + 40) + memory_cost("uram", depth, width)


def dwc_cost(in_bits: int, out_bits: int) -> Cost:
    """A data-width converter: a register of the wider side plus a multiplexer."""
    if in_bits == out_bits:
        return Cost()
    wide = max(in_bits, out_bits)
    return Cost(lut=wide + 30, ff=in_bits + out_bits + 20)


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
