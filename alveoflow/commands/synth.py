"""``alveoflow synth BUILD_DIR``: Yosys ``synth_xilinx -family xcup`` per IP of a compiled build.

Runs ``compiler.synth.synth_build``: each IP from the build's generated RTL when it has one
(``BUILD_DIR/rtl``), otherwise out of context per op configuration of the design (every op,
FIFO and converter as the RTL library builds it, each configuration once, in parallel,
cached); writes ``BUILD_DIR/synth/synth.json`` and prints Yosys' figures per IP beside the
estimate of the same IP. ``alveoflow report`` then shows the same table in ``report.html``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

COLUMNS = ("lut", "ff", "carry", "bram36", "uram", "dsp")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="synthesise a build's design with Yosys (per IP) and compare with the estimate",
        description=(
            "Run Yosys `synth_xilinx -family xcup` on the design of BUILD_DIR (written by "
            "`alveoflow compile`): per IP from the build's generated RTL where there is one, "
            "else out of context per op configuration (each op, FIFO and width converter as "
            "the RTL library builds it). Writes BUILD_DIR/synth/synth.json with LUT, FF, "
            "CARRY8, BRAM36, URAM and DSP per IP next to the estimate of the same IP. These "
            "are Yosys' counts, not Vivado's. Needs yosys (scripts/install_tools.sh)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("build_dir", type=Path, metavar="BUILD_DIR", help="compiled build")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="Yosys runs in parallel"
    )
    parser.add_argument(
        "--exact",
        action="store_true",
        help="one run per distinct threshold/bias ROM contents too (slower; by default one "
        "node stands for every node of the same configuration)",
    )
    parser.add_argument(
        "--flat",
        action="store_true",
        help="flatten the dot products too (the calibration sweeps' flow; slower: by default "
        "each distinct af_dot is synthesised once and counted per instance, about 1%% more LUT)",
    )
    parser.add_argument(
        "--no-per-op",
        action="store_true",
        help="IPs only: skip the out-of-context runs per op configuration",
    )
    parser.add_argument("--no-cache", action="store_true", help="run Yosys even when cached")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per Yosys run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    parser.set_defaults(func=run)


def table(result: dict[str, Any]) -> str:
    """Yosys per IP beside the estimate's LUTs, as text."""
    est = result["estimate"]
    head = f"{'IP':<14}" + "".join(f"{c:>10}" for c in COLUMNS) + f"{'est. LUT':>11}{'off':>8}"
    ip_total = {c: sum(v[c] for v in result["ips"].values()) for c in COLUMNS}
    est_total = sum(est[ip]["lut"] for ip in result["ips"])
    rows = [(ip, counts, est[ip]["lut"]) for ip, counts in result["ips"].items()]
    rows += [("IPs total", ip_total, est_total), ("outside IPs*", result["kernel"], None)]
    lines = [head]
    for name, counts, guess in rows:
        cells = "".join(f"{counts[c]:>10,.{1 if c == 'bram36' else 0}f}" for c in COLUMNS)
        off = f"{guess / counts['lut'] - 1:+.0%}" if guess is not None and counts["lut"] else "-"
        lines.append(f"{name:<14}{cells}{'-' if guess is None else f'{guess:,.0f}':>11}{off:>8}")
    lines.append(f"*{result['kernel_is']} (the estimate prices AXI4 DMA masters instead)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from alveoflow.compiler.synth import SYNTH_DIR, SYNTH_JSON, synth_build

    result = synth_build(
        args.build_dir,
        jobs=args.jobs,
        exact=args.exact,
        use_cache=not args.no_cache,
        timeout=args.timeout,
        progress=not args.quiet,
        per_op=not args.no_per_op,
        flat=args.flat,
    )
    if not args.quiet:
        print(table(result))
        if result["missing"]:
            print(f"not synthesised (no RTL module): {'; '.join(result['missing'])}")
    out = args.build_dir / SYNTH_DIR / SYNTH_JSON
    print(f"wrote {out} ({result['tool']}, {result['seconds']:g} s); Yosys' counts, not Vivado's")
    return 0
