"""One hardware node -> config structs, parameter ROMs and library calls (a ``Unit``).

A handler reads the node's op (folding included) and returns a ``Unit``: the lanes of each
input and output stream word (the IP builder inserts width converters and duplicators
around it), the ``constexpr`` config structs, the ``AF_ROM_*`` texts of its parameters, and a
``body(ins, outs)`` that writes its library calls for given stream names. Streams carry one
image per IP call, so every ``reps`` below counts per image.

MAC units' ``MUL`` (``alveo::mul_style``) is the design's (``Design.mul_styles``, decided by
``physical.policy.mul_style``); the generator has no rule of its own. An MVAU with MMV > 1
whose design input carries MMV pixels per word (fed by a sliding window) reads it directly;
otherwise it gathers MMV pixels from a one-pixel stream (``af::mmv_pack``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.codegen.cpp import ctype, signed_bits
from alveoflow.compiler.ir import Node, QType, TensorInfo, hw
from alveoflow.compiler.physical.policy import MUL_STYLES, acc_bits, fc_lanes
from alveoflow.errors import ConfigError, GraphError, UnsupportedOpError


class CType(str):
    """A config field that is a type (emitted as a typedef)."""


class Mul(str):
    """A config field that is an ``alveo::mul_style``."""


@dataclass
class Unit:
    in_lanes: tuple[int, ...]
    out_lanes: tuple[int, ...]
    body: Callable[[list[str], list[str]], list[str]]
    wmem_bits: int = 0  # > 0: the unit reads external weights through a pointer of this width


@dataclass
class UnitContext:
    """What a handler may use: names, config and ROM registries, internal streams."""

    ns: str  # C++ namespace of this IP's config structs
    prefix: str  # prefix of global (ROM) identifiers
    configs: list[tuple[str, list[str], str]] = field(default_factory=list)
    roms: list[str] = field(default_factory=list)
    streams: list[tuple[str, int, int]] = field(default_factory=list)  # name, width, depth
    depthwise_swg: dict[str, int] = field(default_factory=dict)  # swg node -> forced SIMD
    mul_styles: dict[str, str] = field(default_factory=dict)  # MAC node -> design's mul_style
    port_lanes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)

    def config(self, name: str, comment: str, **fields: Any) -> str:
        lines = []
        for key, value in fields.items():
            if isinstance(value, CType):
                lines.append(f"typedef {value} {key};")
            elif isinstance(value, Mul):
                lines.append(
                    f"static constexpr alveo::mul_style {key} = alveo::mul_style::{value};"
                )
            elif isinstance(value, bool):
                lines.append(f"static constexpr bool {key} = {'true' if value else 'false'};")
            elif key in ("OUT_OFFSET", "OFFSET", "PAD_VALUE"):
                lines.append(f"static constexpr int {key} = {int(value)};")
            else:
                lines.append(f"static constexpr unsigned {key} = {int(value)};")
        self.configs.append((name, lines, comment))
        return f"{self.ns}::{name}"

    def stream(self, name: str, width: int, depth: int = 2) -> str:
        sname = f"s_{name}"
        self.streams.append((sname, width, depth))
        return sname


def pixels(info: TensorInfo) -> int:
    return int(np.prod(info.shape[1:-1], dtype=np.int64)) if len(info.shape) > 2 else 1


def mul_style(ctx: UnitContext, node: Node) -> str:
    """The ``MUL`` of a MAC node: the design's choice (see the module docstring)."""
    style = ctx.mul_styles.get(node.name)
    if style not in MUL_STYLES:
        raise ConfigError(
            f"{node.name}: the design gives no alveo::mul_style (got {style!r}); "
            f"expected one of {list(MUL_STYLES)}"
        )
    return str(style)


