"""Yosys runs: in parallel, largest first, cached by content.

A ``Job`` is one Yosys run with a content key. ``run_jobs(jobs, n)`` runs them ``n`` at a
time behind a progress bar; a result is cached under ``<cache_root>/yosys/<hash>.json``
(``hw.rtl.tools.cache_root``), the hash taken over the Yosys version, the RTL library's
sources, the flow and the job's key, so running ``alveoflow synth`` again, or on another
design sharing configurations, runs nothing twice. Two kinds of job:

- ``instance_job``: one ``hw.rtl`` instance out of context, behind its wiring-only ``af_top``
  wrapper (``instance.wrapper_sv``), in ``workdir/<key>``, removed when it succeeds;
- ``sources_job``: module ``top`` of generated sources (no wrapper), in the folder its
  ``$readmemh`` paths are relative to.

Both run ``synth_sources``: the flow of ``hw.rtl.yosys`` (``synth_xilinx -family xcup
-flatten ...``, the flow of the calibration sweeps) and its cell counting, except that by
default the dot products (``af_dot``, one per PE row and pixel of an MVAU) keep their
hierarchy (``KEEP``): Yosys synthesises each distinct one once and counts it once per
instance. On a 3072-lane MVAU (PE 16, SIMD 96, MMV 2) that took 37 s of CPU instead of 100 s
for 16,637 LUT instead of 16,425 (+1.3%; FF, CARRY8 and BRAM equal). ``keep=()`` flattens
everything. A failure raises ``ToolchainError`` with the log (its folder is kept).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from alveoflow.errors import ToolchainError
from alveoflow.hw.rtl import tools, yosys
from alveoflow.hw.rtl.instance import (
    TOP,
    Instance,
    library_digest,
    library_files,
    wrapper_sv,
    write_files,
    write_sources,
)

Counts = dict[str, float]
KEEP = ("af_dot",)  # modules synthesised once per distinct parameter set (see above)


@dataclass(frozen=True)
class Measured:
    counts: Counts  # yosys.KEYS
    seconds: float  # Yosys' wall time (0 when cached)
    cached: bool


@dataclass(frozen=True)
class Job:
    key: str  # what the result depends on, beyond tool, library and flow
    label: str
    run: Callable[[], tuple[Counts, float]]  # Yosys' counts and seconds
    size: float = 0.0  # expected size: larger jobs start first


def flow(keep: Sequence[str] = KEEP) -> str:
    """The Yosys commands after ``hierarchy`` (kept modules, then ``synth_xilinx``)."""
    kept = "".join(f"setattr -mod -set keep_hierarchy 1 *{m}\n" for m in keep)
    return f"{kept}{yosys.SYNTH}"


def cache_file(key: str, exe: str) -> Path:
    """Where the result of job ``key`` (which names its flow) under Yosys ``exe`` is cached."""
    text = "\n".join([tools.tool_version(exe), library_digest(), key])
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


def _store(path: Path, counts: Counts, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{time.time_ns()}")
    tmp.write_text(json.dumps({**counts, "seconds": round(seconds, 2)}))
    tmp.replace(path)


def _measure(job: Job, exe: str, use_cache: bool) -> Measured:
    path = cache_file(job.key, exe)
    hit = _cached(path) if use_cache else None
    if hit is not None:
        return hit
    counts, seconds = job.run()
    _store(path, counts, seconds)
    return Measured(counts, seconds, False)


def run_jobs(
    jobs: Sequence[Job], n: int = 1, use_cache: bool = True, progress: bool = True
) -> dict[str, Measured]:
    """Every job measured (key -> result), ``n`` Yosys runs at a time, largest first."""
    from tqdm import tqdm

    exe = tools.require_tool("yosys")
    unique = {job.key: job for job in jobs}
    ordered = sorted(unique.values(), key=lambda j: -j.size)
    out: dict[str, Measured] = {}
    with (
        ThreadPoolExecutor(max_workers=max(1, n)) as pool,
        tqdm(total=len(ordered), desc="Yosys", unit="run", disable=not progress) as bar,
    ):
        futures = {pool.submit(_measure, job, exe, use_cache): job for job in ordered}
        try:
            for done in as_completed(futures):
                job = futures[done]
                out[job.key] = done.result()
                bar.set_postfix_str(job.label[:40])
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()  # runs not started yet; started ones finish on their own
            raise
    return out


def instance_job(
    key: str,
    inst: Instance,
    workdir: Path,
    timeout: float,
    size: float = 0.0,
    keep: Sequence[str] = KEEP,
) -> Job:
    """A job synthesising ``inst`` out of context in ``workdir/key``."""

    def run() -> tuple[Counts, float]:
        folder = workdir / key
        folder.mkdir(parents=True, exist_ok=True)
        write_files(inst, folder)
        (folder / f"{TOP}.sv").write_text(wrapper_sv(inst))
        generated = [folder / name for name in write_sources(inst, folder)]
        sources = [*library_files(synthesis=True), *generated, folder / f"{TOP}.sv"]
        result = synth_sources(TOP, sources, folder, timeout, keep)
        shutil.rmtree(folder, ignore_errors=True)
        return result

    return Job(f"{key}|{flow(keep)}", inst.label, run, size)


def sources_job(
    key: str,
    top: str,
    sources: Sequence[Path],
    folder: Path,
    timeout: float,
    size: float = 0.0,
    keep: Sequence[str] = KEEP,
) -> Job:
    """A job synthesising module ``top`` of ``sources`` in ``folder`` (``synth_sources``)."""
    run = lambda: synth_sources(top, sources, folder, timeout, keep)  # noqa: E731
    return Job(f"{key}|{flow(keep)}", top, run, size)


def synth_sources(
    top: str,
    sources: Sequence[Path],
    folder: Path,
    timeout: float = 3600.0,
    keep: Sequence[str] = KEEP,
) -> tuple[Counts, float]:
    """Yosys' counts and seconds for module ``top`` of ``sources``, run in ``folder`` (the
    folder the ``$readmemh`` paths are relative to); the top's own ports, no wrapper."""
    exe = tools.require_tool("yosys")
    stat = folder / f"stat_{top}.json"
    script = folder / f"synth_{top}.ys"
    script.write_text(
        f"read_verilog -defer -sv {' '.join(str(p) for p in sources)}\n"
        f"hierarchy -check -top {top}\n"
        f"{flow(keep)} -top {top}\n"
        f"tee -q -o {stat.name} stat -json\n"
    )
    log = folder / f"yosys_{top}.log"
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [exe, "-q", "-l", str(log), "-s", script.name],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"Yosys on {top} ran past {timeout} s", str(log)) from exc
    if done.returncode != 0 or not stat.is_file():
        text = log.read_text() if log.is_file() else done.stdout + done.stderr
        raise ToolchainError(
            f"Yosys could not synthesise {top} (exit {done.returncode})", str(log), tools.tail(text)
        )
    counts = yosys.count_cells(yosys.parse_stat(json.loads(stat.read_text())))
    seconds = time.perf_counter() - start
    for path in (stat, script, log):
        path.unlink(missing_ok=True)
    return {k: counts[k] for k in yosys.KEYS}, seconds
