"""Where the open-source hardware tools are, read here and nowhere else.

``find_tool(name)`` returns the absolute path of ``verilator`` or ``yosys`` (on ``PATH``, or
the override given to it), ``require_tool(name)`` raises ``ToolchainError`` with the command
that installs the tool when it is missing, and ``tool_version(path)`` returns the tool's
one-line ``--version``/``-V`` text (part of every cache key, so a new tool rebuilds).
``cache_root()`` is the default cache of Verilator models: ``$XDG_CACHE_HOME/alveoflow/rtl``
(``~/.cache/alveoflow/rtl`` when unset).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from alveoflow.errors import ToolchainError

INSTALL_HINT = "run `bash scripts/install_tools.sh` (Debian/Ubuntu: apt-get install {package})"
PACKAGES = {"verilator": "verilator", "yosys": "yosys"}
VERSION_FLAGS = {"verilator": "--version", "yosys": "-V"}


def find_tool(name: str, override: str | os.PathLike[str] | None = None) -> str | None:
    """Absolute path of tool ``name`` (``override`` first: a path or a command name)."""
    if override is not None:
        return shutil.which(str(override))
    return shutil.which(name)


def require_tool(name: str, override: str | os.PathLike[str] | None = None) -> str:
    """Like ``find_tool`` but raises ``ToolchainError`` (saying how to install it) when absent."""
    path = find_tool(name, override)
    if path is None:
        where = f" at {override}" if override is not None else " on PATH"
        hint = INSTALL_HINT.format(package=PACKAGES.get(name, name))
        raise ToolchainError(f"{name} was not found{where}; {hint}")
    return path


@functools.cache
def tool_version(path: str) -> str:
    """First line of the tool's version text, e.g. 'Verilator 5.006 2023-01-22 rev ...'."""
    name = Path(path).name
    flag = VERSION_FLAGS.get(name, "--version")
    try:
        done = subprocess.run([path, flag], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"`{path} {flag}` failed: {exc}") from exc
    lines = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ToolchainError(f"`{path} {flag}` failed (exit {done.returncode})")
    return lines[0].strip()


def cache_root() -> Path:
    """Default folder for cached Verilator builds."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "alveoflow" / "rtl"


def tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a log, for error messages."""
    return "\n".join(text.splitlines()[-lines:])
