"""``alveoflow info``: a per-layer table of any QONNX file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "info",
        help="print a per-layer summary (shapes, bits, MACs) of a QONNX file",
        description=(
            "Print one line per Conv/Gemm/MatMul node of a QONNX file: name, kind, input and "
            "output shape, weight bits, input activation bits, MACs per image and total "
            "weight bits, then a totals line. Works on any QONNX file, not only alveoflow's."
        ),
    )
    parser.add_argument("model", type=Path, help="QONNX (.onnx) file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from alveoflow.export import describe_layers, format_layer_table, read_metadata

    layers = describe_layers(args.model)
    meta = read_metadata(args.model)
    if "alveoflow.model" in meta:
        print(
            f"{args.model}: {meta['alveoflow.model']} "
            f"(input {meta.get('alveoflow.input_datatype', '?')}, "
            f"alveoflow {meta.get('alveoflow.version', '?')})"
        )
    print(format_layer_table(layers))
    return 0
