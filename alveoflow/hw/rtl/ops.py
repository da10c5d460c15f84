"""Hardware ops (``alveoflow.compiler.ir.hw``) as instances of the RTL library.

``unit(node_op, weights, **choices) -> RtlUnit`` maps one op, with its folding, to an
``Instance`` (module, parameters, ``$readmemh`` files) and to the stream word formats of its
ports, which are the HLS library's (docs/weight_layouts.md):

- ``RtlUnit.to_words(inputs)``: the op's input tensors (NHWC values) -> words per input stream;
- ``RtlUnit.from_words(words, shapes)``: words per output stream -> output tensors (values);
- ``RtlUnit.counts(shapes)``: words expected on each output stream.

Choices that the folding plan makes and the op does not hold: ``mac`` ("lut", "dsp",
"masked_sum"; default: the HLS generator's rule, ``dsp_packed2`` runs as "dsp"), ``wmem``
(weights "block", "ultra", "distributed" or "stream" for external weights), ``pmem``
(thresholds/biases), ``depthwise`` (an ``SlidingWindow`` feeding a VVAU or a pool emits in
(cf, ky, kx) order), ``mem`` (line buffers). Element kinds and widths come from the op's
QTypes; the accumulator width from ``accumulator_bound``; thresholds are clamped to the
accumulator range (``pack.clamp_thresholds``) and stored in the fewest signed bits.
Also: ``dwc``, ``fifo``, ``dma_in``, ``dma_out`` instances (no op of their own).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.codegen.cpp import signed_bits
from alveoflow.compiler.ir import QType, hw
from alveoflow.compiler.semantics.exact import accumulator_bound
from alveoflow.errors import ConfigError, UnsupportedOpError
from alveoflow.hw.rtl import memh
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.instance import Bits, Instance, ParamValue, Stream

Arrays = Sequence[np.ndarray]
Shapes = Sequence[tuple[int, ...]]
WEIGHT_FILE, PARAM_FILE = "weights.memh", "params.memh"
MACS = ("lut", "dsp", "masked_sum")
WMEMS = ("block", "ultra", "distributed", "stream")
PMEMS = ("block", "distributed")


@dataclass(frozen=True)
class RtlUnit:
    inst: Instance
    to_words: Callable[[Arrays], dict[str, np.ndarray]]
    from_words: Callable[[Mapping[str, np.ndarray], Shapes], list[np.ndarray]]
    counts: Callable[[Shapes], dict[str, int]]


def _stream_in(name: str, lanes: int, bits: int, prefix: str | None = None) -> Stream:
    return Stream(name, lanes * bits, prefix or name)


def _words_of(values: np.ndarray, qtype: QType, lanes: int) -> np.ndarray:
    codes = W.to_codes(values, qtype).reshape(-1, lanes)
    return W.pack(codes, qtype.bits)


def _values_of(words: np.ndarray, qtype: QType, lanes: int) -> np.ndarray:
    return W.from_codes(W.unpack(words, qtype.bits, lanes), qtype)


def _rows(x: np.ndarray) -> np.ndarray:
    """(..., C) -> (pixels, C)."""
    arr = np.asarray(x)
    return arr.reshape(-1, arr.shape[-1])


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {list(allowed)}")


def default_mac(wdt: QType, idt: QType) -> str:
    """The HLS generator's rule: LUTs for binary or <= 4-bit operands, else DSPs."""
    return "lut" if wdt.bipolar or (wdt.bits <= 4 and idt.bits <= 4) else "dsp"


