"""``alveoflow export``: build (or load) a model from the zoo and write it as QONNX."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from alveoflow.qnn import MODELS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a zoo model (optionally with a checkpoint) to a QONNX file",
        description=(
            "Build a model from the alveoflow zoo, load a checkpoint if given, and write it "
            "as a cleaned QONNX file whose Conv/Gemm nodes are named by module path. Without "
            "a checkpoint the weights are random and BatchNorm/activation statistics come "
            "from a few random batches (useful for compiler experiments only)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", default="resnet50", help=f"one of: {', '.join(MODELS)}")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="checkpoint (.pt) to load; its config "
        "(if any) overrides the defaults, the options below override both",
    )
    parser.add_argument("--bits", help="bit widths, e.g. w1a2r4, w2a2, w4a4, w8a8")
    parser.add_argument("--num-classes", type=int, help="number of output classes")
    parser.add_argument("--version", choices=("v1.0", "v1.5"), help="ResNet topology version")
    parser.add_argument("--width", type=float, help="channel width multiplier")
    parser.add_argument("--out", type=Path, required=True, help="QONNX file to write")
    parser.set_defaults(func=run)


def _options(args: argparse.Namespace) -> dict:
    names = {
        "bits": args.bits,
        "num_classes": args.num_classes,
        "version": args.version,
        "width": args.width,
    }
    return {key: value for key, value in names.items() if value is not None}


def run(args: argparse.Namespace) -> int:
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn
    from alveoflow.qnn.resnet import MODEL_DEFAULTS, load_checkpoint, model_config

    start = time.perf_counter()
    options = _options(args)
    model_config(args.model)  # an unknown name fails here, with suggestions
    if args.checkpoint is not None:
        model = load_checkpoint(args.checkpoint, base=MODEL_DEFAULTS[args.model], **options)
    else:
        model = calibrate_bn(build_model(args.model, **options), batches=2, batch_size=1)
    path = to_qonnx(model, args.out)
    print(
        f"wrote {path} ({model.config.arch}, {model.config.bits}) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0
