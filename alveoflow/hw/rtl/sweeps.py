"""Yosys sweeps of the RTL library's primitives, fitted into per-primitive costs.

``python -m alveoflow.hw.rtl.sweeps [--out FILE] [--jobs N] [--only NAME ...]`` synthesises
each primitive out of context (``yosys.synth``: ``synth_xilinx -family xcup``) over a grid of
widths and foldings and writes ``alveoflow/hw/rtl/calibration.json``: for every primitive the
raw points (parameters and Yosys' counts) and a least-squares linear fit of each resource over
named features (``fit``: {resource: {feature: coefficient}}, with its RMS and worst error).

Primitives (module and what varies):

- ``xnor_lane``: af_dot, bipolar x bipolar (XNOR + popcount); SIMD.
- ``negate_lane``: af_dot "lut", bipolar weights x unsigned a-bit inputs (conditional
  negate, the reference design's binary lane); SIMD, a.
- ``int_lane``: af_dot "lut", signed w-bit weights x unsigned a-bit inputs (partial products
  in fabric, FINN-R's LUT MAC); SIMD, w, a.
- ``masked_sum_lane``: af_dot "masked_sum" (AND + unsigned tree + the 2m - s adder, one per PE
  row and pixel); SIMD, a.
- ``column_sum``: af_colsum, the tree a masked-sum MVAU shares between its PE rows; SIMD, a.
- ``dsp_lane``: af_dot "dsp", int8 x uint8 (one DSP48E2 per lane plus the fabric adder tree);
  SIMD.
- ``threshold_comparator``: af_act, one lane of NT thresholds of B bits (comparators + count);
  NT, B.
- ``swg_buffer_block`` / ``swg_buffer_lutram``: af_swg 3x3 (line buffer of KH + SH rows) in
  BRAM or LUTRAM; image width, channels.
- ``fifo_srl`` / ``fifo_bram``: af_fifo; width, depth.

A run takes about 5 s of Yosys per point on one core (``seconds`` in the file); the lead's
estimator reads the ``fit`` entries in place of its single fitted SYNTH factor.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.codegen.cpp import signed_bits
from alveoflow.compiler.ir import QType, hw
from alveoflow.hw.rtl import ops, tools
from alveoflow.hw.rtl.instance import RTL_DIR, Instance, ParamValue
from alveoflow.hw.rtl.yosys import KEYS, SYNTH, SynthResult, synth

OUT = RTL_DIR / "calibration.json"
Point = dict[str, int]


@dataclass(frozen=True)
class Primitive:
    name: str
    what: str
    grid: tuple[Point, ...]
    make: Callable[[Point], Instance]
    features: dict[str, tuple[str, ...]]  # resource -> feature names
    feature_values: Callable[[Point], dict[str, float]]
    per: str = ""  # lanes: fit each configuration of the other parameters over this one


def dot_instance(simd: int, wb: int, wkind: int, ib: int, ikind: int, mac: str) -> Instance:
    """One af_dot with its operands as plain ports."""
    wmax = 1 if wkind == 2 else (1 << (wb - 1) if wkind == 1 else (1 << wb) - 1)
    xmax = 1 if ikind == 2 else (1 << (ib - 1) if ikind == 1 else (1 << ib) - 1)
    ow = signed_bits(-simd * wmax * xmax, simd * wmax * xmax)
    cw = ib + max(simd - 1, 0).bit_length() + 1
    params: dict[str, ParamValue] = {
        "SIMD": simd,
        "WB": wb,
        "WKIND": wkind,
        "IB": ib,
        "IKIND": ikind,
        "MAC": mac,
        "OW": ow,
        "CW": cw,
    }
    pins = [
        ("w", "input", simd * wb),
        ("x", "input", simd * ib),
        ("colsum", "input", cw),
        ("dot", "output", ow),
    ]
    return Instance.create("af_dot", params, [], [], pins=pins, clocked=False, label="af_dot")


def colsum_instance(simd: int, ib: int) -> Instance:
    cw = ib + max(simd - 1, 0).bit_length() + 1
    params: dict[str, ParamValue] = {"SIMD": simd, "IB": ib, "IKIND": 0, "CW": cw}
    pins = [("x", "input", simd * ib), ("sum", "output", cw)]
    return Instance.create("af_colsum", params, [], [], pins=pins, clocked=False)


def threshold_instance(nt: int, bits: int) -> Instance:
    ob = nt.bit_length()
    params: dict[str, ParamValue] = {
        "LANES": 1,
        "PE": 1,
        "AW": bits,
        "ACT": "thresholds",
        "NT": nt,
        "TB": bits,
        "OB": ob,
        "OUT_OFFSET": 0,
        "PW": nt * bits,
    }
    pins = [("acc", "input", bits), ("params", "input", nt * bits), ("out", "output", ob)]
    return Instance.create("af_act", params, [], [], pins=pins, clocked=False)


def swg_instance(iw: int, ch: int, mem: str) -> Instance:
    op = hw.SlidingWindow(
        channels=ch, kernel=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1), dt=QType.uint(4), simd=ch
    )
    return ops.sliding_window(op, (1, 8, iw, ch), mem=mem).inst


def _lanes(p: Point) -> dict[str, float]:
    a = p.get("a", 1)
    w = p.get("w", 1)
    return {
        "simd": p["simd"],
        "simd*a": p["simd"] * a,
        "simd*w*a": p["simd"] * w * a,
        "simd*(w+a)": p["simd"] * (w + a),
        "fixed": 1.0,
    }


def _grid(**axes: Iterable[int]) -> tuple[Point, ...]:
    names = list(axes)
    points: list[Point] = [{}]
    for name in names:
        points = [{**p, name: v} for p in points for v in axes[name]]
    return tuple(points)


def _buffer(p: Point) -> dict[str, float]:
    bits = 4 * 4 * p["iw"] * p["ch"]  # (KH + SH) rows of IW pixels of CH 4-bit channels
    return {
        "buffer_kbit": bits / 1024,
        "word_bits": 4 * p["ch"],  # SIMD = CH: one pixel per word
        "log2_depth": math.log2(4 * p["iw"]),
        "fixed": 1.0,
    }


def _fifo(p: Point) -> dict[str, float]:
    w, d = p["w"], p["depth"]
    return {
        "w*srl32": w * math.ceil((d - 1) / 32),
        "w": w,
        "fixed": 1.0,
        "kbit": w * d / 1024,
        "log2_depth": math.log2(d),
    }


PRIMITIVES = (
    Primitive(
        "xnor_lane",
        "af_dot, bipolar x bipolar: XNOR + popcount",
        _grid(simd=(16, 32, 64, 128, 256)),
        lambda p: dot_instance(p["simd"], 1, 2, 1, 2, "lut"),
        {"lut": ("simd", "fixed"), "carry": ("simd", "fixed")},
        _lanes,
        per="simd",
    ),
    Primitive(
        "negate_lane",
        "af_dot lut, bipolar weight x unsigned a-bit input: cond. negate",
        _grid(simd=(16, 32, 64), a=(2, 4)),
        lambda p: dot_instance(p["simd"], 1, 2, p["a"], 0, "lut"),
        {"lut": ("simd*a", "simd", "fixed"), "carry": ("simd*a", "simd", "fixed")},
        _lanes,
        per="simd",
    ),
    Primitive(
        "int_lane",
        "af_dot lut, signed w-bit weight x unsigned a-bit input",
        _grid(simd=(16, 32, 64), w=(2, 4), a=(2, 4)),
        lambda p: dot_instance(p["simd"], p["w"], 1, p["a"], 0, "lut"),
        {"lut": ("simd*w*a", "simd*(w+a)", "fixed"), "carry": ("simd*w*a", "simd*(w+a)", "fixed")},
        _lanes,
        per="simd",
    ),
    Primitive(
        "masked_sum_lane",
        "af_dot masked_sum: AND + unsigned tree + 2m - s adder",
        _grid(simd=(16, 32, 64), a=(1, 2, 4)),
        lambda p: dot_instance(p["simd"], 1, 2, p["a"], 0, "masked_sum"),
        {"lut": ("simd*a", "simd", "fixed"), "carry": ("simd*a", "simd", "fixed")},
        _lanes,
        per="simd",
    ),
    Primitive(
        "column_sum",
        "af_colsum: shared sum of SIMD unsigned a-bit inputs",
        _grid(simd=(16, 32, 64), a=(1, 2, 4)),
        lambda p: colsum_instance(p["simd"], p["a"]),
        {"lut": ("simd*a", "simd", "fixed"), "carry": ("simd*a", "simd", "fixed")},
        _lanes,
        per="simd",
    ),
    Primitive(
        "dsp_lane",
        "af_dot dsp, int8 weight x uint8 input, one DSP48E2 per lane",
        _grid(simd=(4, 8, 16, 32)),
        lambda p: dot_instance(p["simd"], 8, 1, 8, 0, "dsp"),
        {"dsp": ("simd", "fixed"), "lut": ("simd", "fixed"), "carry": ("simd", "fixed")},
        _lanes,
        per="simd",
    ),
    Primitive(
        "threshold_comparator",
        "af_act, one lane: NT comparators of B bits + count",
        _grid(nt=(1, 3, 7, 15), bits=(8, 16, 24)),
        lambda p: threshold_instance(p["nt"], p["bits"]),
        {"lut": ("nt*bits", "nt", "fixed"), "carry": ("nt*bits", "nt", "fixed")},
        lambda p: {"nt*bits": p["nt"] * p["bits"], "nt": p["nt"], "fixed": 1.0},
    ),
    Primitive(
        "swg_buffer_block",
        "af_swg 3x3, line buffer (4 rows) in BRAM",
        _grid(iw=(16, 56, 112), ch=(8, 32)),
        lambda p: swg_instance(p["iw"], p["ch"], "block"),
        {
            "bram36": ("buffer_kbit", "fixed"),
            "lut": ("word_bits", "log2_depth", "fixed"),
            "ff": ("word_bits", "log2_depth", "fixed"),
        },
        _buffer,
    ),
    Primitive(
        "swg_buffer_lutram",
        "af_swg 3x3, line buffer (4 rows) in LUTRAM",
        _grid(iw=(8, 16, 32), ch=(4, 16)),
        lambda p: swg_instance(p["iw"], p["ch"], "distributed"),
        {
            "lut": ("buffer_kbit", "word_bits", "log2_depth", "fixed"),
            "ff": ("word_bits", "log2_depth", "fixed"),
        },
        _buffer,
    ),
    Primitive(
        "fifo_srl",
        "af_fifo srl (SRLC32E chains + output register)",
        _grid(w=(8, 32, 64), depth=(16, 32, 64)),
        lambda p: ops.fifo(p["w"], p["depth"], "srl"),
        {"lut": ("w*srl32", "fixed"), "ff": ("w", "fixed")},
        _fifo,
    ),
    Primitive(
        "fifo_bram",
        "af_fifo block (BRAM ring + output register)",
        _grid(w=(16, 64, 128), depth=(512, 2048)),
        lambda p: ops.fifo(p["w"], p["depth"], "block"),
        {
            "bram36": ("kbit", "fixed"),
            "lut": ("log2_depth", "fixed"),
            "ff": ("w", "log2_depth", "fixed"),
        },
        _fifo,
    ),
)


def fit(rows: list[dict[str, float]], targets: list[float], names: tuple[str, ...]) -> dict:
    """Least-squares coefficients of ``targets`` over the ``names`` features of ``rows``,
    with the RMS and the largest absolute error of the fit."""
    a = np.array([[row[n] for n in names] for row in rows], dtype=float)
    y = np.array(targets, dtype=float)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    err = a @ coef - y
    return {
        "coef": {n: round(float(c), 4) for n, c in zip(names, coef, strict=True)},
        "rms": round(float(np.sqrt(np.mean(err**2))), 3),
        "max_abs_error": round(float(np.max(np.abs(err))), 3),
    }


def measure(prim: Primitive, jobs: int = 1) -> list[tuple[Point, SynthResult]]:
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda p: synth(prim.make(p)), prim.grid))
    return list(zip(prim.grid, results, strict=True))


def per_config(prim: Primitive, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For a lane primitive: each configuration of the other parameters, fitted as
    ``resource = per_lane * simd + fixed`` (LUT and DSP), the figure an estimator wants."""
    groups: dict[tuple[tuple[str, int], ...], list[dict[str, Any]]] = {}
    for point in points:
        key = tuple(sorted((k, v) for k, v in point["params"].items() if k != prim.per))
        groups.setdefault(key, []).append(point)
    out = []
    for key, members in groups.items():
        rows = [{"lanes": float(m["params"][prim.per]), "fixed": 1.0} for m in members]
        entry: dict[str, Any] = {"params": dict(key)}
        for res in ("lut", "dsp", "carry"):
            result = fit(rows, [m[res] for m in members], ("lanes", "fixed"))
            entry[res] = {
                "per_lane": result["coef"]["lanes"],
                "fixed": result["coef"]["fixed"],
                "max_abs_error": result["max_abs_error"],
            }
        out.append(entry)
    return out


