"""Export the per-block weight/threshold headers and the FC weights of a network.

Two ways in:

  # from a build directory written by `alveoflow compile`
  python examples/export_weights.py --build-dir build/resnet50 --out weights/

  # from a trained checkpoint of a zoo model (exported to QONNX and compiled on the way)
  python examples/export_weights.py --checkpoint rn50.pt --model resnet50 --out weights/

Writes one ``<ip>_params.h`` per HLS IP (one per residual block, plus stem and tail), packed
as docs/weight_layouts.md describes, ``fc_weights.npy`` (int8, row-major) and
``fc_weights.csv`` (the ResNet50-PYNQ layout), then prints what was written.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def build_from_checkpoint(checkpoint: Path, model: str, work: Path, platform: str) -> Path:
    """Checkpoint -> QONNX -> compiled build directory (folding plan included)."""
    from alveoflow.compiler.config import BuildConfig
    from alveoflow.compiler.pipeline import build as run_build
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import load_checkpoint

    net = load_checkpoint(checkpoint, base={"arch": model} if model else None)
    net.eval()
    onnx_path = to_qonnx(net, work / f"{model or 'model'}.onnx")
    build = work / "build"
    run_build(onnx_path, BuildConfig(platform=platform), build)
    return build


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--build-dir", type=Path, help="build directory from `alveoflow compile`")
    src.add_argument("--checkpoint", type=Path, help="trained checkpoint (.pt) of a zoo model")
    parser.add_argument(
        "--model",
        default=None,
        help="zoo model name for --checkpoint (default: the one it records)",
    )
    parser.add_argument("--platform", default="u250")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args()

    from alveoflow.compiler.codegen.weights import export_weights, format_table

    with tempfile.TemporaryDirectory(prefix="export_weights_") as tmp:
        build = args.build_dir or build_from_checkpoint(
            args.checkpoint, args.model, Path(tmp), args.platform
        )
        rows = export_weights(build, args.out)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
