"""``alveoflow build BUILD_DIR``: generate the hardware sources and build scripts of a compiled
build directory, then run the Xilinx flow (Vitis HLS -> IP integrator -> package_xo -> v++
link) when the tools are installed, or say exactly what to run where they are."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "build",
        help="generate HLS C++/Tcl/link files of a build directory and run the Xilinx flow",
        description=(
            "Generate, into BUILD_DIR (written by `alveoflow compile`), one HLS IP per residual "
            "block plus stem, tail and DMA (C++ with config structs and packed weight headers), "
            "the external FC weights (weights/fc_weights.npy|.csv), per-IP Vitis HLS Tcl, the "
            "Vivado IP-integrator stitch, kernel.xml/package_xo, the v++ link config, the SLR "
            "floorplan and a Makefile. When vitis_hls, vivado and v++ are found (PATH or "
            "$XILINX_HLS/$XILINX_VIVADO/$XILINX_VITIS) it runs `make` (IPs synthesised in "
            "parallel, logs in BUILD_DIR/logs); otherwise it stops with an error that lists "
            "the generated files and the command to run on a machine that has the tools. "
            "The folding plan, SLRs and clock come from BUILD_DIR/folding_plan.json and the "
            "FIFO depths from BUILD_DIR/report.json when present."
        ),
    )
    parser.add_argument("build_dir", type=Path, help="build directory from `alveoflow compile`")
    parser.add_argument("--platform", default="u250", help="Alveo platform (default: u250)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="parallel jobs for make and synthesis (default: CPU count)",
    )
    parser.add_argument(
        "--clock",
        type=float,
        default=None,
        help="kernel clock in MHz (default: the plan's, else 250)",
    )
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="only write the sources and scripts; do not look for the tools",
    )
    parser.add_argument(
        "--target",
        default="all",
        choices=("all", "ips", "xo", "csim"),
        help="Makefile target to run (default: all = the xclbin)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from alveoflow.compiler.codegen.builddir import generate
    from alveoflow.compiler.codegen.toolchain import find_tools, require_tools, run_make

    build_dir: Path = args.build_dir
    files = generate(build_dir, args.platform, args.clock)
    info = json.loads((build_dir / "codegen.json").read_text())
    ips = [ip["name"] for ip in info["ips"]] + ["inoutdma"]
    print(
        f"generated {len(files)} files in {build_dir}: {len(ips)} HLS IPs "
        f"({', '.join(ips)}), kernel {info['kernel']!r} at {info['clock_mhz']:g} MHz"
    )
    if args.generate_only:
        return 0
    tools = require_tools(find_tools(), build_dir, files, args.jobs, info["shell"])
    log = run_make(build_dir, tools, ips, args.jobs, info["shell"], args.target)
    print(f"make {args.target} finished; log: {log}")
    return 0
