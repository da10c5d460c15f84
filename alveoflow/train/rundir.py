"""The run folder: refuse to overwrite an earlier run, and fail early when it is not writable.

A run folder holds the files training writes (``RUN_FILES``; a recipe adds ``float/`` and
``final.pt``). :func:`prepare_run_dir` is called before any data is loaded or any epoch is
spent: it creates the folder, proves it is writable with a probe file, and refuses a folder
that already holds a run unless the caller resumes it or asked to overwrite it (then the old
run's files, and only those, are removed so that no stale ``best.pt`` survives).
"""

from __future__ import annotations

import os
from pathlib import Path

from alveoflow.errors import ConfigError

RUN_FILES = ("last.pt", "best.pt", "final.pt", "metrics.csv", "curves.png", "recipe.json")
RUN_DIRS = ("float",)


def existing_run_files(folder: Path) -> list[str]:
    """Names of run files (and run sub-folders) already in ``folder``."""
    names = [name for name in RUN_FILES if (folder / name).is_file()]
    return names + [name for name in RUN_DIRS if (folder / name / "last.pt").is_file()]


def check_writable(folder: Path) -> None:
    """Create ``folder`` and write/remove a probe file; ``ConfigError`` if that fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".alveoflow-write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise ConfigError(
            f"run folder {folder} is not writable ({err.strerror or err}); choose another --out"
        ) from None


def prepare_run_dir(out_dir: str | Path, resume: bool, overwrite: bool) -> Path:
    """Check ``out_dir`` before training (see the module docstring); returns it as a Path."""
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"run folder {folder} exists and is not a folder")
    found = existing_run_files(folder) if folder.is_dir() else []
    if found and not resume and not overwrite:
        raise ConfigError(
            f"{folder} already holds a training run ({', '.join(found)}); "
            "pass --resume to continue it or --force to overwrite it"
        )
    check_writable(folder)
    if found and overwrite and not resume:
        remove_run_files(folder)
    return folder


def remove_run_files(folder: Path) -> None:
    """Delete the files a run writes (never anything else in ``folder``)."""
    for name in RUN_FILES:
        (folder / name).unlink(missing_ok=True)
        (folder / f"{name}.tmp").unlink(missing_ok=True)
    for name in RUN_DIRS:
        sub = folder / name
        if sub.is_dir():
            remove_run_files(sub)
            if not any(sub.iterdir()):
                sub.rmdir()