def _activation(
    weights: Mapping[str, np.ndarray], rows: int, pe: int, lo: int, hi: int, offset: int
) -> tuple[dict[str, ParamValue], dict[str, str]]:
    """ACT parameters and the parameter file of thresholds (clamped to [lo, hi]) or a bias."""
    if "thresholds" in weights:
        thr = pack.clamp_thresholds(weights["thresholds"], lo, hi)
        if thr.shape[1] == 0:
            raise UnsupportedOpError("thresholds with no steps")
        tb = signed_bits(int(thr.min()), int(thr.max()))
        params: dict[str, ParamValue] = {"ACT": "thresholds", "NT": thr.shape[1], "TB": tb}
        params["OUT_OFFSET"] = offset
        return params, {PARAM_FILE: memh.threshold_rows(thr, pe, tb)}
    if "bias" in weights:
        bias = np.asarray(weights["bias"]).astype(np.int64).reshape(rows)
        bb = signed_bits(int(bias.min(initial=0)), int(bias.max(initial=0)))
        return {"ACT": "bias", "BB": bb}, {PARAM_FILE: memh.bias_rows(bias, pe, bb)}
    return {"ACT": "none"}, {}


def mvau(
    op: hw.MVAU,
    weights: Mapping[str, np.ndarray],
    *,
    mac: str | None = None,
    wmem: str | None = None,
    pmem: str = "distributed",
) -> RtlUnit:
    mac = mac or default_mac(op.wdt, op.idt)
    wmem = wmem or ("stream" if op.external_weights else "block")
    _check_choice("mac", mac, MACS)
    _check_choice("wmem", wmem, WMEMS)
    _check_choice("pmem", pmem, PMEMS)
    if mac == "masked_sum" and not op.wdt.bipolar:
        raise ConfigError(f"masked_sum needs bipolar weights, not {op.wdt}")
    bound = accumulator_bound(op)
    acc_bits = signed_bits(-bound, bound)
    act, files = _activation(
        weights, op.mh, op.pe, -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1, op.out_offset
    )
    w = np.asarray(weights["weights"])
    params: dict[str, ParamValue] = {
        "MW": op.mw,
        "MH": op.mh,
        "SIMD": op.simd,
        "PE": op.pe,
        "MMV": op.mmv,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
        "WB": op.wdt.bits,
        "WKIND": W.kind(op.wdt),
        "OB": op.odt.bits,
        "ACC_BITS": acc_bits,
        "MAC": mac,
        **act,
        "WMEM": wmem,
        "WFILE": WEIGHT_FILE,
        "PMEM": pmem,
        "PFILE": PARAM_FILE,
    }
    nf, sf = op.mh // op.pe, op.mw // op.simd
    ins = [_stream_in("in0", op.mmv * op.simd, op.idt.bits)]
    ties = {}
    if wmem == "stream":
        ins.append(Stream("in1", op.pe * op.simd * op.wdt.bits, "w"))
    else:
        files[WEIGHT_FILE] = memh.mvau_weights(w, op.wdt, op.pe, op.simd)
        ties = {"w_tdata": "'0", "w_tvalid": "1'b0", "w_tready": ""}
    out = _stream_in("out0", op.mmv * op.pe, op.odt.bits)
    inst = Instance.create("af_mvau", params, ins, [out], files, ties=ties, label="mvau")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        rows = _rows(inputs[0])  # (V, MW)
        groups = rows.shape[0] // op.mmv
        if groups * op.mmv != rows.shape[0]:
            raise ConfigError(f"MMV={op.mmv} does not divide {rows.shape[0]} vectors")
        x = rows.reshape(groups, op.mmv, sf, op.simd).transpose(0, 2, 1, 3)
        result = {"in0": _words_of(x, op.idt, op.mmv * op.simd)}
        if wmem == "stream":
            codes = pack.weight_codes(w, op.wdt).reshape(nf, op.pe, sf, op.simd)
            step = codes.transpose(0, 2, 1, 3).reshape(nf * sf, op.pe * op.simd)
            result["in1"] = np.tile(W.pack(step, op.wdt.bits), (groups, 1))
        return result

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        v = _values_of(words["out0"], op.odt, op.mmv * op.pe)
        groups = v.shape[0] // nf
        y = v.reshape(groups, nf, op.mmv, op.pe).transpose(0, 2, 1, 3)
        return [y.reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        vectors = math.prod(shapes[0][:-1])
        return {"out0": vectors // op.mmv * nf}

    return RtlUnit(inst, to_words, from_words, counts)


def vvau(
    op: hw.VVAU,
    weights: Mapping[str, np.ndarray],
    *,
    mac: str | None = None,
    wmem: str = "distributed",
    pmem: str = "distributed",
) -> RtlUnit:
    mac = mac or default_mac(op.wdt, op.idt)
    _check_choice("mac", mac, MACS)
    _check_choice("wmem", wmem, WMEMS[:3])
    bound = accumulator_bound(op)
    acc_bits = signed_bits(-bound, bound)
    act, files = _activation(
        weights,
        op.channels,
        op.pe,
        -(1 << (acc_bits - 1)),
        (1 << (acc_bits - 1)) - 1,
        op.out_offset,
    )
    files[WEIGHT_FILE] = memh.vvau_weights(np.asarray(weights["weights"]), op.wdt, op.pe, op.simd)
    k, ch, pe, simd = op.kernel_elems, op.channels, op.pe, op.simd
    cf, kf = ch // pe, k // simd
    params: dict[str, ParamValue] = {
        "CH": ch,
        "K": k,
        "SIMD": simd,
        "PE": pe,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
        "WB": op.wdt.bits,
        "WKIND": W.kind(op.wdt),
        "OB": op.odt.bits,
        "ACC_BITS": acc_bits,
        "MAC": mac,
        **act,
        "WMEM": wmem,
        "WFILE": WEIGHT_FILE,
        "PMEM": pmem,
        "PFILE": PARAM_FILE,
    }
    ins = [_stream_in("in0", simd * pe, op.idt.bits)]
    out = _stream_in("out0", pe, op.odt.bits)
    inst = Instance.create("af_vvau", params, ins, [out], files, label="vvau")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        x = _rows(inputs[0]).reshape(-1, kf, simd, cf, pe).transpose(0, 3, 1, 2, 4)
        return {"in0": _words_of(x, op.idt, simd * pe)}

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        return [_values_of(words["out0"], op.odt, pe).reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {"out0": math.prod(shapes[0]) // pe}

    return RtlUnit(inst, to_words, from_words, counts)


def _lanes_unit(
    inst: Instance, in_types: Sequence[QType], out_types: Sequence[QType], lanes: int
) -> RtlUnit:
    """An op whose every stream carries ``lanes`` elements per word in tensor order."""

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        return {
            f"in{i}": _words_of(x, q, lanes)
            for i, (x, q) in enumerate(zip(inputs, in_types, strict=True))
        }

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        return [
            _values_of(words[f"out{i}"], q, lanes).reshape(shape)
            for i, (q, shape) in enumerate(zip(out_types, shapes, strict=True))
        ]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {f"out{i}": math.prod(shape) // lanes for i, shape in enumerate(shapes)}

    return RtlUnit(inst, to_words, from_words, counts)


def thresholding(
    op: hw.Thresholding, weights: Mapping[str, np.ndarray], *, pmem: str = "distributed"
) -> RtlUnit:
    _check_choice("pmem", pmem, PMEMS)
    act, files = _activation(weights, op.channels, op.pe, op.idt.min, op.idt.max, op.out_offset)
    params: dict[str, ParamValue] = {
        "CH": op.channels,
        "PE": op.pe,
        "IB": op.idt.bits,
        "IKIND": W.kind(op.idt),
        "OB": op.odt.bits,
        "NT": act["NT"],
        "TB": act["TB"],
        "OUT_OFFSET": op.out_offset,
        "PMEM": pmem,
        "PFILE": PARAM_FILE,
    }
    ins = [_stream_in("in0", op.pe, op.idt.bits)]
    outs = [_stream_in("out0", op.pe, op.odt.bits)]
    inst = Instance.create("af_thresholding", params, ins, outs, files, label="thresholding")
    return _lanes_unit(inst, [op.idt], [op.odt], op.pe)


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
) -> RtlUnit:
    _check_choice("mem", mem, PMEMS)
    _, ih, iw, ch = in_shape
    (kh, kw), (sh, sw) = op.kernel, op.stride
    pt, pl, pb, pr = op.pads
    if pt >= kh or pb >= kh or pl >= kw or pr >= kw:
        raise UnsupportedOpError(f"padding {op.pads} must be smaller than the kernel {op.kernel}")
    simd, cf = op.simd, ch // op.simd
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
    }
    s_in, s_out = _stream_in("in0", simd, op.dt.bits), _stream_in("out0", simd, op.dt.bits)
    inst = Instance.create("af_swg", params, [s_in], [s_out], label="swg")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        return {"in0": _words_of(inputs[0], op.dt, simd)}

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        v = _values_of(words["out0"], op.dt, simd).reshape(-1, kh * kw, cf, simd)
        if depthwise:  # words came in (cf, k) order
            v = v.reshape(-1, cf, kh * kw, simd).transpose(0, 2, 1, 3)
        return [v.reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {"out0": math.prod(shapes[0]) // simd}

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
    ins, outs = [_stream_in("in0", op.pe, op.dt.bits)], [_stream_in("out0", op.pe, op.dt.bits)]
    inst = Instance.create("af_maxpool", params, ins, outs, label="maxpool")
    return _lanes_unit(inst, [op.dt], [op.dt], op.pe)


def sum_pool(op: hw.SumPool, in_shape: tuple[int, ...], *, mem: str = "block") -> RtlUnit:
    _, ih, iw, ch = in_shape
    ins = [_stream_in("in0", op.pe, op.idt.bits)]
    outs = [_stream_in("out0", op.pe, op.odt.bits)]
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
    return _lanes_unit(inst, [op.idt], [op.odt], op.pe)


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
    ins = [_stream_in("in0", op.pe, op.idt_a.bits), _stream_in("in1", op.pe, op.idt_b.bits)]
    outs = [_stream_in("out0", op.pe, op.odt.bits)]
    inst = Instance.create("af_add_streams", params, ins, outs, label="add_streams")
    return _lanes_unit(inst, [op.idt_a, op.idt_b], [op.odt], op.pe)


def duplicate(op: hw.DuplicateStreams) -> RtlUnit:
    width = op.pe * op.dt.bits
    outs = [Stream(f"out{n}", width, "out", index=n) for n in range(op.copies)]
    params: dict[str, ParamValue] = {"W": width, "N": op.copies}
    inst = Instance.create(
        "af_duplicate", params, [Stream("in0", width, "in0")], outs, label="duplicate"
    )
    return _lanes_unit(inst, [op.dt], [op.dt] * op.copies, op.pe)


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
    ins, outs = [_stream_in("in0", pe, op.idt.bits)], [Stream("out0", 32, "out0")]
    inst = Instance.create("af_label_select", params, ins, outs, label="label_select")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        return {"in0": _words_of(inputs[0], op.idt, pe)}

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        return [_values_of(words["out0"], QType.uint(32), 1).reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {"out0": math.prod(shapes[0])}

    return RtlUnit(inst, to_words, from_words, counts)


def unit(
    op: hw.Op, weights: Mapping[str, np.ndarray], in_shapes: Shapes, **choices: Any
) -> RtlUnit:
    """The RtlUnit of any supported op (``choices`` as the per-op functions take them)."""
    if isinstance(op, hw.MVAU):
        return mvau(op, weights, **choices)
    if isinstance(op, hw.VVAU):
        return vvau(op, weights, **choices)
    if isinstance(op, hw.Thresholding):
        return thresholding(op, weights, **choices)
    if isinstance(op, hw.SlidingWindow):
        return sliding_window(op, tuple(in_shapes[0]), **choices)
    if isinstance(op, hw.StreamingMaxPool):
        return max_pool(op, tuple(in_shapes[0]), **choices)
    if isinstance(op, hw.SumPool):
        return sum_pool(op, tuple(in_shapes[0]), **choices)
    if isinstance(op, hw.AddStreams):
        return add_streams(op)
    if isinstance(op, hw.DuplicateStreams):
        return duplicate(op)
    if isinstance(op, hw.LabelSelect):
        return label_select(op, **choices)
    raise UnsupportedOpError(f"no RTL module for {type(op).__name__}")


# -- plumbing without an op ----------------------------------------------------------------------
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
    _check_choice("style", style, ("srl", "distributed", "block", "ultra"))
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
