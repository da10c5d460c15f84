"""User files of the ``run``/``bench``/``verify`` commands: read checked, written safely.

- ``load_npy(path, flag)``: one array from a ``.npy`` file, or a one-line ``ConfigError`` for a
  missing file, a folder, an empty or truncated file (``/dev/null``), an ``.npz`` archive, a
  pickled or non-numeric array, or one without a batch dimension.
- ``check_writable(path, flag)``: called *before* any work; the output's folder is created
  when missing, and a file is really created there and removed (permission bits do not bind
  every user, e.g. root, nor read-only mounts), so an unwritable output fails before an hour
  of inference, not after.
- ``write_atomic(path, data)``: a temporary file next to ``path`` then ``os.replace``, so the
  output is either the old file or the whole new one. Files follow the umask.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.errors import ConfigError


def load_npy(path: Path, flag: str = "--input") -> np.ndarray:
    """One batch (N, ...) of numbers from a ``.npy`` file (see the module docstring)."""
    where = f"{flag} {path}"
    if path.is_dir():
        raise ConfigError(f"{where} is a folder; pass a .npy file")
    try:
        data: Any = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except EOFError:
        raise ConfigError(f"{where} is empty; pass a .npy file saved with numpy.save") from None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ConfigError(f"cannot read {where}: {err}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        names = list(data.files)
        data.close()
        raise ConfigError(f"{where} is an .npz archive of {names}; save one array with numpy.save")
    if data.dtype.kind not in "biuf":
        raise ConfigError(f"{where} holds {data.dtype} values; expected numbers")
    if data.ndim < 2 or data.shape[0] == 0:
        raise ConfigError(f"{where} must hold a batch (N, ...), got shape {data.shape}")
    return np.asarray(data)


def check_writable(path: Path, flag: str = "--output") -> None:
    """Refuse an output that cannot be written (see the module docstring)."""
    where = f"{flag} {path}"
    if path.is_dir():
        raise ConfigError(f"{where} is a folder; give a file name")
    above = next((p for p in path.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise ConfigError(f"{where}: {above} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"{where}: cannot create its folder ({err.strerror})") from None
    probe = path.parent / f".{path.name}.{secrets.token_hex(4)}.probe"
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{where}: cannot write in {path.parent} ({err.strerror})") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{where}: the file exists and is read-only")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module docstring)."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write {path}: {err.strerror}") from None


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
