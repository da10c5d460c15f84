"""``alveoflow compile MODEL.onnx --out BUILD_DIR``: QONNX -> lowered graph + manifest.

Writes ``graph.json`` + ``graph.npz`` (the lowered hardware graph) and ``manifest.json``
into BUILD_DIR. Everything is first written to a temporary folder next to BUILD_DIR and
then moved in (``manifest.json`` last), so an error leaves nothing half-written. Prints a
per-layer table and a one-line summary.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from alveoflow.compiler.ir import Graph
from alveoflow.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="compile a QONNX model into a lowered integer dataflow graph",
        description=(
            "Read a QONNX model (from `alveoflow export`, Brevitas or qonnx), fold BatchNorm, "
            "scales and activations into integer thresholds, lower it to hardware operators "
            "and write BUILD_DIR/graph.json, graph.npz and manifest.json. Unsupported layers "
            "are reported together in one error that names each node."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", type=Path, help="QONNX (.onnx) file to compile")
    parser.add_argument("--out", type=Path, required=True, help="build directory to write")
    parser.add_argument(
        "--dump-passes",
        action="store_true",
        help="also write every intermediate graph to BUILD_DIR/passes/NN_<pass>.json/.npz "
        "(written as the passes run, so they are there even when compilation fails)",
    )
    parser.add_argument("--platform", default="u250", help="target card (u250, u280, u55c, u50)")
    parser.add_argument(
        "--target-fps", default="max", help="frames per second to fold for, or 'max'"
    )
    parser.add_argument("--clock-mhz", type=float, default=250.0, help="kernel clock")
    parser.add_argument(
        "--no-plan", action="store_true", help="skip folding, FIFO sizing and report.json"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from alveoflow.compiler.pipeline import compile_build

    start = time.perf_counter()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        stage = Path(tmp)
        result = compile_build(
            args.model,
            stage,
            dump_dir=out / "passes" if args.dump_passes else None,
            platform=args.platform,
            target_fps=_target(args.target_fps),
            clock_mhz=args.clock_mhz,
            plan=not args.no_plan,
        )
        _move_into(stage, out)
    if not args.quiet:
        print(layer_table(result.graph))
    print(summary_line(result.graph, time.perf_counter() - start, out))
    if not args.no_plan:
        print(estimate_line(out / "report.json"))
    return 0


def _target(text: str) -> str | float:
    if text == "max":
        return text
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--target-fps must be a number or 'max', got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"--target-fps must be positive, got {value}")
    return value


def estimate_line(report_path: Path) -> str:
    """One line of the folding estimate in ``report.json``."""
    import json

    est = json.loads(report_path.read_text())["estimate"]
    res = est["resources"]["total"]
    fits = "within limits" if est.get("within_limits", True) else "OVER LIMITS"
    return (
        f"estimate @ {est['clock_mhz']:.0f} MHz: {est['fps']:,.0f} FPS, batch-1 latency "
        f"{est['latency_ms']:.3f} ms, {res['lut'] / 1e3:,.0f}k LUT, {res['bram36']:,.0f} BRAM36, "
        f"{res['uram']:,.0f} URAM, {res['dsp']:,.0f} DSP ({fits}); see report.json"
    )


def _move_into(stage: Path, out: Path) -> None:
    if not out.exists():
        os.replace(stage, out)
        stage.mkdir()  # TemporaryDirectory cleans up a folder at its old name
        return
    names = sorted(p.name for p in stage.iterdir() if p.is_file())
    names.sort(key=lambda n: n == "manifest.json")  # last: a reader never sees a stale graph
    for name in names:
        os.replace(stage / name, out / name)


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
