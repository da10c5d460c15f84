"""Handlers of the non-MAC hardware nodes (see ``units``): sliding windows, pools,
thresholds, residual adds, duplication and top-k; plus ``HANDLERS``, the op -> handler table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.codegen.cpp import ctype, signed_bits
from alveoflow.compiler.codegen.units import (
    CType,
    Unit,
    UnitContext,
    pixels,
    unit_mvau,
    unit_vvau,
)
from alveoflow.compiler.ir import Node, TensorInfo, hw
from alveoflow.errors import UnsupportedOpError

Handler = Callable[[UnitContext, Node, tuple[TensorInfo, ...]], Unit]


def _key(node: Node) -> str:
    return node.name.replace(".", "_")


def _square(node: Node, pair: tuple[int, int], what: str) -> int:
    if pair[0] != pair[1]:
        raise UnsupportedOpError(f"{node.name}: the HLS library needs a square {what}, got {pair}")
    return pair[0]


def unit_swg(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.SlidingWindow = node.op  # type: ignore[assignment]
    _, ih, iw, ch = ins[0].shape
    simd = ctx.depthwise_swg.get(node.name, op.simd)
    depthwise = node.name in ctx.depthwise_swg
    out_lanes = ctx.port_lanes.get(node.name, ((simd,), (simd,)))[1][0]
    mmv = out_lanes // simd  # output pixels per word (the MMV of the MVAU it feeds)
    pads = op.pads
    per_channel = len(set(op.pad_values)) > 1 and any(pads)
    word = simd * op.dt.bits
    fields = dict(
        IH=ih + (pads[0] + pads[2] if per_channel else 0),
        IW=iw + (pads[1] + pads[3] if per_channel else 0),
        CH=ch,
        KH=op.kernel[0],
        KW=op.kernel[1],
        SH=op.stride[0],
        SW=op.stride[1],
        PT=0 if per_channel else pads[0],
        PL=0 if per_channel else pads[1],
        PB=0 if per_channel else pads[2],
        PR=0 if per_channel else pads[3],
        SIMD=simd,
        dt=CType(ctype(op.dt)),
        PAD_VALUE=0 if per_channel else op.pad_values[0],
        DEPTHWISE=depthwise,
        MMV=mmv,
    )
    cfg = ctx.config(
        "cfg_" + _key(node), f"{node.name}: sliding window {op.kernel}/{op.stride}", **fields
    )
    padname = ctx.prefix + _key(node) + "_pad"
    if per_channel:  # per-channel padding (e.g. the mean pixel): an explicit padding stage
        values = np.resize(np.asarray(op.pad_values, dtype=np.int64), ch)
        codes = pack.weight_codes(values, op.dt).reshape(ch // simd, simd)
        ctx.roms.append(
            pack.rom_hex(
                padname,
                f"ap_uint<{word}>",
                pack.hex_words(codes, op.dt.bits),
                f"{node.name}: per-channel padding words[{ch // simd}]",
            )
        )

    fn = "sliding_window_mmv" if mmv > 1 else "sliding_window"

    def body(i: list[str], o: list[str]) -> list[str]:
        if not per_channel:
            return [f"alveo::{fn}<{cfg}>({i[0]}, {o[0]}, 1);"]
        padded = ctx.stream(_key(node) + "_padded", word)
        geo = f"{ih}, {iw}, {ch // simd}, {pads[0]}, {pads[1]}, {pads[2]}, {pads[3]}, {word}"
        return [
            f"af::pad_image<{geo}>({i[0]}, {padded}, AF_GET({padname}));",
            f"alveo::{fn}<{cfg}>({padded}, {o[0]}, 1);",
        ]

    return Unit((simd,), (simd * mmv,), body)


def unit_maxpool(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.StreamingMaxPool = node.op  # type: ignore[assignment]
    _, ih, iw, ch = ins[0].shape
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: max pool {op.kernel}/{op.stride}",
        IH=ih,
        IW=iw,
        CH=ch,
        K=_square(node, op.kernel, "kernel"),
        S=_square(node, op.stride, "stride"),
        PT=op.pads[0],
        PL=op.pads[1],
        PB=op.pads[2],
        PR=op.pads[3],
        PE=op.pe,
        dt=CType(ctype(op.dt)),
    )
    return Unit((op.pe,), (op.pe,), lambda i, o: [f"alveo::maxpool<{cfg}>({i[0]}, {o[0]}, 1);"])


def unit_sumpool(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.SumPool = node.op  # type: ignore[assignment]
    _, ih, iw, ch = ins[0].shape
    types = dict(idt=CType(ctype(op.idt)), odt=CType(ctype(op.odt)))
    if tuple(op.kernel) == (ih, iw):
        cfg = ctx.config(
            "cfg_" + _key(node),
            f"{node.name}: global sum pool",
            PIXELS=ih * iw,
            CH=ch,
            PE=op.pe,
            **types,
        )
        fn = "sumpool_global"
    else:
        cfg = ctx.config(
            "cfg_" + _key(node),
            f"{node.name}: sum pool {op.kernel}/{op.stride}",
            IH=ih,
            IW=iw,
            CH=ch,
            K=_square(node, op.kernel, "kernel"),
            S=_square(node, op.stride, "stride"),
            PT=0,
            PL=0,
            PB=0,
            PR=0,
            PE=op.pe,
            **types,
        )
        fn = "sumpool"
    return Unit((op.pe,), (op.pe,), lambda i, o: [f"alveo::{fn}<{cfg}>({i[0]}, {o[0]}, 1);"])


def unit_thresholding(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.Thresholding = node.op  # type: ignore[assignment]
    lo, hi = (-1, 1) if op.idt.bipolar else (int(op.idt.min), int(op.idt.max))
    thr = pack.clamp_thresholds(node.weights["thresholds"], lo, hi)
    tbits = signed_bits(min(int(thr.min(initial=0)), lo), max(int(thr.max(initial=0)), hi))
    nt = thr.shape[1]
    if nt == 0:
        raise UnsupportedOpError(f"{node.name}: thresholds with no steps")
    name = ctx.prefix + _key(node) + "_thr"
    ctx.roms.append(
        pack.rom_int(
            name,
            f"ap_int<{tbits}>",
            pack.interleave_rows(thr, op.pe),
            f"{node.name}: thresholds[PE={op.pe}][CF={op.channels // op.pe}][NT={nt}]",
        )
    )
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: thresholds {op.idt} -> {op.odt}",
        CH=op.channels,
        PE=op.pe,
        NT=nt,
        idt=CType(ctype(op.idt)),
        tdt=CType(f"ap_int<{tbits}>"),
        odt=CType(ctype(op.odt)),
        OUT_OFFSET=op.out_offset,
    )
    reps = pixels(ins[0])
    return Unit(
        (op.pe,),
        (op.pe,),
        lambda i, o: [f"alveo::thresholding<{cfg}>({i[0]}, {o[0]}, AF_GET({name}), {reps});"],
    )


def unit_add(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.AddStreams = node.op  # type: ignore[assignment]
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: residual add, offset {op.offset}",
        CH=op.channels,
        PE=op.pe,
        adt=CType(ctype(op.idt_a)),
        bdt=CType(ctype(op.idt_b)),
        odt=CType(ctype(op.odt)),
        OFFSET=op.offset,
    )
    reps = pixels(ins[0])
    return Unit(
        (op.pe, op.pe),
        (op.pe,),
        lambda i, o: [f"alveo::add_streams<{cfg}>({i[0]}, {i[1]}, {o[0]}, {reps});"],
    )


def duplicate_calls(
    ctx: UnitContext, key: str, src: str, outs: list[str], width: int, words: int
) -> list[str]:
    """Copies of ``src`` into every stream of ``outs`` (a chain of two-way duplicates)."""
    cfg = ctx.config(f"cfg_{key}_dup", f"fan-out of {key}", W=width, WORDS=words)
    lines, cur = [], src
    for k, out in enumerate(outs[:-1]):
        rest = outs[-1] if k == len(outs) - 2 else ctx.stream(f"{key}_dup{k}", width)
        lines.append(f"alveo::duplicate<{cfg}>({cur}, {out}, {rest}, 1);")
        cur = rest
    return lines


def unit_duplicate(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.DuplicateStreams = node.op  # type: ignore[assignment]
    width = op.pe * op.dt.bits
    words = ins[0].elems_per_frame // op.pe
    return Unit(
        (op.pe,),
        (op.pe,) * op.copies,
        lambda i, o: duplicate_calls(ctx, _key(node), i[0], o, width, words),
    )


def unit_label_select(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.LabelSelect = node.op  # type: ignore[assignment]
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: top-{op.k} of {op.labels}",
        NL=op.labels,
        K=op.k,
        PE=1,
        sdt=CType(ctype(op.idt)),
    )
    return Unit((1,), (1,), lambda i, o: [f"alveo::label_select<{cfg}>({i[0]}, {o[0]}, 1);"])


def unit_concat(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.ConcatStreams = node.op  # type: ignore[assignment]
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: concat {op.channels[0]} + {op.channels[1]} channels",
        CA=op.channels[0],
        CB=op.channels[1],
        PE=op.pe,
        adt=CType(ctype(op.idts[0])),
        bdt=CType(ctype(op.idts[1])),
        odt=CType(ctype(op.odt)),
    )
    reps = pixels(ins[0])
    return Unit(
        (op.pe, op.pe),
        (op.pe,),
        lambda i, o: [f"alveo::concat_streams<{cfg}>({i[0]}, {i[1]}, {o[0]}, {reps});"],
    )


def unit_upsample(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.Upsample = node.op  # type: ignore[assignment]
    _, ih, iw, ch = ins[0].shape
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: nearest upsample x{op.factor}",
        H=ih,
        W=iw,
        CH=ch,
        PE=op.pe,
        FY=op.factor[0],
        FX=op.factor[1],
        dt=CType(ctype(op.dt)),
    )
    return Unit((op.pe,), (op.pe,), lambda i, o: [f"alveo::upsample<{cfg}>({i[0]}, {o[0]}, 1);"])


def unit_channel_mul(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.ChannelMul = node.op  # type: ignore[assignment]
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: per-channel gate {op.idt} x {op.gdt}",
        CH=op.channels,
        PE=op.pe,
        PIXELS=pixels(ins[0]),
        idt=CType(ctype(op.idt)),
        gdt=CType(ctype(op.gdt)),
        odt=CType(ctype(op.odt)),
    )
    return Unit(
        (op.pe, op.pe),
        (op.pe,),
        lambda i, o: [f"alveo::channel_mul<{cfg}>({i[0]}, {i[1]}, {o[0]}, 1);"],
    )


def unit_scale(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.ScaleStream = node.op  # type: ignore[assignment]
    factors = np.asarray(node.weights["factors"]).astype(np.int64)
    fbits = max(1, int(factors.max()).bit_length())
    name = ctx.prefix + _key(node) + "_factors"
    ctx.roms.append(
        pack.rom_int(
            name,
            f"ap_uint<{fbits}>",
            pack.interleave_rows(factors, op.pe),
            f"{node.name}: factors[PE={op.pe}][CF={op.channels // op.pe}]",
        )
    )
    cfg = ctx.config(
        "cfg_" + _key(node),
        f"{node.name}: per-channel gain {op.idt} -> {op.odt}",
        CH=op.channels,
        PE=op.pe,
        idt=CType(ctype(op.idt)),
        fdt=CType(f"ap_uint<{fbits}>"),
        odt=CType(ctype(op.odt)),
    )
    reps = pixels(ins[0])
    return Unit(
        (op.pe,),
        (op.pe,),
        lambda i, o: [f"alveo::scale_stream<{cfg}>({i[0]}, {o[0]}, AF_GET({name}), {reps});"],
    )


HANDLERS: dict[type, Handler] = {
    hw.MVAU: unit_mvau,
    hw.VVAU: unit_vvau,
    hw.SlidingWindow: unit_swg,
    hw.StreamingMaxPool: unit_maxpool,
    hw.SumPool: unit_sumpool,
    hw.Thresholding: unit_thresholding,
    hw.AddStreams: unit_add,
    hw.DuplicateStreams: unit_duplicate,
    hw.LabelSelect: unit_label_select,
    hw.ConcatStreams: unit_concat,
    hw.Upsample: unit_upsample,
    hw.ChannelMul: unit_channel_mul,
    hw.ScaleStream: unit_scale,
}
