"""``alveoflow compile MODEL.onnx --out BUILD_DIR``: every build step, into a build directory.

Runs ``compiler.pipeline.build`` with a ``BuildConfig`` made from the options: the lowered
graph, the folding plan, the FIFO depths, the design, its report and its generated sources
and scripts, written by ``compiler.buildfmt`` (staged next to BUILD_DIR and moved in,
``manifest.json`` last, so an error leaves nothing half-written; a folder holding files
alveoflow did not write is refused). Prints a per-layer table, a one-line summary and the
estimate; with a terminal, a progress line per step.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from alveoflow.compiler.ir import Graph


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="compile a QONNX model into a build directory (graph, design, sources)",
        description=(
            "Read a QONNX model (from `alveoflow export`, Brevitas or qonnx), fold BatchNorm, "
            "scales and activations into integer thresholds, lower it to hardware operators, "
            "fold it for the card, size its FIFOs, and write BUILD_DIR: the graph, the "
            "design and its estimate (report.json), the HLS sources and the build scripts. "
            "Unsupported layers are reported together in one error that names each node."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", type=Path, help="QONNX (.onnx) file to compile")
    parser.add_argument("--out", type=Path, required=True, help="build directory to write")
    parser.add_argument(
        "--input-quant",
        metavar="DTYPE:SCALE[:ZERO_POINT]",
        help="the integer grid of a float model input: the input is SCALE*(code-ZERO_POINT) "
        "for codes of DTYPE, e.g. int8:0.0078740157, uint8:0.0039215686, int4:0.125, bipolar",
    )
    parser.add_argument("--platform", default="u250", help="target card (u250, u280, u55c, u50)")
    parser.add_argument(
        "--target-fps", default="max", help="frames per second to fold for, or 'max'"
    )
    parser.add_argument("--clock-mhz", default="250", help="kernel clock in MHz")
    parser.add_argument(
        "--hw", default="hls", choices=("hls", "rtl"), help="hardware flavour to generate"
    )
    parser.add_argument("--max-batch", type=int, default=1000, help="frames the card buffers hold")
    parser.add_argument(
        "--no-plan",
        action="store_true",
        help="no folding search or FIFO sizing: the graph's own folding, one SLR",
    )
    parser.add_argument(
        "--dump-passes",
        action="store_true",
        help="also write every intermediate to BUILD_DIR.passes/NN_<step>.json/.npz "
        "(as the steps run, so they are there even when compilation fails)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.set_defaults(func=run)


def config_of(args: argparse.Namespace) -> object:
    from alveoflow.compiler.config import BuildConfig

    out = Path(args.out)
    return BuildConfig.from_mapping(
        {
            "platform": args.platform,
            "target_fps": args.target_fps,
            "clock_mhz": args.clock_mhz,
            "input_quant": args.input_quant,
            "hw": args.hw,
            "max_batch": args.max_batch,
            "plan": not args.no_plan,
            "dump_dir": out.with_name(out.name + ".passes") if args.dump_passes else None,
        }
    )


def run(args: argparse.Namespace) -> int:
    from alveoflow.compiler.pipeline import build

    start = time.perf_counter()
    config = config_of(args)
    progress = _progress if sys.stderr.isatty() and not args.quiet else None
    result = build(args.model, config, args.out, progress=progress)  # type: ignore[arg-type]
    graph = result.folded or result.graph
    assert graph is not None
    if not args.quiet:
        print(layer_table(graph))
    print(summary_line(graph, time.perf_counter() - start, Path(args.out)))
    if result.report is not None:
        print(estimate_line(result.report))
    return 0


def _progress(step: str, seconds: float) -> None:
    print(f"  {step:<16} {seconds:6.2f} s", file=sys.stderr)


def estimate_line(report: dict) -> str:
    """One line of the design's estimate (``report.json``)."""
    est = report["estimate"]
    res = est["resources"]["total"]
    fits = "within limits" if est.get("within_limits", True) else "OVER LIMITS"
    latency = est.get("latency_ms")
    lat = f", batch-1 latency {latency:.3f} ms" if latency is not None else ""
    return (
        f"estimate @ {est['clock_mhz']:.0f} MHz: {est['fps']:,.0f} FPS{lat}, "
        f"{res['lut'] / 1e3:,.0f}k LUT, {res['bram36']:,.0f} BRAM36, "
        f"{res['uram']:,.0f} URAM, {res['dsp']:,.0f} DSP ({fits}); see report.json"
    )


def _bits(node_row: dict) -> str:
    def short(name: str | None) -> str:
        if not name:
            return "-"
        return {"BIPOLAR": "1b", "FLOAT32": "f32"}.get(
            name, name.replace("UINT", "u").replace("INT", "i")
        )

    return f"{short(node_row['wdt'])}/{short(node_row['idt'])}"


def layer_table(graph: Graph) -> str:
    from alveoflow.compiler.manifest import node_summary

    rows = [node_summary(graph, n) for n in graph.nodes]
    width = max([len(r["name"]) for r in rows] + [4])
    lines = [f"{'node':<{width}}  {'op':<17} {'out shape':<18} {'w/a':<9} {'MACs':>13}"]
    for r in rows:
        shape = "x".join(str(d) for d in r["out_shape"][1:])
        macs = f"{r['macs']:,}" if r["macs"] else ""
        lines.append(f"{r['name']:<{width}}  {r['kind']:<17} {shape:<18} {_bits(r):<9} {macs:>13}")
    return "\n".join(lines)


def summary_line(graph: Graph, seconds: float, out: Path) -> str:
    from alveoflow.compiler.ir import hw
    from alveoflow.compiler.manifest import node_macs, weight_bits

    mvaus = sum(isinstance(n.op, hw.MVAU) for n in graph.nodes)
    vvaus = sum(isinstance(n.op, hw.VVAU) for n in graph.nodes)
    gmacs = sum(node_macs(n) for n in graph.nodes) / 1e9
    vv = f" + {vvaus} VVAUs" if vvaus else ""
    return (
        f"compiled {len(graph.nodes)} nodes ({mvaus} MVAUs{vv}), {gmacs:.3f} GMACs, "
        f"{weight_bits(graph) / 1e6:.2f} Mbit weights in {seconds:.1f} s -> {out}"
    )
