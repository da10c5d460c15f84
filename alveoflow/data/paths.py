"""Where data sets live on disk: the one place that reads ``ALVEOFLOW_DATA``.

A data set called ``name`` is looked for in each data root, first in ``<root>/<name>/`` and
then in ``<root>/`` itself. Roots, in order: an explicit ``root`` argument (then nothing
else), the ``ALVEOFLOW_DATA`` environment variable (several folders joined with ``os.pathsep``
are allowed), then the system folders Debian data packages install into.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "ALVEOFLOW_DATA"
SYSTEM_DATA_ROOTS: tuple[Path, ...] = (
    Path("/usr/share/datasets"),
    Path("/usr/local/share/datasets"),
)


def data_roots(root: str | Path | None = None) -> list[Path]:
    """The folders to search, in priority order (only ``root`` when it is given)."""
    if root is not None:
        return [Path(root).expanduser()]
    roots: list[Path] = []
    env = os.environ.get(DATA_ENV_VAR, "")
    roots += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    roots += list(SYSTEM_DATA_ROOTS)
    return roots


def candidate_dirs(name: str, root: str | Path | None = None) -> list[Path]:
    """Every folder that may hold data set ``name``, in search order."""
    dirs: list[Path] = []
    for base in data_roots(root):
        dirs += [base / name, base]
    return dirs
