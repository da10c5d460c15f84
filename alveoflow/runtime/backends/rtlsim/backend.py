"""``RtlSimBackend``: a build's RTL as a cycle-accurate Verilator model behind the backend
protocol.

``RtlSimBackend(build_dir, card_graph=None, *, cache_dir=None, jobs=None, min_frames=4)``
builds (or takes from the cache, ``model``) the model of the network top from the build's
``rtl/`` and runs frames through it: the card input as the DMA's memory words, the external
FC weights (the build's ``weights/fc_weights.npy``, hash-checked against the manifest) on
their stream, every output read back in storage format. Runs are at full speed (no random
back-pressure): a word moves whenever both sides can.

- ``run(x)``: ``x`` (N, *card input frame) in the card storage dtype -> ``{card tensor:
  (N, ...)}``; fewer than ``min_frames`` frames are padded with copies of the last one (their
  results dropped) so that the steady state is measured;
- every run writes ``BUILD/rtlsim/run.json`` (atomically; not a build file):
  ``cycles_per_frame``, ``latency_cycles``, the intervals between frames, each FIFO's depth,
  peak and final occupancy by stream, the estimate's ``ii_cycles`` and whether the
  measurement is within 5% of it, and ``diagnosis`` (a deadlock naming the stream, or a
  stall); a run that did not finish raises ``DeviceError`` with the diagnosis after writing
  it.
- ``name`` = "rtlsim", ``max_batch`` = None, ``close()``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler import buildfmt
from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.backends.rtlsim import frames as F
from alveoflow.runtime.backends.rtlsim import report as R
from alveoflow.runtime.backends.rtlsim.model import (
    RtlSources,
    build_model,
    top_instance,
)

RUN_JSON = "rtlsim/run.json"
IDLE_MIN = 20_000


def estimate_cycles(build_dir: Path) -> tuple[float | None, float | None]:
    """(ii_cycles, latency cycles) of the build's report, when it has one."""
    path = build_dir / "report.json"
    if not path.is_file():
        return None, None
    est = json.loads(path.read_text()).get("estimate", {})
    latency = est.get("latency_ms")
    clock = est.get("clock_mhz", 250.0)
    cycles = None if latency is None else float(latency) * float(clock) * 1e3
    return est.get("ii_cycles"), cycles


def load_fc(build_dir: Path, shape: tuple[int, int]) -> np.ndarray:
    if (build_dir / buildfmt.MANIFEST).is_file():
        manifest = buildfmt.read_manifest(build_dir)
        return np.asarray(buildfmt.load_fc_weights(manifest, shape))
    return np.load(build_dir / "weights" / "fc_weights.npy", allow_pickle=False)


