"""Read and write IDX files, the container format of MNIST and Fashion-MNIST.

Layout (all integers big-endian): two zero bytes, one byte for the element type, one byte
for the number of dimensions ``n``, ``n`` uint32 sizes, then the elements in C order.
Files may be gzip-compressed; compression is detected from the content, not the name.

Contract: :func:`read_idx` returns a numpy array of the stored type and shape (native byte
order) or raises :class:`~alveoflow.errors.DataError` naming the file and the problem
(bad magic, unknown type code, zero dimensions, short or over-long payload, broken gzip).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from alveoflow.errors import DataError

# IDX element type codes -> big-endian numpy dtypes.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The decompressed content of ``path`` (gzip detected from its first two bytes)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    except OSError as err:
        raise DataError(f"cannot read IDX file {path}: {err}") from err
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(
            f"{path} is a damaged or truncated gzip file ({err}); "
            "delete it and reinstall or re-copy the data set"
        ) from err


def _parse_header(data: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, payload offset) from an IDX header, checking every field."""
    if len(data) < 4:
        raise DataError(f"{path} is too short to be an IDX file ({len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DataError(f"{path} is not an IDX file: bad magic number {data[:4].hex()}")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX element type 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares zero dimensions")
    end = 4 + 4 * ndim
    if len(data) < end:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {end} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:end])
    return IDX_DTYPES[code], tuple(int(s) for s in shape), end


def read_idx(path: str | Path) -> np.ndarray:
    """Load an IDX file (plain or gzip) as a numpy array in native byte order."""
    path = Path(path)
    data = _read_bytes(path)
    dtype, shape, offset = _parse_header(data, path)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - offset
    if got != expected:
        kind = "truncated" if got < expected else "has trailing bytes"
        raise DataError(
            f"{path} is {kind}: header shape {shape} needs {expected} payload bytes, "
            f"found {got}; the file is corrupt, reinstall or re-copy it"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``compress`` or the name ends in ``.gz``."""
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        allowed = sorted(map(str, codes))
        raise DataError(f"IDX cannot store dtype {array.dtype}; use one of {allowed}")
    if array.ndim == 0 or array.ndim > 255:
        raise DataError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    code = codes[native]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path