def _activation(
    ctx: UnitContext, node: Node, rows: int, pe: int, acc: int, odt: QType, out_offset: int
) -> tuple[dict[str, Any], str, str]:
    """Config fields, library function suffix and ROM argument of the activation."""
    base = ctx.prefix + node.name.replace(".", "_")
    if "thresholds" in node.weights:
        lo, hi = -(1 << (acc - 1)), (1 << (acc - 1)) - 1
        thr = pack.clamp_thresholds(node.weights["thresholds"], lo, hi)
        tbits = signed_bits(int(thr.min(initial=0)), int(thr.max(initial=0)))
        nt = thr.shape[1]
        if nt == 0:
            raise UnsupportedOpError(f"{node.name}: thresholds with no steps")
        ctx.roms.append(
            pack.rom_int(
                base + "_thr",
                f"ap_int<{tbits}>",
                pack.interleave_rows(thr, pe),
                f"{node.name}: thresholds[PE={pe}][NF={rows // pe}][NT={nt}]",
            )
        )
        fields = {"NT": nt, "tdt": CType(f"ap_int<{tbits}>"), "OUT_OFFSET": out_offset}
        return fields, "", f", AF_GET({base}_thr)"
    if "bias" in node.weights:
        bias = np.asarray(node.weights["bias"]).astype(np.int64)
        bbits = signed_bits(int(bias.min(initial=0)), int(bias.max(initial=0)))
        ctx.roms.append(
            pack.rom_int(
                base + "_bias",
                f"ap_int<{bbits}>",
                pack.interleave_rows(bias, pe),
                f"{node.name}: bias[PE={pe}][NF={rows // pe}]",
            )
        )
        return {"bdt": CType(f"ap_int<{bbits}>")}, "_bias", f", AF_GET({base}_bias)"
    return {}, "_raw", ""