class RtlSimBackend:
    """The rtlsim backend (see the module docstring)."""

    name = "rtlsim"
    max_batch: int | None = None

    def __init__(
        self,
        build_dir: str | os.PathLike[str],
        card_graph: Any = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        jobs: int | None = None,
        min_frames: int = 4,
    ) -> None:
        self.build_dir = Path(build_dir)
        self.src = RtlSources.load(self.build_dir)
        self.design = json.loads((self.build_dir / "design.json").read_text())
        self._outs = [
            dict(o, **d)
            for o, d in zip(self.src.info["outputs"], self.design["dma"]["outputs"], strict=True)
        ]
        if card_graph is not None:
            have = {o["tensor"] for o in self._outs}
            if set(card_graph.outputs) != have:
                raise ConfigError(
                    f"{self.build_dir}: the RTL outputs {sorted(have)} but the card graph has "
                    f"{sorted(card_graph.outputs)}; recompile the build"
                )
        self.min_frames = max(1, int(min_frames))
        start = time.perf_counter()
        self.model = build_model(
            self.src, top_instance(self.src), cache_dir, jobs or os.cpu_count() or 1
        )
        self.build_seconds = time.perf_counter() - start
        self.ii, self.latency = estimate_cycles(self.build_dir)
        fc = self.src.info["inputs"].get("in1")
        self._fc = None if fc is None else load_fc(self.build_dir, tuple(fc["shape"]))
        self.last_run: dict[str, Any] = {}
        self._open = True

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        if not self._open:
            raise DeviceError("this rtlsim backend was closed")
        end = self.design["dma"]["input"]
        dtype = F.storage_dtype(end["qtype"], int(end["storage_bits"]))
        arr = np.ascontiguousarray(x, dtype=dtype)
        n = arr.shape[0] if arr.ndim > 0 else 0
        if n < 1 or arr[0].size != int(end["frame_elems"]):
            raise ConfigError(
                f"rtlsim: input must be (N, {end['frame_elems']} elements per frame) of "
                f"{end['tensor']}, got shape {arr.shape}"
            )
        frames = max(n, self.min_frames)
        padded = np.concatenate([arr] + [arr[-1:]] * (frames - n)) if frames > n else arr
        words, counts = self._stimulus(padded, frames)
        start = time.perf_counter()
        result = self.model.run(
            words, counts, idle=self._idle(), max_cycles=self._max_cycles(frames), cycles=True
        )
        seconds = time.perf_counter() - start
        info = self._report(result, frames, n, seconds)
        if info["diagnosis"] is not None and info["diagnosis"]["kind"] != "stall":
            raise DeviceError(f"rtlsim: {info['diagnosis']['message']} (see {RUN_JSON})")
        outs = {}
        for o in self._outs:
            got = F.output_frames(result.outputs[o["port"]], o, frames)
            outs[o["tensor"]] = got[:n]
        return outs

    def _stimulus(self, x: np.ndarray, frames: int) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        words = {"in0": F.input_words(x, int(self.src.info["inputs"]["in0"]["mem_w"]))}
        if self._fc is not None:
            words["in1"] = F.fc_words(
                self._fc, int(self.src.info["inputs"]["in1"]["lanes"]), frames
            )
        counts = {o["port"]: frames * int(o["frame_bytes"]) // 4 for o in self._outs}
        return words, counts

    def _idle(self) -> int:
        """Cycles without a word on any port before a run counts as deadlocked: long enough
        for the first frame to cross the network."""
        span = (self.latency or 0.0) + (self.ii or 0.0)
        return int(max(IDLE_MIN, 3 * span))

    def _max_cycles(self, frames: int) -> int:
        span = (self.latency or 0.0) + frames * (self.ii or 0.0)
        return int(max(10 * span, 1_000_000))

    def _report(self, result: Any, frames: int, real: int, seconds: float) -> dict[str, Any]:
        stats = result.stats
        occupancy = R.fifos(self.src.info["probes"], stats["probes"], stats["probes_end"])
        per_frame = {o["port"]: int(o["frame_bytes"]) // 4 for o in self._outs}
        info: dict[str, Any] = {"frames": frames, "frames_requested": real}
        if stats["complete"]:
            ends = R.frame_ends(result.word_cycles, per_frame)
            info.update(R.timing(ends, int(stats["inputs"]["in0"]["first"])))
            diagnosis = R.stalls(occupancy, info["cycles_per_frame"], self.ii)
            if diagnosis is not None:
                diagnosis["kind"] = "stall"
        else:
            info.update(latency_cycles=None, cycles_per_frame=None)
            diagnosis = R.diagnose(occupancy, self.src.info["streams"], stats)
        measured = info.get("cycles_per_frame")
        info.update(
            cycles=int(stats["cycles"]),
            fifos=occupancy,
            diagnosis=diagnosis,
            estimate={
                "ii_cycles": self.ii,
                "within_5pct": None
                if measured is None or not self.ii
                else abs(measured / self.ii - 1) <= R.TOLERANCE,
            },
            sim_seconds=round(seconds, 3),
            cycles_per_second=round(stats["cycles"] / seconds, 1) if seconds > 0 else None,
            model_build_seconds=round(self.model.build_seconds, 3),
        )
        R.write_run_json(self.build_dir / RUN_JSON, info)
        self.last_run = info
        return info

    def close(self) -> None:
        self._open = False
