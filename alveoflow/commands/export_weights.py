"""``alveoflow export-weights BUILD_DIR --out DIR``: the per-block weight/threshold headers
and the external FC weights of a build, with a table of what was written."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-weights",
        help="write the per-block weight/threshold headers and FC weights of a build",
        description=(
            "Copy the parameters of BUILD_DIR (written by `alveoflow compile`) to --out: one "
            "<ip>_params.h per HLS IP (weights, thresholds and biases "
            "packed as docs/weight_layouts.md describes), fc_weights.npy (int8, row-major) and "
            "fc_weights.csv (the reference's single-line CSV layout). Prints one row per file: "
            "bytes and the layers it holds. From a trained checkpoint, see "
            "examples/export_weights.py."
        ),
    )
    parser.add_argument("build_dir", type=Path, help="build directory from `alveoflow compile`")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--force", action="store_true", help="overwrite files already in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from alveoflow.compiler.codegen.weights import export_weights, format_table

    rows = export_weights(args.build_dir, args.out, args.force)
    print(format_table(rows))
    return 0
