"""``CppSimBackend``: the generated C++ of a build, compiled with g++, run through ctypes.

``CppSimBackend(build_dir, card_graph=None, *, folding="hardware", jobs=None, opt=OPT,
cache_dir=None, fifo_depths=None)`` compiles (or takes from the cache, see ``compile``) the
C++ the build emitted into a shared library with a C ABI (``af_run``, ``af_sim_report``, see
``hls/cppsim/network.cpp``) and implements the backend protocol. ``folding`` picks the
sources:

- ``"hardware"`` (default): the build's own sources (``BUILD/hls``), exactly the design Vitis
  would synthesise: its folding (MMV, wide words, DSP packing), its IPs and its FIFO depths;
- ``"csim"``: the same network refolded so that every word is at most 64 bits
  (``BUILD/cppsim/csim``, emitted when ``BuildConfig.csim_variant`` is set), an option for
  speed.

A run executes the design as hardware does: the DMA movers, every IP, every link converter
and every DATAFLOW call inside an IP are concurrent processes over bounded FIFOs of the
design's depths (``hw/hls/csim``). After each run it writes ``BUILD/cppsim/run.json``
(``runinfo``: every FIFO's depth and peak occupancy, words per IP, time per process,
deadlock) and keeps the record as ``last_run``. A deadlock (every process blocked: a FIFO
shallower than the design needs) raises ``DeviceError`` naming the full FIFOs and the IPs on
both sides. ``fifo_depths`` ({FIFO name as run.json names it: depth}) overrides planned depths
for what-if runs without recompiling (recorded in run.json as ``fifo_overrides``). Compiled
objects stay in ``cache_dir`` (default ``$ALVEOFLOW_CACHE/cppsim``);
run.json is the only file a run writes into the build directory. A folder with
``design.json`` but no manifest (an emitted tree) is used as it is.

Protocol:

- ``run(x)``: ``x`` (N, *card input frame) in the card storage dtype -> ``{card tensor:
  (N, ...) array}`` for every card output (storage dtype; top-k uint32);
- ``run_taps(x)``: the same run, returning every IP's output stream decoded to int64
  arrays (N, ...) by tensor name: the per-block debugging dump;
- ``name`` = "cppsim", ``max_batch`` = None, ``close()``.

``card_graph`` (optional) is only used to check that the build's card outputs are the
ones the caller expects. The external FC weights are the build's ``weights/fc_weights.npy``,
hash-checked against its manifest.
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler import buildfmt
from alveoflow.errors import ConfigError, DeviceError, close_matches
from alveoflow.runtime.backends.cppsim.compile import (
    OPT,
    CompileReport,
    build_library,
    load_design,
)
from alveoflow.runtime.backends.cppsim.runinfo import design_fifos, run_record, write_run_json

_P = ctypes.c_void_p
FOLDINGS = ("hardware", "csim")
CSIM_ROOT = "cppsim/csim"
_RUN_LOCK = threading.Lock()  # one run at a time: a library's scheduler state is global


def sources_for(build_dir: Path, folding: str) -> Path:
    """The folder holding the generated sources to compile."""
    if not (build_dir / buildfmt.MANIFEST).is_file():
        return build_dir  # an emitted tree: use what is there
    if folding == "hardware":
        return build_dir
    root = build_dir / CSIM_ROOT
    if not (root / "design.json").is_file():
        raise ConfigError(
            f"{build_dir} has no C-simulation variant ({CSIM_ROOT}); use folding='hardware' or "
            "recompile with the C-simulation variant (BuildConfig.csim_variant)"
        )
    return root


def _fc_weights(build_dir: Path, info: dict[str, Any]) -> np.ndarray | None:
    fc = info.get("fc")
    if fc is None:
        return None
    if (build_dir / buildfmt.MANIFEST).is_file():
        manifest = buildfmt.read_manifest(build_dir)
        weights = buildfmt.load_fc_weights(manifest, tuple(fc["shape"]))
    else:
        weights = np.load(build_dir / fc["npy"], allow_pickle=False)
    return np.ascontiguousarray(weights.astype(np.int8))


def _dtype(end: dict[str, Any]) -> np.dtype:
    if end["qtype"] == "UINT32" and end["storage_bits"] == 32:
        return np.dtype(np.uint32)
    signed = end["qtype"].startswith("INT") or end["qtype"] == "BIPOLAR"
    return np.dtype(f"{'int' if signed else 'uint'}{end['storage_bits']}")


class CppSimBackend:
    """The cppsim backend (see the module docstring)."""

    name = "cppsim"
    max_batch: int | None = None

    def __init__(
        self,
        build_dir: str | os.PathLike[str],
        card_graph: Any = None,
        *,
        folding: str = "hardware",
        jobs: int | None = None,
        opt: str = OPT,
        cache_dir: str | os.PathLike[str] | None = None,
        fifo_depths: dict[str, int] | None = None,
    ) -> None:
        if folding not in FOLDINGS:
            raise ConfigError(f"cppsim folding must be one of {FOLDINGS}, got {folding!r}")
        self.build_dir = Path(build_dir)
        self.dir = sources_for(self.build_dir, folding)
        self.info = load_design(self.dir)
        if card_graph is not None:
            want = set(card_graph.outputs)
            have = {o["tensor"] for o in self.info["dma"]["outputs"]}
            if want != have:
                raise ConfigError(
                    f"{self.dir}: generated code outputs {sorted(have)} but the card graph has "
                    f"{sorted(want)}; recompile the build"
                )
        self.report: CompileReport = build_library(
            self.dir, jobs=jobs, opt=opt, cache_dir=cache_dir
        )
        self.folding = folding
        self._lib: ctypes.CDLL | None = _load(self.report.library, self.dir)
        self.last_run: dict[str, Any] | None = None
        self.fifo_depths = _checked_depths(self.info, fifo_depths or {})
        self._fc = _fc_weights(self.build_dir, self.info)
        self._in = self.info["dma"]["input"]
        self._outs = self.info["dma"]["outputs"]

    def set_fc_weights(self, weights: np.ndarray) -> None:
        """Run with these external FC weights (int8, the build's shape) from now on."""
        if self._fc is None or weights.shape != self._fc.shape:
            raise ConfigError(f"cppsim: FC weights of shape {weights.shape} do not fit this build")
        self._fc = np.ascontiguousarray(weights.astype(np.int8))

    @property
    def tap_names(self) -> list[str]:
        return [t["tensor"] for t in self.info["taps"]]

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return self._call(x, with_taps=False)[0]

    def run_taps(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every IP output stream of a run, decoded to int64, by tensor name."""
        return self._call(x, with_taps=True)[1]

    def _call(
        self, x: np.ndarray, with_taps: bool
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if self._lib is None:
            raise DeviceError("this cppsim backend was closed")
        arr = np.ascontiguousarray(x, dtype=_dtype(self._in))
        n = arr.shape[0] if arr.ndim > 0 else 0
        if n < 1 or arr[0].size != self._in["frame_elems"]:
            raise ConfigError(
                f"cppsim: input must be (N, {self._in['frame_elems']} elements per frame) of "
                f"{self._in['tensor']}, got shape {arr.shape}"
            )
        outs = [np.zeros((n, *o["shape"][1:]), dtype=_dtype(o)) for o in self._outs]
        out_ptrs = (_P * len(outs))(*(o.ctypes.data for o in outs))
        taps: list[np.ndarray] = []
        tap_ptrs = None
        if with_taps:
            taps = [np.zeros((n, *t["shape"][1:]), dtype=np.int64) for t in self.info["taps"]]
            tap_ptrs = (_P * len(taps))(*(t.ctypes.data for t in taps))
        fc = self._fc.ctypes.data if self._fc is not None else None
        with _RUN_LOCK:
            self._lib.af_sim_clear_depths()
            for fifo, depth in self.fifo_depths.items():
                self._lib.af_sim_set_depth(fifo.encode(), depth)
            start = time.perf_counter()
            status = self._lib.af_run(arr.ctypes.data, n, fc, out_ptrs, tap_ptrs)
            report = json.loads(self._lib.af_sim_report().decode())
        self._record(report, n, time.perf_counter() - start)
        _check(status, self.last_run)
        result = {o["tensor"]: a for o, a in zip(self._outs, outs, strict=True)}
        dumped = {t["tensor"]: a for t, a in zip(self.info["taps"], taps, strict=False)}
        return result, dumped

    def _record(self, report: dict[str, Any], frames: int, wall_s: float) -> None:
        sources = "hls" if self.dir == self.build_dir else CSIM_ROOT
        record = run_record(report, self.info, self.folding, sources, frames, wall_s)
        record["fifo_overrides"] = dict(self.fifo_depths)
        self.last_run = record
        write_run_json(self.build_dir, record)

    def close(self) -> None:
        self._lib = None


def _load(library: Path, sources: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(library))
    if not hasattr(lib, "af_sim_report"):
        raise ConfigError(
            f"{sources}: the generated harness predates concurrent cppsim (no af_sim_report); "
            "recompile the build with `alveoflow compile`"
        )
    lib.af_run.restype = ctypes.c_int
    lib.af_run.argtypes = [_P, ctypes.c_uint, _P, _P, _P]
    lib.af_sim_report.restype = ctypes.c_char_p
    lib.af_sim_report.argtypes = []
    lib.af_sim_set_depth.restype = None
    lib.af_sim_set_depth.argtypes = [ctypes.c_char_p, ctypes.c_uint]
    lib.af_sim_clear_depths.restype = None
    lib.af_sim_clear_depths.argtypes = []
    return lib


def _checked_depths(info: dict[str, Any], depths: dict[str, int]) -> dict[str, int]:
    """``depths`` if every name is a FIFO of the design and every depth a positive int."""
    known = design_fifos(info)
    for name, depth in depths.items():
        if name not in known:
            hint = close_matches(name, known)
            raise ConfigError(f"cppsim: no FIFO {name!r} in this design{hint}")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ConfigError(f"cppsim: FIFO {name!r} needs a depth >= 1, got {depth!r}")
    return dict(depths)


def _check(status: int, record: dict[str, Any] | None) -> None:
    """A clear ``DeviceError`` for a run that did not complete cleanly."""
    record = record or {}
    if status & 4:
        raise DeviceError(record["deadlock"]["message"])
    if status & 8:
        raise DeviceError(f"cppsim run failed in {record.get('error') or 'a process'}")
    left = [f["name"] for f in record.get("fifos", []) if f["left"]]
    if status or left:
        where = f" (words left in {', '.join(left[:5])})" if left else ""
        raise DeviceError(
            f"cppsim run failed (status {status}: a stream held the wrong number of words"
            f"{where}); the generated code and the graph disagree, regenerate it"
        )
