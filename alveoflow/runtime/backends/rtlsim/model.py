"""Verilator models of a build's RTL (``BUILD/rtl``, written by the compiler's ``emit``).

``RtlSources.load(build_dir)`` reads ``rtl/rtl.json`` and the files it names (the runtime only
reads the build directory). ``top_instance`` and ``ip_instance`` describe the network top
(``afn_top``) and one IP module as ``alveoflow.hw.rtl.instance.Instance`` s, so the library's
runner builds them (``alveoflow.hw.rtl.verilator.build``: cached by content hash, the
``$readmemh`` files read when a run starts, so new weights reuse a model) and plays their
streams through its harness. ``build_model`` builds one of them into the cache
(``alveoflow.paths.cache_root() / "rtlsim"``); ``build_models`` builds several at once,
``jobs`` in parallel (one per IP of a large network).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alveoflow.errors import ConfigError
from alveoflow.hw.rtl.instance import Instance, Stream
from alveoflow.hw.rtl.verilator import Model, build
from alveoflow.paths import cache_root

MANIFEST = "rtl/rtl.json"
FORMAT = 1
DEFINES = ("AF_FAST_DOT",)  # the MAC units' simulation datapath (same results, small C++)


@dataclass(frozen=True)
class RtlSources:
    """A build's RTL as its ``rtl.json`` describes it."""

    root: Path
    info: dict[str, Any]
    sources: dict[str, str]  # generated module file name -> text
    library: tuple[Path, ...]
    files: dict[str, str]  # $readmemh file -> text

    @staticmethod
    def load(build_dir: str | os.PathLike[str]) -> RtlSources:
        root = Path(build_dir)
        path = root / MANIFEST
        if not path.is_file():
            raise ConfigError(
                f"{root} has no RTL ({MANIFEST} is missing): it was compiled before RTL "
                "generation existed; recompile it with `alveoflow compile`"
            )
        info = json.loads(path.read_text())
        if info.get("format") != FORMAT:
            raise ConfigError(f"{path}: RTL format {info.get('format')} is not {FORMAT}; recompile")
        sources = {Path(rel).name: (root / rel).read_text() for rel in info["sources"]}
        library = tuple(root / rel for rel in info["library"])
        mem = root / info["mem_dir"]
        files = {name: (mem / name).read_text() for name in info["files"]}
        return RtlSources(root, info, sources, library, files)

    def ip(self, name: str) -> dict[str, Any]:
        for ip in self.info["ips"]:
            if ip["name"] == name:
                return dict(ip)
        raise ConfigError(
            f"the build has no IP {name!r}; IPs: {[i['name'] for i in self.info['ips']]}"
        )


def top_instance(src: RtlSources) -> Instance:
    """``afn_top``: in0 (DMA words + tlast), in1 (FC weights, if any), out<k>, every probe."""
    ins = [
        Stream(name, int(port["bits"]), name) for name, port in sorted(src.info["inputs"].items())
    ]
    outs = [Stream(o["port"], int(o["bits"]), o["port"]) for o in src.info["outputs"]]
    probes = [(p["port"], int(p["bits"])) for p in src.info["probes"]]
    return Instance.create(
        src.info["top"],
        {},
        ins,
        outs,
        files=src.files,
        probes=probes,
        label=f"{src.info['kernel']} network",
        sources=src.sources,
    )


def ip_instance(src: RtlSources, name: str) -> Instance:
    """One IP module alone: its stream ports and FIFO probes."""
    ip = src.ip(name)
    ins = [
        Stream(p["name"], int(p["width"]), p["name"]) for p in ip["ports"] if p["direction"] == "in"
    ]
    outs = [
        Stream(p["name"], int(p["width"]), p["name"])
        for p in ip["ports"]
        if p["direction"] == "out"
    ]
    probes = [(p["port"], int(p["bits"])) for p in ip["probes"]]
    module_file = f"{ip['module']}.sv"
    prefix = f"{name}__"
    files = {k: v for k, v in src.files.items() if k.startswith(prefix)}
    return Instance.create(
        ip["module"],
        {},
        ins,
        outs,
        files=files,
        probes=probes,
        label=f"IP {name}",
        sources={module_file: src.sources[module_file]},
    )


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    return Path(override) if override is not None else cache_root() / "rtlsim"


def build_model(
    src: RtlSources, inst: Instance, cache: str | os.PathLike[str] | None = None, jobs: int = 1
) -> Model:
    return build(inst, cache_dir(cache), library=list(src.library), jobs=jobs, defines=DEFINES)


def build_models(
    src: RtlSources,
    insts: Sequence[Instance],
    cache: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
) -> list[Model]:
    """Several models, ``jobs`` Verilator builds at a time (default: the CPU count)."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(insts)))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda inst: build_model(src, inst, cache), insts))
