"""Sub-commands of the ``alveoflow`` CLI, one module each, listed in the order ``--help`` shows.

A module here defines ``register(subparsers) -> None`` which adds its parser and sets
``func`` (args -> exit code); add the module to ``COMMANDS`` below.
"""

from alveoflow.commands import (
    bench,
    build,
    compile,
    export,
    export_weights,
    info,
    report,
    run,
    synth,
    train,
    verify,
)

COMMANDS: tuple = (
    export,
    compile,
    build,
    run,
    verify,
    info,
    train,
    bench,
    report,
    synth,
    export_weights,
)
