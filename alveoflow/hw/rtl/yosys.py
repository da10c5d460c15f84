"""Out-of-context Yosys synthesis of one ``Instance`` for UltraScale+, and its cell counts.

``synth(inst, workdir=None) -> SynthResult`` runs ``synth_xilinx -family xcup -flatten
-noiopad -noclkbuf -uram -nowidelut`` on ``af_top`` (the instance behind its wiring-only
wrapper, with its ``$readmemh`` files) and parses ``stat -json`` into
``SynthResult.counts``. ``-nowidelut``: with wide LUTs allowed, ABC maps adder trees into
LUT6 + MUXF7/8/9 "LUT7-9" functions at about twice the LUTs of carry-chain adders (a tree of
32 2-bit operands: 237 LUTs and 157 MUXFs against 106 LUTs); Vivado builds adders on carry
chains, which the narrow mapping resembles far better. Counting rules:

- ``lut``: LUT1..LUT6 and INV (a LUT1) cells, one each (Yosys does not pack two small LUTs
  into one LUT6 site as Vivado may, nor absorb inverters into their neighbours, so this
  counts LUT functions, an upper bound on sites; MUXF7/8/9 are not LUTs), plus LUTs used as
  memory: RAM32M/RAM64M and RAM32M16/RAM64M8 (4 and 8 LUTs), RAM32X1D/RAM64X1D (2),
  RAM128X1D (4), RAM256X1S (4), RAM32X1S/RAM64X1S (1), RAM128X1S (2), SRL16E/SRLC32E (1).
  ``lut_logic`` and ``lut_mem`` split the two.
- ``ff``: FDRE, FDSE, FDCE, FDPE (and latches LDCE/LDPE).
- ``carry``: CARRY8 sites; Yosys 0.23 maps adders to CARRY4 even for UltraScale+ (Vivado
  re-targets each to half a CARRY8), so a CARRY4 counts 0.5.
- ``bram36``: RAMB36E2 = 1, RAMB18E2 = 0.5 (two 18K halves make one 36K block).
- ``uram``: URAM288; ``dsp``: DSP48E2.

These are Yosys' counts, not Vivado's; nobody knows by how much they differ until someone
runs Vivado on the same RTL. ``SynthResult`` also keeps the raw cell table, the seconds Yosys
took and the log path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from alveoflow.errors import ToolchainError
from alveoflow.hw.rtl import tools
from alveoflow.hw.rtl.instance import (
    TOP,
    Instance,
    library_files,
    wrapper_sv,
    write_files,
    write_sources,
)

LUTS = {**{f"LUT{i}": 1.0 for i in range(1, 7)}, "INV": 1.0}  # INV is a LUT1
LUT_MEMORY = {
    "RAM32M": 4.0,
    "RAM64M": 4.0,
    "RAM32M16": 8.0,
    "RAM64M8": 8.0,
    "RAM32X1D": 2.0,
    "RAM64X1D": 2.0,
    "RAM128X1D": 4.0,
    "RAM256X1S": 4.0,
    "RAM32X1S": 1.0,
    "RAM64X1S": 1.0,
    "RAM128X1S": 2.0,
    "SRL16E": 1.0,
    "SRLC32E": 1.0,
    "SRLC16E": 1.0,
}
FFS = {"FDRE": 1.0, "FDSE": 1.0, "FDCE": 1.0, "FDPE": 1.0, "LDCE": 1.0, "LDPE": 1.0}
CARRIES = {"CARRY8": 1.0, "CARRY4": 0.5}
BRAMS = {"RAMB36E2": 1.0, "RAMB18E2": 0.5}
KEYS = ("lut", "ff", "carry", "bram36", "uram", "dsp")
SYNTH = "synth_xilinx -family xcup -flatten -noiopad -noclkbuf -uram -nowidelut"
SCRIPT = (
    "read_verilog -defer -sv {sources}\n"
    "hierarchy -check -top {top}\n"
    f"{SYNTH} -top {{top}}\n"
    "tee -q -o stat.json stat -json\n"
)


@dataclass
class SynthResult:
    counts: dict[str, float]  # the KEYS, plus lut_logic and lut_mem
    cells: dict[str, int]
    seconds: float
    log: str = field(default="", repr=False)

    def resources(self) -> dict[str, float]:
        """Just the six resource figures of ``KEYS``."""
        return {k: self.counts[k] for k in KEYS}


def count_cells(cells: dict[str, int]) -> dict[str, float]:
    """The resource figures of a Yosys cell table (see the module docstring)."""

    def total(table: dict[str, float]) -> float:
        return sum(weight * cells.get(name, 0) for name, weight in table.items())

    lut_logic, lut_mem = total(LUTS), total(LUT_MEMORY)
    return {
        "lut": lut_logic + lut_mem,
        "ff": total(FFS),
        "carry": total(CARRIES),
        "bram36": total(BRAMS),
        "uram": float(cells.get("URAM288", 0)),
        "dsp": float(cells.get("DSP48E2", 0)),
        "lut_logic": lut_logic,
        "lut_mem": lut_mem,
    }


def parse_stat(stat: dict) -> dict[str, int]:
    """The cell table of the top module from ``stat -json`` output."""
    modules = stat.get("modules", {})
    if not modules:
        raise ToolchainError("Yosys stat -json has no module")
    design = stat.get("design") or next(iter(modules.values()))
    return {str(k): int(v) for k, v in design.get("num_cells_by_type", {}).items()}


def synth(
    inst: Instance,
    workdir: str | os.PathLike[str] | None = None,
    yosys: str | None = None,
    timeout: float | None = 3600.0,
) -> SynthResult:
    """Synthesise ``inst`` out of context; ``workdir`` keeps the files (else a temp folder)."""
    exe = tools.require_tool("yosys", yosys)
    if workdir is not None:
        folder = Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        return _run(inst, exe, folder, timeout)
    folder = Path(tempfile.mkdtemp(prefix="af_yosys_"))
    try:
        return _run(inst, exe, folder, timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(inst: Instance, exe: str, folder: Path, timeout: float | None) -> SynthResult:
    write_files(inst, folder)
    (folder / "af_top.sv").write_text(wrapper_sv(inst))
    generated = write_sources(inst, folder)
    sources = " ".join([*(str(p) for p in library_files(synthesis=True)), *generated, "af_top.sv"])
    (folder / "synth.ys").write_text(SCRIPT.format(sources=sources, top=TOP))
    log = folder / "yosys.log"
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [exe, "-q", "-l", str(log), "-s", "synth.ys"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"Yosys on {inst.label} ran past {timeout} s", str(log)) from exc
    seconds = time.perf_counter() - start
    stat_path = folder / "stat.json"
    if done.returncode != 0 or not stat_path.is_file():
        text = log.read_text() if log.is_file() else done.stdout + done.stderr
        raise ToolchainError(
            f"Yosys could not synthesise {inst.label} (exit {done.returncode})",
            str(log),
            tools.tail(text),
        )
    cells = parse_stat(json.loads(stat_path.read_text()))
    return SynthResult(count_cells(cells), cells, seconds, str(log))
