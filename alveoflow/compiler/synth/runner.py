"""Yosys runs: one per op configuration, in parallel, cached by content.

``synth_configs(instances, workdir, jobs, ...) -> {key: Measured}`` synthesises each instance
out of context (``hw.rtl.yosys.synth``: ``synth_xilinx -family xcup``), ``jobs`` at a time,
largest first, with a progress bar. A result is cached under
``<cache_root>/yosys/<key>.json`` (``hw.rtl.tools.cache_root``) keyed by the Yosys version,
the library's sources, the flow and the configuration, so a second ``alveoflow synth`` of the
same design, or of another design sharing configurations, runs nothing again. A run's files
live in ``workdir/<key>`` and are removed when it succeeds; a failure keeps them and raises
``ToolchainError`` with the log.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from alveoflow.errors import ToolchainError
from alveoflow.hw.rtl import tools, yosys
from alveoflow.hw.rtl.instance import Instance, library_digest, library_files


@dataclass(frozen=True)
class Measured:
    counts: dict[str, float]  # yosys.KEYS
    seconds: float  # Yosys' wall time (0 when cached)
    cached: bool


def cache_file(key: str, exe: str) -> Path:
    """Where the result of configuration ``key`` under Yosys ``exe`` is cached."""
    text = "\n".join([tools.tool_version(exe), library_digest(), yosys.SYNTH, key])
    digest = hashlib.sha256(text.encode()).hexdigest()
    return tools.cache_root() / "yosys" / f"{digest[:32]}.json"


def _cached(path: Path) -> Measured | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Measured({k: float(data[k]) for k in yosys.KEYS}, 0.0, True)
    except (OSError, ValueError, KeyError):
        return None  # a broken cache entry is measured again


def _store(path: Path, counts: Mapping[str, float], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{time.time_ns()}")
    tmp.write_text(json.dumps({**counts, "seconds": round(seconds, 2)}))
    tmp.replace(path)


def measure(
    key: str, inst: Instance, exe: str, workdir: Path, use_cache: bool, timeout: float
) -> Measured:
    """One configuration: from the cache, or synthesised in ``workdir/key``."""
    path = cache_file(key, exe)
    hit = _cached(path) if use_cache else None
    if hit is not None:
        return hit
    folder = workdir / key
    result = yosys.synth(inst, workdir=folder, yosys=exe, timeout=timeout)
    shutil.rmtree(folder, ignore_errors=True)
    counts = result.resources()
    _store(path, counts, result.seconds)
    return Measured(counts, result.seconds, False)


def synth_configs(
    instances: Mapping[str, Instance],
    workdir: Path,
    jobs: int = 1,
    use_cache: bool = True,
    timeout: float = 3600.0,
    order: Mapping[str, float] | None = None,
    progress: bool = True,
) -> dict[str, Measured]:
    """Every configuration of ``instances`` (key -> instance) measured, ``jobs`` Yosys runs at
    a time; ``order`` (key -> expected size) starts the largest first."""
    from tqdm import tqdm

    exe = tools.require_tool("yosys")
    keys = sorted(instances, key=lambda k: -(order or {}).get(k, 0.0))
    out: dict[str, Measured] = {}
    with (
        ThreadPoolExecutor(max_workers=max(1, jobs)) as pool,
        tqdm(total=len(keys), desc="Yosys", unit="cfg", disable=not progress) as bar,
    ):
        futures = {
            pool.submit(measure, k, instances[k], exe, workdir, use_cache, timeout): k for k in keys
        }
        try:
            for done in as_completed(futures):
                key = futures[done]
                out[key] = done.result()
                bar.set_postfix_str(instances[key].label[:40])
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()  # runs not started yet; started ones finish on their own
            raise
    return out


def synth_sources(
    top: str, sources: list[Path], folder: Path, exe: str, timeout: float = 3600.0
) -> Measured:
    """Synthesise module ``top`` of ``sources`` (read with the library) in ``folder``, the
    folder its ``$readmemh`` paths are relative to; no wrapper, the top's own ports."""
    files = [*library_files(), *sources]
    script = yosys.SCRIPT.format(sources=" ".join(str(p) for p in files), top=top)
    (folder / "synth_top.ys").write_text(script)
    log = folder / f"yosys_{top}.log"
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [exe, "-q", "-l", str(log), "-s", "synth_top.ys"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"Yosys on {top} ran past {timeout} s", str(log)) from exc
    stat = folder / "stat.json"
    if done.returncode != 0 or not stat.is_file():
        text = log.read_text() if log.is_file() else done.stdout + done.stderr
        raise ToolchainError(
            f"Yosys could not synthesise {top} (exit {done.returncode})", str(log), tools.tail(text)
        )
    counts = yosys.count_cells(yosys.parse_stat(json.loads(stat.read_text())))
    stat.unlink()
    return Measured({k: counts[k] for k in yosys.KEYS}, time.perf_counter() - start, False)
