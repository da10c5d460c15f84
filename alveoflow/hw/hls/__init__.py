"""The hand-written HLS C++ template library (``include/*.hpp``) and its testbenches.

Contract:

- ``INCLUDE_DIR`` holds the library; generated code includes ``alveo.hpp`` (namespace
  ``alveo``). Each header documents its semantics, stream formats, memory layouts and the
  config-struct fields it reads.
- ``CSIM_DIR`` holds alveoflow's C-simulation stream model (``hls_stream.h``: bounded,
  blocking FIFOs) and the cooperative scheduler that runs dataflow processes concurrently
  (``af_sim.hpp``, ``af_sim.cpp``, the one source every C-simulation link needs:
  ``SIM_SOURCES``). Vitis HLS never sees this folder; it uses its own ``hls_stream.h``.
- ``hls_include_dirs()`` returns the include directories a C++ compile needs, in search
  order: ours, the stream model (so its ``hls_stream.h`` wins), and the folder with the
  ``ap_int.h`` simulation headers shipped by the hls4ml package. ``find_ap_types()`` locates
  the latter without importing hls4ml and raises ``ToolchainError`` (with the fix) when the
  headers are missing.
- ``gxx_command()`` builds the g++ command line used for C simulation (csim) builds (the
  scheduler source included).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path

from alveoflow.errors import ToolchainError

INCLUDE_DIR = Path(__file__).resolve().parent / "include"
TESTBENCH_DIR = Path(__file__).resolve().parent / "tests"
CSIM_DIR = Path(__file__).resolve().parent / "csim"
SIM_SOURCES: tuple[Path, ...] = (CSIM_DIR / "af_sim.cpp",)

#: Flags for csim builds: pragmas are for Vitis HLS and mean nothing to g++; the ap_private
#: internals trigger uninitialized-value warnings that are not ours.
CXXFLAGS: tuple[str, ...] = (
    "-std=c++14",
    "-Wall",
    "-Wno-unknown-pragmas",
    "-Wno-uninitialized",
    "-Wno-maybe-uninitialized",
)

_AP_HEADERS = ("ap_int.h", "hls_stream.h")


def find_ap_types() -> Path:
    """Folder with the ``ap_int.h``/``hls_stream.h`` simulation headers from hls4ml."""
    spec = importlib.util.find_spec("hls4ml")  # locates the package without importing it
    locations = list(spec.submodule_search_locations or []) if spec else []
    for base in locations:
        folder = Path(base) / "templates" / "vivado" / "ap_types"
        if all((folder / name).is_file() for name in _AP_HEADERS):
            return folder
    where = ", ".join(locations) if locations else "hls4ml is not installed"
    raise ToolchainError(
        "the ap_int.h / hls_stream.h simulation headers were not found "
        f"(looked in hls4ml's templates/vivado/ap_types; {where}). "
        "Install them with `pip install --no-deps hls4ml` (only the headers are used)."
    )


def hls_include_dirs() -> list[Path]:
    """Include directories for compiling library or generated code, in search order: ours,
    the C-simulation stream model, then ap_types."""
    return [INCLUDE_DIR, CSIM_DIR, find_ap_types()]


def find_cxx(name: str = "g++") -> str:
    """Absolute path of the C++ compiler, or a ``ToolchainError`` that says what to install."""
    path = shutil.which(name)
    if path is None:
        raise ToolchainError(
            f"C++ compiler `{name}` not found on PATH; C simulation needs g++ >= 9 "
            "(e.g. `apt-get install g++`)."
        )
    return path


def gxx_command(
    sources: Sequence[Path | str],
    output: Path | str,
    extra_includes: Sequence[Path | str] = (),
    opt: str = "-O1",
) -> list[str]:
    """The g++ command that builds ``sources`` (plus ``SIM_SOURCES``) into the executable
    ``output``.

    The ap_types folder is passed with ``-isystem`` so warnings from its headers stay quiet.
    """
    ours, csim, ap_types = hls_include_dirs()
    cmd = [find_cxx(), opt, *CXXFLAGS, f"-I{ours}", f"-I{csim}"]
    cmd += [f"-I{inc}" for inc in extra_includes]
    cmd += ["-isystem", str(ap_types), *map(str, sources), *map(str, SIM_SOURCES)]
    return [*cmd, "-o", str(output)]
