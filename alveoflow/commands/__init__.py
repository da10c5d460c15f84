"""Sub-commands of the ``alveoflow`` CLI, one module each, listed in the order ``--help`` shows.

A module here defines ``register(subparsers) -> None`` which adds its parser and sets
``func`` (args -> exit code); add the module to ``COMMANDS`` below.
"""

from alveoflow.commands import bench, compile, export, info, report, run, train

COMMANDS: tuple = (export, compile, run, info, train, bench, report)
