"""``alveoflow report BUILD_DIR``: render ``report.json`` into ``report.html`` with plots."""

from __future__ import annotations

import argparse

from alveoflow.compiler.report import render_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render a build directory's report.json as report.html with plots",
        description=(
            "Read BUILD_DIR/report.json (written by `alveoflow compile`) and write "
            "BUILD_DIR/report.html with PNG plots: per-layer cycles (bottleneck in red), "
            "resources per SLR against the limits, the SLR floorplan, and latency and "
            "throughput against batch size."
        ),
    )
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="build directory with report.json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = render_report(args.build_dir)
    print(f"wrote {path}")
    return 0
