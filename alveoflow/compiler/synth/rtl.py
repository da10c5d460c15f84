"""The build's generated RTL (``BUILD/rtl``, described by ``rtl/rtl.json``) as Yosys jobs.

``rtl_jobs(manifest, scratch, timeout)`` copies ``rtl/`` into ``scratch`` (Yosys writes its
files next to the ``$readmemh`` files, which are named relative to ``rtl/mem``) and returns:

- one job per IP: its module (``afn_<ip>``: its nodes, the FIFOs of the streams inside it, the
  converters it owns) synthesised whole with the library copy ``rtl/lib``;
- one job ``LINKS``: the network top with every IP module replaced by a black box (a stub
  with the module's ports): the FIFOs and converters on the streams between IPs and the DMA
  ends.

``None`` when the build has no generated RTL. A job's key hashes the texts it reads (the
library copy, the module, its ``$readmemh`` files), so a rebuilt but identical IP is cached.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alveoflow.compiler import buildfmt
from alveoflow.compiler.synth.runner import Job, sources_job
from alveoflow.hw.rtl.instance import SIMULATION_ONLY

RTL_JSON = "rtl/rtl.json"
LINKS = "links"  # the job of the network top without its IPs
_HEADER = re.compile(r"^\s*module\s+(\w+)\s*(\(.*?\));", re.MULTILINE | re.DOTALL)


def _digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


def _mem_texts(source: str, mem_dir: Path) -> list[str]:
    """The ``$readmemh`` files a module's text names (generated names are unique)."""
    return [p.read_text() for p in sorted(mem_dir.glob("*.memh")) if p.name in source]


def blackbox_stub(text: str, module: str) -> str:
    """A black-box module with the ports of ``module`` as defined in ``text``."""
    for name, ports in _HEADER.findall(text):
        if name == module:
            return f"(* blackbox *)\nmodule {name} {ports};\nendmodule\n"
    raise ValueError(f"module {module} not found")


def read_rtl_json(manifest: buildfmt.Manifest) -> dict[str, Any] | None:
    """``rtl/rtl.json`` of a build (checked against the manifest), or None."""
    if RTL_JSON not in manifest.files:
        return None
    return json.loads(buildfmt.verified(manifest, RTL_JSON).read_text())


def rtl_jobs(
    manifest: buildfmt.Manifest,
    scratch: Path,
    timeout: float,
    sizes: dict[str, float],
    keep: Sequence[str],
) -> dict[str, Job] | None:
    """IP (or ``LINKS``) -> its Yosys job (see the module docstring); ``sizes`` orders them."""
    info = read_rtl_json(manifest)
    if info is None:
        return None
    root = manifest.build_dir
    shutil.copytree(root / "rtl", scratch / "rtl")
    lib = [scratch / rel for rel in synthesis_library(info)]
    lib_texts = [p.read_text() for p in lib]
    mem_dir = scratch / info["mem_dir"]
    jobs: dict[str, Job] = {}
    stubs: list[str] = []
    for ip in info["ips"]:
        path = scratch / "rtl" / f"{ip['module']}.sv"
        text = path.read_text()
        key = "rtl-ip:" + _digest([*lib_texts, text, *_mem_texts(text, mem_dir)])
        size = sizes.get(ip["name"], 0.0)
        sources = [*lib, path]
        jobs[ip["name"]] = sources_job(key, ip["module"], sources, mem_dir, timeout, size, keep)
        stubs.append(blackbox_stub(text, ip["module"]))
    stub_file = scratch / "rtl" / "ip_blackboxes.sv"
    stub_file.write_text("".join(stubs))
    top = scratch / "rtl" / f"{info['top']}.sv"
    top_text = top.read_text()
    key = "rtl-links:" + _digest([*lib_texts, *stubs, top_text])
    sources = [*lib, stub_file, top]
    jobs[LINKS] = sources_job(key, info["top"], sources, mem_dir, timeout, 0.0, keep)
    return jobs


def synthesis_library(info: dict[str, Any]) -> list[str]:
    """The library files of ``rtl.json`` that synthesis reads (simulation-only ones left out)."""
    return [rel for rel in info["library"] if Path(rel).name not in SIMULATION_ONLY]
