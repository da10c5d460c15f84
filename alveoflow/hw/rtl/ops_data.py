"""Windows, pools, stream plumbing and DMA ends as RTL instances (see ``ops``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from alveoflow.compiler.ir import QType, hw
from alveoflow.errors import ConfigError, UnsupportedOpError
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.instance import Bits, Instance, ParamValue, Stream
from alveoflow.hw.rtl.ops_common import (
    PMEMS,
    Arrays,
    RtlUnit,
    Shapes,
    check_choice,
    lanes_unit,
    stream_in,
    values_of,
    words_of,
)


def _pad_bits(values: Sequence[int], channels: int, dt: QType) -> Bits:
    vals = list(values) if len(values) == channels else list(values) * channels
    codes = W.to_codes(np.array(vals), dt)
    total = 0
    for c, code in enumerate(codes.tolist()):
        total |= int(code) << (c * dt.bits)
    return Bits(channels * dt.bits, total)


def sliding_window(
    op: hw.SlidingWindow,
    in_shape: tuple[int, ...],
    *,
    depthwise: bool = False,
    mem: str = "block",
    buf_rows: int | None = None,
    mmv: int = 1,
    simd: int | None = None,
) -> RtlUnit:
    """``mmv`` > 1: that many output pixels side by side per word (an MVAU's MMV input);
    ``simd``: channels per word when not the op's own (a depthwise reader's PE)."""
    check_choice("mem", mem, PMEMS)
    _, ih, iw, ch = in_shape
    (kh, kw), (sh, sw) = op.kernel, op.stride
    pt, pl, pb, pr = op.pads
    if pt >= kh or pb >= kh or pl >= kw or pr >= kw:
        raise UnsupportedOpError(f"padding {op.pads} must be smaller than the kernel {op.kernel}")
    ow = (iw + pl + pr - kw) // sw + 1
    if mmv > 1 and (depthwise or ow % mmv):
        raise UnsupportedOpError(
            f"MMV={mmv} windows per word need the MVAU order and MMV dividing the output width {ow}"
        )
    simd = simd or op.simd
    cf = ch // simd
    params: dict[str, ParamValue] = {
        "IH": ih,
        "IW": iw,
        "CH": ch,
        "SIMD": simd,
        "KH": kh,
        "KW": kw,
        "SH": sh,
        "SW": sw,
        "PT": pt,
        "PL": pl,
        "PB": pb,
        "PR": pr,
        "B": op.dt.bits,
        "DEPTHWISE": int(depthwise),
        "PAD": _pad_bits(op.pad_values, ch, op.dt),
        "BUF_ROWS": buf_rows or kh + sh,
        "MEM": mem,
        "MMV": mmv,
    }
    s_in, s_out = stream_in("in0", simd, op.dt.bits), stream_in("out0", mmv * simd, op.dt.bits)
    inst = Instance.create("af_swg", params, [s_in], [s_out], label="swg")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        return {"in0": words_of(inputs[0], op.dt, simd)}

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        v = values_of(words["out0"], op.dt, mmv * simd).reshape(-1, kh * kw * cf, mmv, simd)
        v = v.transpose(0, 2, 1, 3).reshape(-1, kh * kw, cf, simd)  # pixel-major
        if depthwise:  # words came in (cf, k) order
            v = v.reshape(-1, cf, kh * kw, simd).transpose(0, 2, 1, 3)
        return [v.reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {"out0": math.prod(shapes[0]) // (simd * mmv)}

    return RtlUnit(inst, to_words, from_words, counts)


def max_pool(op: hw.StreamingMaxPool, in_shape: tuple[int, ...], *, mem: str = "block") -> RtlUnit:
    _, ih, iw, ch = in_shape
    params: dict[str, ParamValue] = {
        "IH": ih,
        "IW": iw,
        "CH": ch,
        "PE": op.pe,
        "KH": op.kernel[0],
        "KW": op.kernel[1],
        "SH": op.stride[0],
        "SW": op.stride[1],
        "PT": op.pads[0],
        "PL": op.pads[1],
        "PB": op.pads[2],
        "PR": op.pads[3],
        "B": op.dt.bits,
        "KIND": W.kind(op.dt),
        "MEM": mem,
    }
    ins, outs = [stream_in("in0", op.pe, op.dt.bits)], [stream_in("out0", op.pe, op.dt.bits)]
    inst = Instance.create("af_maxpool", params, ins, outs, label="maxpool")
    return lanes_unit(inst, [op.dt], [op.dt], op.pe)


def sum_pool(op: hw.SumPool, in_shape: tuple[int, ...], *, mem: str = "block") -> RtlUnit:
    _, ih, iw, ch = in_shape
    ins = [stream_in("in0", op.pe, op.idt.bits)]
    outs = [stream_in("out0", op.pe, op.odt.bits)]
    common: dict[str, ParamValue] = {
        "CH": ch,
        "PE": op.pe,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
        "OB": op.odt.bits,
    }
    if tuple(op.kernel) == (ih, iw):
        params = {"PIXELS": ih * iw, **common}
        inst = Instance.create("af_sumpool_global", params, ins, outs, label="sumpool_global")
    else:
        params = {
            "IH": ih,
            "IW": iw,
            "KH": op.kernel[0],
            "KW": op.kernel[1],
            "SH": op.stride[0],
            "SW": op.stride[1],
            **common,
            "MEM": mem,
        }
        inst = Instance.create("af_sumpool", params, ins, outs, label="sumpool")
    return lanes_unit(inst, [op.idt], [op.odt], op.pe)


def add_streams(op: hw.AddStreams) -> RtlUnit:
    if op.odt.bipolar or op.idt_a.bipolar or op.idt_b.bipolar:
        raise UnsupportedOpError("AddStreams of bipolar streams")
    params: dict[str, ParamValue] = {
        "PE": op.pe,
        "IB0": op.idt_a.bits,
        "IKIND0": W.kind(op.idt_a),
        "IB1": op.idt_b.bits,
        "IKIND1": W.kind(op.idt_b),
        "OB": op.odt.bits,
        "OKIND": W.kind(op.odt),
        "OFFSET": op.offset,
    }
    ins = [stream_in("in0", op.pe, op.idt_a.bits), stream_in("in1", op.pe, op.idt_b.bits)]
    outs = [stream_in("out0", op.pe, op.odt.bits)]
    inst = Instance.create("af_add_streams", params, ins, outs, label="add_streams")
    return lanes_unit(inst, [op.idt_a, op.idt_b], [op.odt], op.pe)


def duplicate(op: hw.DuplicateStreams) -> RtlUnit:
    width = op.pe * op.dt.bits
    outs = [Stream(f"out{n}", width, "out", index=n) for n in range(op.copies)]
    params: dict[str, ParamValue] = {"W": width, "N": op.copies}
    inst = Instance.create(
        "af_duplicate", params, [Stream("in0", width, "in0")], outs, label="duplicate"
    )
    return lanes_unit(inst, [op.dt], [op.dt] * op.copies, op.pe)


def label_select(op: hw.LabelSelect, *, pe: int = 1) -> RtlUnit:
    if op.idt.bipolar or op.labels % pe:
        raise UnsupportedOpError(f"LabelSelect of {op.labels} {op.idt} scores at PE={pe}")
    params: dict[str, ParamValue] = {
        "NL": op.labels,
        "K": op.k,
        "PE": pe,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
    }
    ins, outs = [stream_in("in0", pe, op.idt.bits)], [Stream("out0", 32, "out0")]
    inst = Instance.create("af_label_select", params, ins, outs, label="label_select")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        return {"in0": words_of(inputs[0], op.idt, pe)}

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        return [values_of(words["out0"], QType.uint(32), 1).reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {"out0": math.prod(shapes[0])}

    return RtlUnit(inst, to_words, from_words, counts)


def dwc(in_w: int, out_w: int) -> Instance:
    params: dict[str, ParamValue] = {"IN_W": in_w, "OUT_W": out_w}
    return Instance.create(
        "af_dwc",
        params,
        [Stream("in0", in_w, "in0")],
        [Stream("out0", out_w, "out0")],
        label=f"dwc {in_w}->{out_w}",
    )


def fifo(width: int, depth: int, style: str = "srl") -> Instance:
    check_choice("style", style, ("srl", "distributed", "block", "ultra"))
    if depth < 2:
        raise ConfigError(f"an af_fifo holds at least 2 words, not {depth}")
    params: dict[str, ParamValue] = {"W": width, "DEPTH": depth, "STYLE": style}
    return Instance.create(
        "af_fifo",
        params,
        [Stream("in0", width, "in0")],
        [Stream("out0", width, "out0")],
        probes=[("count", (depth).bit_length())],
        label=f"fifo {width}x{depth} {style}",
    )


def dma_in(mem_w: int, out_w: int, frame_words: int) -> Instance:
    params: dict[str, ParamValue] = {"MEM_W": mem_w, "OUT_W": out_w, "FRAME_WORDS": frame_words}
    return Instance.create(
        "af_dma_in",
        params,
        [Stream("in0", mem_w, "s_axis", last=True)],
        [Stream("out0", out_w, "out0")],
        probes=[("frame_error", 1)],
        label="dma_in",
    )


def dma_out(width: int, frame_words: int) -> Instance:
    params: dict[str, ParamValue] = {"W": width, "FRAME_WORDS": frame_words}
    return Instance.create(
        "af_dma_out",
        params,
        [Stream("in0", width, "in0")],
        [Stream("out0", width, "m_axis", last=True)],
        label="dma_out",
    )