def fits(prim: Primitive, points: list[dict[str, Any]]) -> dict[str, Any]:
    """The fits of one primitive from its measured points (no Yosys)."""
    rows = [prim.feature_values(p["params"]) for p in points]
    result: dict[str, Any] = {
        "fit": {
            res: fit(rows, [p[res] for p in points], names) for res, names in prim.features.items()
        }
    }
    if prim.per:
        result["per_config"] = per_config(prim, points)
    return result


def summarise(prim: Primitive, measured: list[tuple[Point, SynthResult]]) -> dict[str, Any]:
    points = [
        {
            "params": p,
            **{k: r.counts[k] for k in (*KEYS, "lut_logic", "lut_mem")},
            "yosys_seconds": round(r.seconds, 2),
        }
        for p, r in measured
    ]
    return {"what": prim.what, **fits(prim, points), "points": points}


def refit(data: dict[str, Any]) -> dict[str, Any]:
    """A calibration file with every fit recomputed from its points (features may change
    without running Yosys again)."""
    by_name = {p.name: p for p in PRIMITIVES}
    for name, entry in data["primitives"].items():
        entry.update(fits(by_name[name], entry["points"]))
        entry["what"] = by_name[name].what
    return data


def run(only: Iterable[str] | None = None, jobs: int = 1, out: Path | None = OUT) -> dict:
    chosen = [p for p in PRIMITIVES if only is None or p.name in set(only)]
    start = time.perf_counter()
    primitives = {}
    for prim in chosen:
        t0 = time.perf_counter()
        primitives[prim.name] = summarise(prim, measure(prim, jobs))
        print(f"{prim.name}: {len(prim.grid)} points, {time.perf_counter() - t0:.0f} s", flush=True)
    result = {
        "tool": tools.tool_version(tools.require_tool("yosys")),
        "flow": SYNTH,
        "counting": "alveoflow.hw.rtl.yosys (LUT = LUT1-6 + INV + LUTRAM/SRL LUTs; "
        "carry = CARRY8 sites, a CARRY4 is 0.5; bram36 = RAMB36E2 + RAMB18E2/2)",
        "seconds": round(time.perf_counter() - start, 1),
        "jobs": jobs,
        "points": sum(len(p["points"]) for p in primitives.values()),
        "primitives": primitives,
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result


def table(data: dict[str, Any]) -> str:
    """A markdown table of the fits of a calibration file (docs/rtl.md)."""
    lines = [
        "| primitive | resource | fit (coefficient x feature) | RMS | worst |",
        "|---|---|---|---|---|",
    ]
    for name, entry in data["primitives"].items():
        for res, result in entry["fit"].items():
            terms = " + ".join(
                f"{c:g} x {f}" if f != "fixed" else f"{c:g}" for f, c in result["coef"].items()
            )
            lines.append(
                f"| {name} | {res} | {terms} | {result['rms']:g} | {result['max_abs_error']:g} |"
            )
    lanes = [
        "",
        "| lane primitive | configuration | LUT per lane | LUT fixed | DSP per lane |",
        "|---|---|---|---|---|",
    ]
    for name, entry in data["primitives"].items():
        for cfg in entry.get("per_config", []):
            params = ", ".join(f"{k}={v}" for k, v in cfg["params"].items()) or "-"
            lut, dsp = cfg["lut"], cfg["dsp"]
            lanes.append(
                f"| {name} | {params} | {lut['per_lane']:g} | {lut['fixed']:g} | "
                f"{dsp['per_lane']:g} |"
            )
    return "\n".join(lines + lanes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--jobs", type=int, default=1, help="Yosys runs in parallel")
    parser.add_argument("--only", nargs="*", choices=[p.name for p in PRIMITIVES])
    parser.add_argument("--table", action="store_true", help="print the fits of --out, run nothing")
    parser.add_argument("--refit", action="store_true", help="recompute the fits of --out only")
    args = parser.parse_args(argv)
    if args.refit:
        data = refit(json.loads(Path(args.out).read_text()))
        Path(args.out).write_text(json.dumps(data, indent=1) + "\n")
    if args.table or args.refit:
        print(table(json.loads(Path(args.out).read_text())))
        return
    result = run(args.only, args.jobs, args.out)
    print(f"{result['points']} points in {result['seconds']} s -> {args.out}")


if __name__ == "__main__":
    main()
