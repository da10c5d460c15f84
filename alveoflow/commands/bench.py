"""``alveoflow bench``: throughput, latency and (on a card) power per batch size."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PLOT_FORMATS = (".png", ".pdf", ".svg")
CARD_NAMES = ("xrt", "alveo", "emulated", "emulated-xrt")  # backends whose power is sampled


def _int_list(text: str, minimum: int) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < minimum:
        raise argparse.ArgumentTypeError(f"expected integers >= {minimum}, got {text!r}")
    return values


def _batches(text: str) -> list[int]:
    return _int_list(text, 1)


def _devices(text: str) -> list[int]:
    return _int_list(text, 0)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure throughput, latency and card power of a build per batch size",
        description=(
            "Run a build directory on a backend for each batch size and print frames per "
            "second and per-call latency as a table (and JSON with --json). On a card "
            "(backend xrt or alveo, or emulated / emulated-xrt for a dry run) board power "
            "(12V AUX + 12V PEX) and FPGA power (VCCINT) are sampled every 0.1 s from XRT "
            "sysfs / hwmon; --plot "
            "draws FPS and power against batch size."
        ),
    )
    parser.add_argument("build_dir", type=Path, help="build directory (has manifest.json)")
    parser.add_argument(
        "--backend",
        default="auto",
        help="auto (card if present, else sim), sim, cppsim, xrt, alveo, emulated, emulated-xrt",
    )
    parser.add_argument(
        "--batch",
        type=_batches,
        default=[1, 10, 100, 1000],
        help="comma-separated batch sizes (default 1,10,100,1000)",
    )
    parser.add_argument("--reps", type=int, default=10, help="timed calls per batch size")
    parser.add_argument(
        "--devices",
        type=_devices,
        default=None,
        help="card indices to shard each batch over, e.g. 0,1",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG plot here")
    parser.add_argument(
        "--sysfs",
        type=Path,
        default=Path("/sys"),
        help="sysfs root to read power rails from (default /sys)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from alveoflow.commands.files import check_writable, write_atomic
    from alveoflow.errors import ConfigError
    from alveoflow.runtime.bench import bench_module, format_table, plot, to_json
    from alveoflow.runtime.module import AlveoModule
    from alveoflow.runtime.power import PowerSampler, find_rails

    if args.reps < 1:
        raise ConfigError(f"--reps must be >= 1, got {args.reps}")
    if args.plot is not None and args.plot.suffix.lower() not in PLOT_FORMATS:
        raise ConfigError(f"--plot {args.plot}: name a {', '.join(PLOT_FORMATS)} file")
    for flag, path in (("--json", args.json), ("--plot", args.plot)):
        if path is not None:
            check_writable(path, flag)  # before minutes of measurement, not after
    with AlveoModule(
        args.build_dir, args.backend, devices=args.devices, max_batch=max(args.batch)
    ) as module:
        sampler, note = None, ""
        if module.backend_name in CARD_NAMES:
            rails = find_rails(args.sysfs)
            if rails is None:
                note = f"power not measured: no XRT/hwmon power rails under {args.sysfs}"
            else:
                sampler = PowerSampler(rails)
        else:
            note = f"power not measured: backend {module.backend_name!r} is not a card"
        if sampler is not None:
            with sampler:
                rows = bench_module(module, args.batch, args.reps, sampler)
        else:
            rows = bench_module(module, args.batch, args.reps)
        print(f"{args.build_dir}: backend {module.backend_name}, {len(module.backends)} device(s)")
        print(format_table(rows))
        if note:
            print(note)
        result = to_json(
            rows,
            build=str(args.build_dir),
            backend=module.backend_name,
            devices=len(module.backends),
            power_measured=sampler is not None,
            note=note,
        )
    if args.json:
        write_atomic(args.json, json.dumps(result, indent=1).encode())
    if args.plot:
        plot(rows, args.plot, title=f"{args.build_dir.name} on {result['backend']}")
    return 0
