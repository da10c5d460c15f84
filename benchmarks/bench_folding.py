"""Folding: the real QuantResNet50 (w1a2, v1.0; ``common.resnet50_onnx``) on the U250 at
250 MHz, --target-fps max.

Prints JSON (and writes ``benchmarks/results/bench_folding.json``): the planned design's
estimated FPS, batch-1 latency, per-SLR utilisation and
whether every SLR is within its limits; the time planning plus FIFO sizing took; the
calibration of the cost model against the reference design (how far each figure is off);
the reference folding's own estimate, as a ratio to ours; the LUT limit at which 6,000 FPS
would fit; the floorplan (blocks split across SLRs, SLR-crossing wires per boundary); the
MAC datapath chosen per layer (counts of ``alveo::mul_style``); and the same flow on the
other networks.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_folding.py [--quick]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time

from common import conditions, resnet50_onnx, save
from reference_design import apply_reference_folding, calibration

from alveoflow.compiler.fifo import size_fifos
from alveoflow.compiler.pipeline import compile_qonnx
from alveoflow.compiler.report import plan_and_report
from alveoflow.errors import ConfigError
from alveoflow.testing.graphs import lowered_cnn, lowered_depthwise, lowered_mlp, lowered_resnet

BAR_FPS, BAR_LATENCY_MS, BAR_SECONDS = 6000.0, 1.0, 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the LUT-limit sweep")
    args = parser.parse_args()
    before = conditions()
    graph = compile_qonnx(resnet50_onnx()).graph  # the real model, lowered
    reference = lowered_resnet(50, "v1.0")  # the reference design's structure, by name
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = plan_and_report(graph, tmp, "u250", "max", 250.0)
        seconds = time.perf_counter() - t0
    est = report["estimate"]
    ref = size_fifos(apply_reference_folding(reference), 250.0)
    out = {
        "network": "QuantResNet50 w1a2r4 v1.0 (alveoflow.qnn, exported to QONNX, compiled)",
        "platform": "u250",
        "clock_mhz": 250.0,
        "fps": est["fps"],
        "latency_ms_batch1": est["latency_ms"],
        "within_limits": est["within_limits"],
        "per_slr_fraction": [s["fraction"] for s in est["resources"]["per_slr"]],
        "floorplan": {
            "split_units": report["floorplan"]["split_units"],
            "unit_slrs": {u: s for u, s in report["floorplan"]["unit_slrs"].items() if u != "io"},
            "sll_used": est["sll"]["used"],
            "sll_budget": est["sll"]["budget"],
        },
        "total": est["resources"]["total"],
        "lanes": est["lanes"],
        "mac_styles": dict(
            collections.Counter(r["mac_style"] for r in report["layers"] if r["mac_style"] != "-")
        ),
        "plan_plus_fifo_s": round(seconds, 2),
        "timing_s": report["timing_s"],
        "throughput": est["throughput"],
        "reference_folding": {
            "fps": round(250e6 / ref.ii_cycles, 1),
            "latency_ms_batch1": round(ref.latency_ms, 4),
            "latency_over_ii": round(ref.latency_cycles / ref.ii_cycles, 3),
        },
        "fps_ratio_vs_reference_folding": round(est["fps"] * ref.ii_cycles / 250e6, 3),
        "calibration_on_reference_folding": calibration(reference),
        "bar": {
            "fps>=6000": est["fps"] >= BAR_FPS,
            "latency<=1ms": (est["latency_ms"] or 1e9) <= BAR_LATENCY_MS,
            "within_limits": est["within_limits"],
            "plan+fifo<=60s": seconds <= BAR_SECONDS,
        },
    }
    if not args.quick:
        out["lut_limit_for_6000_fps"] = _lut_limit_for(graph, BAR_FPS)
    out["other_networks"] = _others()
    out["conditions"] = {"before": before, "after": conditions()}
    save("bench_folding", out)


def _lut_limit_for(graph, fps: float) -> float | None:
    for lut in (0.70, 0.75, 0.80, 0.85, 0.90):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                r = plan_and_report(graph, tmp, "u250", fps, 250.0, limits={"lut": lut})
            except ConfigError:
                continue
            if r["estimate"]["within_limits"]:
                return lut
    return None


def _others() -> dict[str, dict[str, object]]:
    nets = {
        "mlp": lowered_mlp(),
        "cnn": lowered_cnn(),
        "mobilenet_style": lowered_depthwise(),
        "resnet18_w0.25_64px": lowered_resnet(18, input_size=64, width=0.25),
        "resnet50_v1.5": lowered_resnet(50, "v1.5"),
    }
    out: dict[str, dict[str, object]] = {}
    for name, g in nets.items():
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            r = plan_and_report(g, tmp, "u250", "max", 250.0)
            e = r["estimate"]
            out[name] = {
                "fps": e["fps"],
                "split_units": r["floorplan"]["split_units"],
                "latency_ms": e["latency_ms"],
                "within_limits": e["within_limits"],
                "seconds": round(time.perf_counter() - t0, 2),
            }
    return out


if __name__ == "__main__":
    main()
