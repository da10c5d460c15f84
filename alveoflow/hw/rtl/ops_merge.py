"""The merge ops as RTL instances: ``concat``, ``upsample``, ``channel_mul``,
``scale_stream`` (see ``ops``), and the stream glue the code generator puts around units:
``lane_convert``, ``mmv_pack``, ``mmv_unpack``, ``dwc_sliced``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.ir import QType, hw
from alveoflow.errors import ConfigError, UnsupportedOpError
from alveoflow.hw.rtl import memh
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.instance import Instance, ParamValue, Stream
from alveoflow.hw.rtl.ops_common import PARAM_FILE, PMEMS, RtlUnit, check_choice, lanes_unit
from alveoflow.hw.rtl.ops_common import stream_in as _port


def concat(op: hw.ConcatStreams) -> RtlUnit:
    (ca, cb), (ta, tb) = op.channels, op.idts
    if op.odt.bipolar:
        raise UnsupportedOpError("ConcatStreams into a bipolar stream")
    params: dict[str, ParamValue] = {
        "CA": ca,
        "CB": cb,
        "PE": op.pe,
        "IB0": ta.bits,
        "IKIND0": W.kind(ta),
        "IB1": tb.bits,
        "IKIND1": W.kind(tb),
        "OB": op.odt.bits,
    }
    ins = [_port("in0", op.pe, ta.bits), _port("in1", op.pe, tb.bits)]
    outs = [_port("out0", op.pe, op.odt.bits)]
    inst = Instance.create("af_concat", params, ins, outs, label="concat")
    return lanes_unit(inst, [ta, tb], [op.odt], op.pe)


def upsample(op: hw.Upsample, in_shape: tuple[int, ...]) -> RtlUnit:
    _, h, w, ch = in_shape
    params: dict[str, ParamValue] = {
        "H": h,
        "W": w,
        "CH": ch,
        "PE": op.pe,
        "FY": op.factor[0],
        "FX": op.factor[1],
        "B": op.dt.bits,
    }
    ins, outs = [_port("in0", op.pe, op.dt.bits)], [_port("out0", op.pe, op.dt.bits)]
    inst = Instance.create("af_upsample", params, ins, outs, label="upsample")
    return lanes_unit(inst, [op.dt], [op.dt], op.pe)


def channel_mul(op: hw.ChannelMul, in_shape: tuple[int, ...]) -> RtlUnit:
    pixels = int(np.prod(in_shape[1:-1]))
    if op.odt.bipolar:
        raise UnsupportedOpError("ChannelMul into a bipolar stream")
    params: dict[str, ParamValue] = {
        "CH": op.channels,
        "PE": op.pe,
        "PIXELS": pixels,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
        "GB": op.gdt.bits,
        "GKIND": W.kind(op.gdt),
        "OB": op.odt.bits,
    }
    ins = [_port("in0", op.pe, op.idt.bits), _port("in1", op.pe, op.gdt.bits)]
    outs = [_port("out0", op.pe, op.odt.bits)]
    inst = Instance.create("af_channel_mul", params, ins, outs, label="channel_mul")
    return lanes_unit(inst, [op.idt, op.gdt], [op.odt], op.pe)


def scale_stream(
    op: hw.ScaleStream, weights: Mapping[str, np.ndarray], *, pmem: str = "distributed"
) -> RtlUnit:
    check_choice("pmem", pmem, PMEMS)
    factors = np.asarray(weights["factors"]).astype(np.int64)
    fb = max(1, int(factors.max()).bit_length())
    rows = pack.interleave_rows(factors, op.pe).T  # (CF, PE): channel cf*PE + p
    text = memh.text(W.pack(rows.astype(np.uint64), fb), rows.shape[1] * fb)
    params: dict[str, ParamValue] = {
        "CH": op.channels,
        "PE": op.pe,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
        "FB": fb,
        "OB": op.odt.bits,
        "PMEM": pmem,
        "PFILE": PARAM_FILE,
    }
    ins, outs = [_port("in0", op.pe, op.idt.bits)], [_port("out0", op.pe, op.odt.bits)]
    inst = Instance.create(
        "af_scale_stream", params, ins, outs, {PARAM_FILE: text}, label="scale_stream"
    )
    return lanes_unit(inst, [op.idt], [op.odt], op.pe)


# -- glue around units ----------------------------------------------------------------------


def lane_convert(lanes: int, src: QType, dst: QType) -> Instance:
    """``lanes`` elements of ``src`` re-encoded as ``dst`` (values kept)."""
    params: dict[str, ParamValue] = {
        "LANES": lanes,
        "IB": src.bits,
        "IKIND": W.kind(src),
        "OB": dst.bits,
        "OKIND": W.kind(dst),
    }
    ins, outs = [_port("in0", lanes, src.bits)], [_port("out0", lanes, dst.bits)]
    return Instance.create("af_lane_convert", params, ins, outs, label=f"lane_convert {src}->{dst}")


def mmv_pack(width: int, sf: int, mmv: int) -> Instance:
    """MMV per-pixel vectors of ``sf`` ``width``-bit words -> ``sf`` words, pixels side by side."""
    _need_mmv(mmv)
    params: dict[str, ParamValue] = {"W": width, "SF": sf, "MMV": mmv}
    ins, outs = [Stream("in0", width, "in0")], [Stream("out0", mmv * width, "out0")]
    return Instance.create("af_mmv_pack", params, ins, outs, label="mmv_pack")


def mmv_unpack(width: int, nf: int, mmv: int) -> Instance:
    """``nf`` words of MMV pixels side by side -> MMV per-pixel vectors of ``nf`` words."""
    _need_mmv(mmv)
    params: dict[str, ParamValue] = {"W": width, "NF": nf, "MMV": mmv}
    ins, outs = [Stream("in0", mmv * width, "in0")], [Stream("out0", width, "out0")]
    return Instance.create("af_mmv_unpack", params, ins, outs, label="mmv_unpack")


def dwc_sliced(in_w: int, out_w: int, slices: int, frame_bits: int) -> Instance:
    """A width converter per slice of ``slices`` side-by-side streams (frames of
    ``frame_bits`` per slice)."""
    if in_w % slices or out_w % slices:
        raise ConfigError(f"widths {in_w}, {out_w} are not multiples of {slices} slices")
    if frame_bits % (in_w // slices) or frame_bits % (out_w // slices):
        raise ConfigError(f"a {frame_bits}-bit frame is not whole slices of {in_w}/{out_w}")
    params: dict[str, ParamValue] = {
        "IN_W": in_w,
        "OUT_W": out_w,
        "SLICES": slices,
        "FRAME_BITS": frame_bits,
    }
    ins, outs = [Stream("in0", in_w, "in0")], [Stream("out0", out_w, "out0")]
    return Instance.create(
        "af_dwc_sliced", params, ins, outs, label=f"dwc_sliced {in_w}->{out_w} x{slices}"
    )


def _need_mmv(mmv: int) -> None:
    if mmv < 2:
        raise ConfigError(f"MMV packing needs MMV >= 2, not {mmv}")
