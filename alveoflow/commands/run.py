"""``alveoflow run``: run a build directory on a batch of inputs stored as ``.npy``.

The inputs are what the model takes (``AlveoModule``: float tensors in the model's shape, or
integer card codes as the fast path). Every option and file is checked before inference
(``commands.files``): the input is read and validated, the output's folder is created and
proven writable; the logits are then written atomically (the old file or the whole new one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a build on inputs from a .npy file and save the logits",
        description=(
            "Run BUILD_DIR on the inputs in --input (a .npy holding what the original model "
            "takes: float tensors of its shape, e.g. NCHW pixels 0..255 for a pixel model; "
            "or integer card codes, e.g. uint8 NHWC pixels, as a fast path) and write the "
            "float32 logits to --output. Prints the number of images, the time, images/s and "
            "a histogram of the top-1 classes."
        ),
    )
    parser.add_argument("build_dir", type=Path, help="build directory (has manifest.json)")
    parser.add_argument("--input", type=Path, required=True, help="inputs, a .npy file")
    parser.add_argument("--output", type=Path, required=True, help="where to write the logits")
    parser.add_argument(
        "--backend",
        default="sim",
        help="sim (bit-exact reference, default), cppsim, xrt, alveo, emulated, "
        "emulated-xrt or auto",
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="images per backend call (default 64)"
    )
    parser.add_argument(
        "--device", default="auto", help="sim backend device: auto, cpu or cuda (default auto)"
    )
    parser.add_argument(
        "--round-input",
        action="store_true",
        help="round input off its grid (pixels that are not whole numbers, input off a "
        "declared --input-quant grid) instead of refusing it",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from alveoflow.commands.files import check_writable, load_npy, npy_bytes, write_atomic
    from alveoflow.errors import ConfigError
    from alveoflow.runtime.module import AlveoModule

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    x = load_npy(args.input, "--input")
    check_writable(args.output, "--output")
    with AlveoModule(
        args.build_dir, args.backend, sim_device=args.device, round_input=args.round_input
    ) as module:
        if module.build.plan.output("logits") is None:
            raise ConfigError(f"{args.build_dir} has no logits output to write")
        start = time.perf_counter()
        parts = [
            module(torch.from_numpy(np.ascontiguousarray(x[i : i + args.batch_size])))
            for i in range(0, x.shape[0], args.batch_size)
        ]
        seconds = time.perf_counter() - start
        backend = module.backend_name
    logits = torch.cat(parts).numpy().astype(np.float32, copy=False)
    write_atomic(args.output, npy_bytes(logits))
    summary = _summary(logits, seconds, backend, args.output)
    if args.json:
        print(json.dumps(summary))
    else:
        _print(summary)
    return 0


def _summary(logits, seconds: float, backend: str, output: Path) -> dict:
    import numpy as np

    top1 = np.argmax(logits, axis=1)
    classes, counts = np.unique(top1, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:10]
    return {
        "images": int(logits.shape[0]),
        "backend": backend,
        "seconds": round(seconds, 4),
        "images_per_s": round(logits.shape[0] / seconds, 2) if seconds > 0 else None,
        "top1_histogram": {int(classes[i]): int(counts[i]) for i in order},
        "output": str(output),
    }


def _print(summary: dict) -> None:
    out = sys.stdout
    print(
        f"{summary['images']} images on {summary['backend']} in {summary['seconds']:.3f} s "
        f"({summary['images_per_s']} img/s); logits -> {summary['output']}",
        file=out,
    )
    hist = ", ".join(f"{c}: {n}" for c, n in summary["top1_histogram"].items())
    print(f"top-1 classes (most frequent first, up to 10): {hist}", file=out)
