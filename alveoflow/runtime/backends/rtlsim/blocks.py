"""Each IP of a build simulated alone: bit-exactness and cycles per frame, block by block.

``simulate_blocks(build_dir, x, ...)`` runs the card graph on the reference executor (every
intermediate tensor kept), builds a Verilator model of each IP module (``model.ip_instance``;
``jobs`` builds at a time, cached like the network's), feeds each IP the reference tensors on
its input ports at full speed (the external FC weights on ``fcw``), and compares every output
port with the reference. A block's ``cycles_per_frame`` is its steady state (frames of ``x``,
at least ``MIN_INTERVALS`` + 1), its ``estimate`` the slowest of its nodes in ``report.json``
(a block alone runs as fast as its own bottleneck), so a large network's cycle model is held
to the RTL one block at a time. Returns ``{ip: BlockResult}`` in design order.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.ir import QType
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.runtime.backends.rtlsim import frames as F
from alveoflow.runtime.backends.rtlsim import report as R
from alveoflow.runtime.backends.rtlsim.backend import load_fc
from alveoflow.runtime.backends.rtlsim.model import RtlSources, build_models, ip_instance
from alveoflow.runtime.build import open_build


@dataclass(frozen=True)
class BlockResult:
    ip: str
    bit_exact: bool
    mismatched: tuple[str, ...]  # output tensors that differ from the reference
    cycles_per_frame: float | None
    estimate: float | None
    latency_cycles: int | None
    complete: bool
    build_seconds: float
    run_seconds: float
    cycles: int

    @property
    def within(self) -> bool | None:
        """Cycles per frame within ``report.TOLERANCE`` of the block's estimate."""
        if self.cycles_per_frame is None or not self.estimate:
            return None
        return abs(self.cycles_per_frame / self.estimate - 1) <= R.TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"within_5pct": self.within}


def block_estimates(build_dir: Path) -> dict[str, float]:
    """The slowest node of each IP, from the build's report."""
    report = json.loads((build_dir / "report.json").read_text())
    out: dict[str, float] = {}
    for layer in report.get("layers", []):
        ip = layer.get("ip")
        if ip:
            out[ip] = max(out.get(ip, 0.0), float(layer["cycles"]))
    return out


def simulate_blocks(
    build_dir: str | os.PathLike[str],
    x: np.ndarray,
    *,
    ips: list[str] | None = None,
    jobs: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, BlockResult]:
    root = Path(build_dir)
    src = RtlSources.load(root)
    card = open_build(root).plan.card_graph
    ref = run_graph(card, {card.inputs[0].name: x}, keep_intermediates=True)
    names = ips or [ip["name"] for ip in src.info["ips"]]
    models = build_models(src, [ip_instance(src, n) for n in names], cache_dir, jobs)
    estimates = block_estimates(root) if (root / "report.json").is_file() else {}
    fc = src.info["inputs"].get("in1")
    weights = None if fc is None else load_fc(root, tuple(fc["shape"]))
    results = {}
    for name, model in zip(names, models, strict=True):
        results[name] = _run_block(src, name, model, ref, x.shape[0], weights, estimates)
        results[name] = _with_build(results[name], model.build_seconds)
    return results


def _port_stream(src: RtlSources, port: dict[str, Any]) -> tuple[QType, int, int]:
    """(element type, lanes, slices) of the stream on an IP port."""
    stream = src.info["streams"][port["stream"]]
    return QType.parse(stream["qtype"]), int(port["lanes"]), int(stream["slices"])


def _run_block(
    src: RtlSources,
    name: str,
    model: Any,
    ref: dict[str, np.ndarray],
    frames: int,
    weights: np.ndarray | None,
    estimates: dict[str, float],
) -> BlockResult:
    ip = src.ip(name)
    words: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    per_frame: dict[str, int] = {}
    for port in ip["ports"]:
        if port["name"] == "fcw":
            assert weights is not None
            words["fcw"] = F.fc_words(weights, int(src.info["inputs"]["in1"]["lanes"]), frames)
            continue
        qtype, lanes, slices = _port_stream(src, port)
        values = np.asarray(ref[port["tensor"]])
        if port["direction"] == "in":
            words[port["name"]] = F.stream_words(values, qtype, lanes, slices)
        else:
            counts[port["name"]] = values.size // lanes
            per_frame[port["name"]] = counts[port["name"]] // frames
    span = max(estimates.values(), default=0.0)
    start = time.perf_counter()
    run = model.run(words, counts, idle=int(max(50_000, 4 * span)), cycles=True)
    seconds = time.perf_counter() - start
    mismatched = []
    for port in ip["ports"]:
        if port["direction"] != "out":
            continue
        qtype, lanes, slices = _port_stream(src, port)
        want = np.asarray(ref[port["tensor"]])
        got_words = run.outputs[port["name"]]
        if len(got_words) * lanes != want.size:
            mismatched.append(port["tensor"])
            continue
        got = F.stream_values(got_words, qtype, lanes, want.shape, slices)
        if not np.array_equal(got, want):
            mismatched.append(port["tensor"])
    complete = bool(run.stats["complete"])
    timing: dict[str, Any] = {"cycles_per_frame": None, "latency_cycles": None}
    if complete and run.word_cycles:
        first = min(int(v["first"]) for v in run.stats["inputs"].values() if v["first"] >= 0)
        timing = R.timing(R.frame_ends(run.word_cycles, per_frame), first)
    return BlockResult(
        ip=name,
        bit_exact=complete and not mismatched,
        mismatched=tuple(mismatched),
        cycles_per_frame=timing["cycles_per_frame"],
        estimate=estimates.get(name),
        latency_cycles=timing["latency_cycles"],
        complete=complete,
        build_seconds=0.0,
        run_seconds=round(seconds, 3),
        cycles=int(run.stats["cycles"]),
    )


def _with_build(result: BlockResult, seconds: float) -> BlockResult:
    return BlockResult(**{**asdict(result), "build_seconds": round(seconds, 3)})
