"""What one cppsim run did: ``BUILD/cppsim/run.json`` and the deadlock message.

``run_record(report, info, folding, sources, frames, wall_s)`` turns the scheduler's JSON
statistics (``af_sim_report()``, see ``hw/hls/csim/af_sim.hpp``) into the run record::

    {"folding": "hardware" | "csim", "sources": "hls" | "cppsim/csim", "frames": N,
     "deadlock": false | {"message", "blocked": [...]}, "error": "",
     "wall_s", "sim_s", "switches",
     "fifos": [{"name", "depth", "peak", "words", "left", "kind", "ip", "src", "dst",
                "writer", "reader"}],
     "ips": [{"name", "seconds", "words_in", "words_out"}],
     "processes": [{"name", "calls", "blocks", "seconds"}]}

A FIFO's ``name`` is the design's stream name for a link between IPs (or to the DMA), and
``<ip>/<stream>`` for a FIFO inside an IP (``kind`` "link", "stream": a stream of the design,
or "helper": a converter's or a library function's own FIFO); ``src``/``dst`` are the design's
producer and consumer nodes where the design has the stream. ``write_run_json`` writes the
record atomically (temporary file, then rename) into ``BUILD/cppsim/``: a run artifact, not
a build file (the manifest does not list it). ``deadlock_message`` names every full FIFO with
the IPs on both sides and what each blocked process waits for.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RUN_DIR = "cppsim"
RUN_JSON = "run.json"
MAX_LISTED = 12  # blocked processes listed in the error message (all are in run.json)


def design_fifos(info: dict[str, Any]) -> dict[str, int]:
    """The design's FIFOs as a run names them (links by stream name, streams inside an IP
    as ``<ip>/<stream>``) with their planned depths."""
    out = {}
    for s in info.get("streams", []):
        name = f"{s['src_ip']}/{s['name']}" if s["kind"] == "internal" else s["name"]
        out[name] = int(s["depth"])
    return out


def _streams(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in info.get("streams", [])}


def _fifo(raw: dict[str, Any], streams: dict[str, dict[str, Any]], links: set[str]) -> dict:
    name = raw["name"]
    ip, _, rest = name.rpartition("/")
    key = name if name in links else (rest if ip else "")
    stream = streams.get(key)
    kind = "link" if name in links else ("stream" if stream is not None else "helper")
    out = {k: raw[k] for k in ("name", "depth", "peak", "words", "left")}
    out.update(kind=kind, ip=ip.split("/")[0] if ip else "")
    out.update(src=stream["src"] if stream else "", dst=stream["dst"] if stream else "")
    out.update(writer=raw["writer"], reader=raw["reader"])
    return out


def _ips(info: dict[str, Any], fifos: list[dict], procs: list[dict]) -> list[dict[str, Any]]:
    streams = _streams(info)
    out = []
    for ip in info.get("ips", []):
        name = ip["name"]
        seconds = sum(p["seconds"] for p in procs if p["name"].split("/")[0] == name)
        words_in = words_out = 0
        for f in fifos:
            s = streams.get(f["name"]) if f["kind"] == "link" else None
            if s is not None and s["dst_ip"] == name:
                words_in += f["words"]
            if s is not None and s["src_ip"] == name:
                words_out += f["words"]
        out.append({"name": name, "seconds": seconds, "words_in": words_in, "words_out": words_out})
    return out


def run_record(
    report: dict[str, Any],
    info: dict[str, Any],
    folding: str,
    sources: str,
    frames: int,
    wall_s: float,
) -> dict[str, Any]:
    """The run record (see the module docstring)."""
    streams = _streams(info)
    links = set(info.get("links", []))
    fifos = [_fifo(f, streams, links) for f in report.get("fifos", [])]
    procs = [dict(p) for p in report.get("processes", [])]
    deadlock: Any = False
    if report.get("deadlock"):
        blocked = report["deadlock"]["blocked"]
        deadlock = {"message": deadlock_message(blocked, fifos), "blocked": blocked}
    return {
        "folding": folding,
        "sources": sources,
        "frames": frames,
        "deadlock": deadlock,
        "error": report.get("error", ""),
        "wall_s": round(wall_s, 4),
        "sim_s": round(float(report.get("seconds", 0.0)), 4),
        "switches": report.get("switches", 0),
        "fifos": fifos,
        "ips": _ips(info, fifos, procs),
        "processes": procs,
    }


def _sides(fifo: dict[str, Any] | None, fallback: dict[str, Any]) -> str:
    """'from <producer> to <consumer>' of a FIFO: the design's nodes and IPs, else the
    processes seen on it."""
    if fifo is not None and fifo["src"]:
        ip = f" (IP {fifo['ip']})" if fifo["ip"] else ""
        return f"from {fifo['src']} to {fifo['dst']}{ip}"
    writer = fallback.get("writer") or "?"
    reader = fallback.get("reader") or "a process that has not read it yet"
    return f"written by {writer}, read by {reader}"


def _root_causes(blocked: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Full FIFOs split into causes and back-pressure. A full FIFO whose reader has not read
    it, or waits to read another FIFO, is too shallow for what its writer must produce first
    (a residual bypass filling while the other branch starts up); a full FIFO whose reader
    waits to write is only held up by the next one."""
    by_process = {b["process"]: b for b in blocked}
    causes, pressure = [], []
    for b in blocked:
        if b["wait"] != "write":
            continue
        reader = by_process.get(b["reader"]) if b["reader"] else None
        if not b["reader"] or (reader is not None and reader["wait"] == "read"):
            causes.append(b)
        else:
            pressure.append(b)
    return causes, pressure


