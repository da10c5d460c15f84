"""The MAC units and thresholds as RTL instances: ``mvau``, ``vvau``, ``thresholding`` (see
``ops``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.codegen.cpp import signed_bits
from alveoflow.compiler.ir import QType, hw
from alveoflow.compiler.semantics.exact import accumulator_bound
from alveoflow.errors import ConfigError, UnsupportedOpError
from alveoflow.hw.rtl import memh
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.instance import Instance, ParamValue, Stream
from alveoflow.hw.rtl.ops_common import (
    MACS,
    PARAM_FILE,
    PMEMS,
    WEIGHT_FILE,
    WMEMS,
    Arrays,
    RtlUnit,
    Shapes,
    check_choice,
    lanes_unit,
    rows_of,
    stream_in,
    values_of,
    words_of,
)


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
    check_choice("mac", mac, MACS)
    check_choice("wmem", wmem, WMEMS)
    check_choice("pmem", pmem, PMEMS)
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
    ins = [stream_in("in0", op.mmv * op.simd, op.idt.bits)]
    ties = {}
    if wmem == "stream":
        ins.append(Stream("in1", op.pe * op.simd * op.wdt.bits, "w"))
    else:
        files[WEIGHT_FILE] = memh.mvau_weights(w, op.wdt, op.pe, op.simd)
        ties = {"w_tdata": "'0", "w_tvalid": "1'b0", "w_tready": ""}
    out = stream_in("out0", op.mmv * op.pe, op.odt.bits)
    inst = Instance.create("af_mvau", params, ins, [out], files, ties=ties, label="mvau")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        rows = rows_of(inputs[0])  # (V, MW)
        groups = rows.shape[0] // op.mmv
        if groups * op.mmv != rows.shape[0]:
            raise ConfigError(f"MMV={op.mmv} does not divide {rows.shape[0]} vectors")
        x = rows.reshape(groups, op.mmv, sf, op.simd).transpose(0, 2, 1, 3)
        result = {"in0": words_of(x, op.idt, op.mmv * op.simd)}
        if wmem == "stream":
            codes = pack.weight_codes(w, op.wdt).reshape(nf, op.pe, sf, op.simd)
            step = codes.transpose(0, 2, 1, 3).reshape(nf * sf, op.pe * op.simd)
            result["in1"] = np.tile(W.pack(step, op.wdt.bits), (groups, 1))
        return result

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        v = values_of(words["out0"], op.odt, op.mmv * op.pe)
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
    check_choice("mac", mac, MACS)
    check_choice("wmem", wmem, WMEMS[:3])
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
    ins = [stream_in("in0", simd * pe, op.idt.bits)]
    out = stream_in("out0", pe, op.odt.bits)
    inst = Instance.create("af_vvau", params, ins, [out], files, label="vvau")

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        x = rows_of(inputs[0]).reshape(-1, kf, simd, cf, pe).transpose(0, 3, 1, 2, 4)
        return {"in0": words_of(x, op.idt, simd * pe)}

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        return [values_of(words["out0"], op.odt, pe).reshape(shapes[0])]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {"out0": math.prod(shapes[0]) // pe}

    return RtlUnit(inst, to_words, from_words, counts)


def thresholding(
    op: hw.Thresholding, weights: Mapping[str, np.ndarray], *, pmem: str = "distributed"
) -> RtlUnit:
    check_choice("pmem", pmem, PMEMS)
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
    ins = [stream_in("in0", op.pe, op.idt.bits)]
    outs = [stream_in("out0", op.pe, op.odt.bits)]
    inst = Instance.create("af_thresholding", params, ins, outs, files, label="thresholding")
    return lanes_unit(inst, [op.idt], [op.odt], op.pe)
