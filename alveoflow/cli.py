"""The ``alveoflow`` command line.

Each sub-command lives in ``alveoflow/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code. This module only wires them together and turns
``AlveoflowError`` into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from alveoflow import __version__
from alveoflow.commands import COMMANDS
from alveoflow.errors import AlveoflowError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alveoflow",
        description="Compile Brevitas networks into dataflow accelerators for AMD Alveo cards.",
    )
    parser.add_argument("--version", action="version", version=f"alveoflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except AlveoflowError as err:
        print(f"alveoflow {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
