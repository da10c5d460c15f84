"""The mission in three lines: QuantResNet50 -> ``to_alveo()`` -> PyTorch-style inference.

Without a card this runs on the emulated card (the real PYNQ host path: overlay, buffers in
their banks, FC weights in PLRAM, kernel calls) or on the bit-exact ``sim`` backend; with a
card and a linked xclbin in the build directory, ``--backend alveo`` (or ``auto``) uses it.

    python examples/resnet50_to_alveo.py [--checkpoint CK] [--backend emulated] [--images 8]

Without ``--checkpoint`` the weights are random, with BatchNorm statistics calibrated on random
pixels (no weights are ever downloaded). The script checks that the accelerator's top-5 equal
the quantised PyTorch model's and prints both.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="QuantResNet50 checkpoint (.pt)")
    parser.add_argument(
        "--backend", default="emulated", help="emulated, sim, cppsim, alveo or auto"
    )
    parser.add_argument("--images", type=int, default=4, help="random 224x224 images to run")
    parser.add_argument("--build-dir", default=None, help="build directory (default: cache)")
    args = parser.parse_args(argv)

    from alveoflow.qnn import QuantResNet50, calibrate_bn

    if args.checkpoint:
        model = QuantResNet50.from_checkpoint(args.checkpoint).eval()
    else:
        model = calibrate_bn(QuantResNet50(), batches=2, batch_size=1)

    start = time.perf_counter()
    accel = model.to_alveo(backend=args.backend, build_dir=args.build_dir)  # export+compile
    print(f"{accel} ready in {time.perf_counter() - start:.1f} s")

    pixels = torch.randint(0, 256, (args.images, 224, 224, 3), dtype=torch.uint8)  # NHWC
    top5 = accel.topk(pixels, k=5)  # the card's own top-5 (LabelSelect)
    logits = accel(pixels)  # float logits, like the PyTorch model
    with torch.inference_mode():
        expected = model(pixels.permute(0, 3, 1, 2).float())
    same = int((logits.argmax(1) == expected.argmax(1)).sum())
    for i in range(args.images):
        print(f"image {i}: accelerator top-5 {top5[i].tolist()}, "
              f"PyTorch top-5 {expected[i].topk(5).indices.tolist()}")
    print(f"top-1 agrees on {same}/{args.images} images")
    accel.close()
    return 0 if same == args.images else 1


if __name__ == "__main__":
    sys.exit(main())