def _cause_text(b: dict[str, Any], fifo: dict[str, Any] | None) -> str:
    reader = (
        f"its reader {b['reader']} waits on another input"
        if b["reader"]
        else "its reader has not read it yet (it waits on another input)"
    )
    return (
        f"FIFO '{b['fifo']}' (depth {b['depth']}) is full, {_sides(fifo, b)}, and {reader}; "
        f"'{b['process']}' waits to write it"
    )


def deadlock_message(blocked: list[dict[str, Any]], fifos: list[dict[str, Any]]) -> str:
    """One paragraph: the FIFOs too shallow for the design (full, their reader waiting on
    another input) with the nodes and IPs on both sides, how many full FIFOs are only
    back-pressure from them, and what the blocked processes wait for."""
    by_name = {f["name"]: f for f in fifos}
    causes, pressure = _root_causes(blocked)
    if not causes:  # no clear cause: every full FIFO
        causes, pressure = causes + pressure, []
    head = "; ".join(_cause_text(b, by_name.get(b["fifo"])) for b in causes)
    if not head:
        head = "no FIFO is full (a process waits for input that never comes)"
    if pressure:
        head += f". {len(pressure)} more full FIFOs are back-pressure from this"
    waits = [b for b in blocked if b["wait"] in ("read", "write")]
    listed = "; ".join(
        f"{b['process']} waits to {b['wait']} '{b['fifo']}' ({b['size']}/{b['depth']} words)"
        for b in waits[:MAX_LISTED]
    )
    more = f"; and {len(waits) - MAX_LISTED} more" if len(waits) > MAX_LISTED else ""
    return (
        f"cppsim deadlock: every process is blocked. {head}. Blocked: {listed}{more}. "
        "A FIFO is shallower than the design needs (or the stream counts disagree); "
        "see cppsim/run.json"
    )


def write_run_json(build_dir: Path, record: dict[str, Any]) -> Path | None:
    """Write ``BUILD/cppsim/run.json`` atomically; a read-only build folder only logs a
    warning (the run itself succeeded). Returns the path written, or None."""
    folder = build_dir / RUN_DIR
    path = folder / RUN_JSON
    tmp = folder / f".{RUN_JSON}.{os.getpid()}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp, path)
    except OSError as err:
        log.warning("cppsim: could not write %s (%s)", path, err)
        tmp.unlink(missing_ok=True)
        return None
    return path