def unit_mvau(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.MVAU = node.op  # type: ignore[assignment]
    if op.external_weights:
        return _unit_fc_external(ctx, node, ins)
    reps = pixels(ins[0])
    mmv = op.mmv
    windowed = mmv > 1 and ctx.port_lanes.get(node.name, ((0,), ()))[0][0] == op.simd * mmv
    if reps % mmv:
        raise GraphError(f"{node.name}: MMV={mmv} does not divide the {reps} vectors per image")
    acc = acc_bits(op.mw, op.wdt, op.idt)
    act, suffix, extra = _activation(ctx, node, op.mh, op.pe, acc, op.odt, op.out_offset)
    name = "cfg_" + node.name.replace(".", "_")
    cfg = ctx.config(
        name,
        f"{node.name}: MVAU {op.mh}x{op.mw}",
        MW=op.mw,
        MH=op.mh,
        SIMD=op.simd,
        PE=op.pe,
        MMV=mmv,
        idt=CType(ctype(op.idt)),
        wdt=CType(ctype(op.wdt)),
        odt=CType(ctype(op.odt)),
        acc_t=CType(f"ap_int<{acc}>"),
        MUL=Mul(mul_style(ctx, node)),
        **act,
    )
    wname = ctx.prefix + node.name.replace(".", "_") + "_w"
    words = pack.mvau_words(node.weights["weights"], op.wdt, op.pe, op.simd)
    ctx.roms.append(
        pack.rom_hex(
            wname,
            f"ap_uint<{op.simd * op.wdt.bits}>",
            words,
            f"{node.name}: weights[PE={op.pe}][NF*SF={words.shape[1]}], SIMD={op.simd} x {op.wdt}",
        )
    )
    ib, ob = op.simd * op.idt.bits, op.pe * op.odt.bits
    nf, sf = op.mh // op.pe, op.mw // op.simd
    key = node.name.replace(".", "_")

    def body(i: list[str], o: list[str]) -> list[str]:
        call = f"alveo::mvau{suffix}<{cfg}>({{x}}, {{y}}, AF_GET({wname}){extra}, {reps});"
        if mmv == 1:
            return [call.format(x=i[0], y=o[0])]
        lines = []
        packed = i[0]
        if not windowed:
            packed = ctx.stream(key + "_mmv_in", mmv * ib)
            lines.append(f"af::mmv_pack<{ib}, {sf}, {mmv}>({i[0]}, {packed}, {reps // mmv});")
        result = ctx.stream(key + "_mmv_out", mmv * ob)
        return lines + [
            call.format(x=packed, y=result),
            f"af::mmv_unpack<{ob}, {nf}, {mmv}>({result}, {o[0]}, {reps // mmv});",
        ]

    return Unit((op.simd * mmv if windowed else op.simd,), (op.pe,), body)


def _unit_fc_external(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.MVAU = node.op  # type: ignore[assignment]
    if not op.odt.signed or op.odt.bits > 32:
        raise UnsupportedOpError(f"{node.name}: an external-weight layer outputs INT<=32")
    if pixels(ins[0]) != 1:
        raise UnsupportedOpError(f"{node.name}: external weights need a flat (N, C) input")
    if "thresholds" in node.weights:
        raise UnsupportedOpError(f"{node.name}: external-weight layers take a bias, not thresholds")
    mem_w = 8 * fc_lanes(op)
    acc = max(acc_bits(op.mw, QType.sint(8), op.idt), 33)
    cfg = ctx.config(
        "cfg_" + node.name.replace(".", "_"),
        f"{node.name}: FC {op.mh}x{op.mw}, int8 weights in card memory",
        MW=op.mw,
        MH=op.mh,
        MEM_W=mem_w,
        idt=CType(ctype(op.idt)),
        acc_t=CType(f"ap_int<{acc}>"),
    )
    bname = ctx.prefix + node.name.replace(".", "_") + "_bias"
    bias = np.asarray(node.weights.get("bias", np.zeros(op.mh))).astype(np.int64)
    ctx.roms.append(pack.rom_int(bname, "ap_int<32>", bias, f"{node.name}: bias[{op.mh}]"))

    def body(i: list[str], o: list[str]) -> list[str]:
        if op.odt.bits == 32:
            return [f"alveo::fc_external<{cfg}>({i[0]}, {o[0]}, wmem, AF_GET({bname}), 1);"]
        raw = ctx.stream(node.name.replace(".", "_") + "_acc32", 32)
        return [  # the unit writes 32-bit words; the stream carries odt lanes
            f"alveo::fc_external<{cfg}>({i[0]}, {raw}, wmem, AF_GET({bname}), 1);",
            f"af::lane_convert<ap_int<32>, {ctype(op.odt)}, 1>({raw}, {o[0]}, {op.mh});",
        ]

    return Unit((mem_w // 8,), (1,), body, wmem_bits=mem_w)


def unit_vvau(ctx: UnitContext, node: Node, ins: tuple[TensorInfo, ...]) -> Unit:
    op: hw.VVAU = node.op  # type: ignore[assignment]
    k = math.isqrt(op.kernel_elems)
    if k * k != op.kernel_elems:
        raise UnsupportedOpError(
            f"{node.name}: depthwise kernel of {op.kernel_elems} is not square"
        )
    reps = pixels(ins[0])
    acc = acc_bits(op.kernel_elems, op.wdt, op.idt)
    act, suffix, extra = _activation(ctx, node, op.channels, op.pe, acc, op.odt, op.out_offset)
    mul = mul_style(ctx, node)
    cfg = ctx.config(
        "cfg_" + node.name.replace(".", "_"),
        f"{node.name}: VVAU {op.channels} ch, {k}x{k}",
        CH=op.channels,
        K=k,
        PE=op.pe,
        SIMD=op.simd,
        idt=CType(ctype(op.idt)),
        wdt=CType(ctype(op.wdt)),
        odt=CType(ctype(op.odt)),
        acc_t=CType(f"ap_int<{acc}>"),
        MUL=Mul("dsp" if mul == "dsp_packed2" else mul),
        **act,
    )
    wname = ctx.prefix + node.name.replace(".", "_") + "_w"
    words = pack.vvau_words(node.weights["weights"], op.wdt, op.pe, op.simd)
    ctx.roms.append(
        pack.rom_hex(
            wname,
            f"ap_uint<{op.simd * op.wdt.bits}>",
            words,
            f"{node.name}: weights[PE={op.pe}][CF*KF={words.shape[1]}]",
        )
    )
    word = op.pe * op.idt.bits
    cf = op.channels // op.pe
    key = node.name.replace(".", "_")

    def body(i: list[str], o: list[str]) -> list[str]:
        src, lines = i[0], []
        if op.simd > 1:  # SIMD kernel positions of a channel group in one word
            dcfg = ctx.config(
                f"cfg_{key}_dwc",
                "kernel positions side by side",
                IN_W=word,
                OUT_W=op.simd * word,
                FRAME_BITS=op.kernel_elems * word,
            )
            src = ctx.stream(key + "_kpos", op.simd * word)
            lines.append(f"alveo::dwc<{dcfg}>({i[0]}, {src}, {reps * cf});")
        lines.append(f"alveo::vvau{suffix}<{cfg}>({src}, {o[0]}, AF_GET({wname}){extra}, {reps});")
        return lines

    return Unit((op.pe,), (op.pe,), body)
