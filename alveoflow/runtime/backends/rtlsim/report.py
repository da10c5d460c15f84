"""What an RTL simulation measured: frame timing, FIFO occupancy, deadlocks and stalls.

- ``frame_ends(word_cycles, words_per_frame)``: the cycle each frame's last word left, per
  output, and the frame's end (the latest output);
- ``timing(ends, first_in)``: ``latency_cycles`` (the first frame: first input word to last
  output word) and ``cycles_per_frame`` (steady state: the mean interval between frame ends
  after the first, over at least ``MIN_INTERVALS`` intervals; ``None`` with fewer frames);
- ``fifos(probes, peaks, ends)``: each FIFO's depth, peak and final occupancy by stream;
- ``diagnose(...)``: on a run that did not finish, which streams are full and which empty,
  and the one to blame: a full FIFO into a node that waits on another, empty input (a
  reconvergent branch too shallow to hold what the other branch needs to start up);
- ``write_run_json(path, data)``: the run artifact, written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MIN_INTERVALS = 3
TOLERANCE = 0.05  # cycles per frame against the estimate


def frame_ends(word_cycles: Mapping[str, np.ndarray], per_frame: Mapping[str, int]) -> np.ndarray:
    """Per frame, the cycle of the last word of the output that finished it last."""
    ends = [
        np.asarray(cycles, dtype=np.int64)[per_frame[name] - 1 :: per_frame[name]]
        for name, cycles in word_cycles.items()
    ]
    return np.max(np.stack(ends), axis=0) if ends else np.zeros(0, dtype=np.int64)


def timing(ends: np.ndarray, first_in: int) -> dict[str, Any]:
    intervals = np.diff(ends).tolist()
    steady = None
    if len(intervals) >= MIN_INTERVALS:
        steady = float((ends[-1] - ends[0]) / len(intervals))
    return {
        "frames": int(len(ends)),
        "latency_cycles": int(ends[0] - first_in) + 1 if len(ends) else None,
        "cycles_per_frame": steady,
        "frame_intervals": [int(v) for v in intervals],
        "frames_measured": len(intervals),
    }


def fifos(
    probes: Sequence[Mapping[str, Any]], peaks: Mapping[str, int], ends: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    return {
        p["stream"]: {
            "depth": int(p["depth"]),
            "peak": int(peaks.get(p["port"], 0)),
            "end": int(ends.get(p["port"], 0)),
        }
        for p in probes
    }


def diagnose(
    occupancy: Mapping[str, Mapping[str, int]],
    streams: Mapping[str, Mapping[str, Any]],
    stats: Mapping[str, Any],
) -> dict[str, Any]:
    """Why a run stopped before its last output word (see the module docstring)."""
    full = sorted(s for s, f in occupancy.items() if f["end"] >= f["depth"])
    empty = {s for s, f in occupancy.items() if f["end"] == 0}
    culprit = None
    for name in full:
        reader = streams[name]["dst"]
        others = [s for s, info in streams.items() if info["dst"] == reader and s != name]
        if any(o in empty for o in others):
            culprit = name
            break
    kind = "deadlock" if stats.get("deadlock") else "timeout"
    outs = {k: f"{v['words']}/{v['total']}" for k, v in stats.get("outputs", {}).items()}
    message = f"{kind} after {stats.get('cycles')} cycles (output words {outs})"
    if culprit is not None:
        waits = [s for s, i in streams.items() if i["dst"] == streams[culprit]["dst"]]
        message += (
            f": stream {culprit} is full ({occupancy[culprit]['depth']} words) while its "
            f"reader {streams[culprit]['dst']} waits on an empty input "
            f"({', '.join(s for s in waits if s in empty)}); that FIFO is too shallow"
        )
    elif full:
        message += f": full FIFOs {full[:6]}"
    return {
        "kind": kind,
        "cycle": int(stats.get("cycles", 0)),
        "stream": culprit,
        "full": full,
        "empty": sorted(empty),
        "message": message,
    }


def stalls(
    occupancy: Mapping[str, Mapping[str, int]], measured: float | None, estimate: float | None
) -> dict[str, Any] | None:
    """Throughput lost against the estimate: the FIFOs that filled up (their producers were
    held back) are where to look."""
    if measured is None or not estimate or measured <= estimate * (1 + TOLERANCE):
        return None
    filled = sorted(s for s, f in occupancy.items() if f["peak"] >= f["depth"])
    return {
        "cycles_per_frame": measured,
        "estimate_ii_cycles": estimate,
        "slower_by": measured / estimate - 1.0,
        "filled": filled,
        "message": (
            f"{measured:.0f} cycles per frame against an estimate of {estimate:.0f} "
            f"({100 * (measured / estimate - 1):.1f}% slower); FIFOs that filled up: {filled[:8]}"
        ),
    }


def write_run_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (a temporary file renamed into place)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(target)
    return target
