"""Compile a build directory's generated C++ into one shared library, cached by content hash.

``build_library(build_dir, jobs, opt)`` reads ``design.json`` (``cppsim.sources``,
``cppsim.include_dirs`` and ``cppsim.quote_dirs``, the latter passed as ``-iquote`` so that an
IP named like a system header cannot shadow it), compiles every translation unit with g++
(``-O2 -fPIC``; units in parallel, ``jobs`` at a time) into ``<cache>/<unit>-<hash>.o`` and links
``<cache>/libafnet-<hash>.so`` (the cache is outside the build directory, which is only
read). Besides the build's own units it compiles the C-simulation scheduler
(``alveoflow.hw.hls.SIM_SOURCES``), and the stream model folder (``hw.hls.CSIM_DIR``) comes
first on the include path, so every ``hls::stream`` is a bounded FIFO of the simulation.
A unit's hash covers the compiler, the flags, its source and every header it can include
(``hls/include``, ``hls/src/*.h``, its own parameter header, the stream model), so an
unchanged unit is never recompiled and an edited weight header always is. A failing compile
raises ``ToolchainError`` with the log file and its last lines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from alveoflow.errors import ConfigError, ToolchainError
from alveoflow.hw.hls import CSIM_DIR, CXXFLAGS, SIM_SOURCES, find_ap_types, find_cxx
from alveoflow.paths import cache_root

log = logging.getLogger(__name__)
OPT = "-O2 -fvisibility=hidden -fno-semantic-interposition"


@dataclass(frozen=True)
class CompileReport:
    library: Path
    compiled: int  # units compiled now (the rest came from the cache)
    cached: int
    seconds: float


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:24]


def _compiler_id(cxx: str) -> bytes:
    out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.encode()


def load_design(build_dir: Path) -> dict:
    path = build_dir / "design.json"
    if not path.is_file():
        raise ConfigError(
            f"{build_dir} has no generated C++ ({path.name} is missing); is it a build "
            "directory? Recompile it with `alveoflow compile`"
        )
    return json.loads(path.read_text())


def _unit_deps(build_dir: Path, source: Path) -> list[Path]:
    deps = sorted(CSIM_DIR.glob("*.h*"))
    if source.is_relative_to(CSIM_DIR):
        return deps
    deps += sorted((build_dir / "hls" / "include").glob("*"))
    deps += sorted((build_dir / "hls" / "src").glob("*.h"))
    params = build_dir / "hls" / "params" / f"{source.stem}_params.h"
    if params.is_file():
        deps.append(params)
    return deps


def build_library(
    build_dir: str | os.PathLike[str],
    jobs: int | None = None,
    opt: str = OPT,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CompileReport:
    """Compile and link (see the module docstring); ``cache_dir``: where objects are kept
    (default ``$ALVEOFLOW_CACHE/cppsim``; objects are named by content hash, so one cache can
    serve many builds)."""
    root = Path(build_dir).resolve()
    info = load_design(root)["cppsim"]
    cxx = find_cxx()
    flags = [*opt.split(), *CXXFLAGS, "-fPIC", f"-I{CSIM_DIR}"]
    flags += [f"-I{root / d}" for d in info["include_dirs"]]
    for folder in info.get("quote_dirs", []):
        flags += ["-iquote", str(root / folder)]
    flags += ["-isystem", str(find_ap_types())]
    ident = _compiler_id(cxx) + " ".join([opt, *CXXFLAGS]).encode()
    objdir = Path(cache_dir) if cache_dir is not None else cache_root() / "cppsim"
    logdir = objdir / "logs"
    objdir.mkdir(parents=True, exist_ok=True)
    logdir.mkdir(parents=True, exist_ok=True)
    units = []
    for src in [root / s for s in info["sources"]] + list(SIM_SOURCES):
        blobs = [src.read_bytes()] + [p.read_bytes() for p in _unit_deps(root, src)]
        units.append((src, objdir / f"{src.stem}-{_digest(ident, *blobs)}.o"))
    todo = [(s, o) for s, o in units if not o.is_file()]
    start = time.perf_counter()
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    if todo:
        log.info("cppsim: compiling %d of %d units with %d jobs", len(todo), len(units), workers)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda u: _compile(cxx, flags, u[0], u[1], logdir), todo))
    lib = objdir / f"libafnet-{_digest(*(o.name.encode() for _, o in units))}.so"
    if not lib.is_file():
        _run(
            [cxx, "-shared", "-o", str(lib) + f".{os.getpid()}.tmp", *(str(o) for _, o in units)],
            logdir / "link.log",
            "linking the cppsim library",
        )
        os.replace(str(lib) + f".{os.getpid()}.tmp", lib)
    return CompileReport(lib, len(todo), len(units) - len(todo), time.perf_counter() - start)


def _compile(cxx: str, flags: list[str], src: Path, obj: Path, logdir: Path) -> None:
    tmp = obj.with_suffix(f".o.{os.getpid()}.tmp")
    _run(
        [cxx, *flags, "-c", str(src), "-o", str(tmp)],
        logdir / f"{src.stem}.log",
        f"compiling {src.name}",
    )
    os.replace(tmp, obj)


def _run(cmd: list[str], log_path: Path, what: str) -> None:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    log_path.write_text(" ".join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ToolchainError(f"g++ failed {what}", str(log_path), tail)
    log.info("cppsim: %s took %.1f s", what, time.perf_counter() - t0)
