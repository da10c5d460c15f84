"""The HLS C++ template library: every C++ testbench compiles with g++ and passes.

Each ``alveoflow/hw/hls/tests/tb_*.cpp`` builds random inputs (seeded), runs one component
of the library and compares it element by element with a naive golden model written in the
testbench; it exits non-zero and prints the first mismatch on any difference, and checks that
every stream was read to the end. The builds run two at a time (the machine has two cores).
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from alveoflow.errors import ToolchainError
from alveoflow.hw import hls

TESTBENCHES = sorted(hls.TESTBENCH_DIR.glob("tb_*.cpp"))
STREAM_WARNINGS = ("read while empty", "leftover data")
# Testbenches also built with ALVEO_NO_FAST_PATHS: the synthesisable code itself against the
# golden model (the default build runs the C-simulation fast paths where there are some).
REFERENCE = ("tb_mvau",)
NO_FAST = "-DALVEO_NO_FAST_PATHS"


def _build(source: Path, out_dir: Path, defines: tuple[str, ...] = ()) -> tuple[Path, str]:
    exe = out_dir / (source.stem + ("_ref" if defines else ""))
    cmd = hls.gxx_command([source], exe)
    proc = subprocess.run([cmd[0], *defines, *cmd[1:]], capture_output=True, text=True)
    return exe, proc.stderr if proc.returncode else ""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    out_dir = tmp_path_factory.mktemp("hls_tb")
    jobs = [(src.stem, src, ()) for src in TESTBENCHES]
    jobs += [(f"{name}_ref", hls.TESTBENCH_DIR / f"{name}.cpp", (NO_FAST,)) for name in REFERENCE]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: _build(job[1], out_dir, job[2]), jobs)
        return {job[0]: res for job, res in zip(jobs, results, strict=True)}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [tb.stem for tb in TESTBENCHES] + [f"{name}_ref" for name in REFERENCE]
)
def test_testbench_passes(built: dict[str, tuple[Path, str]], name: str) -> None:
    exe, errors = built[name]
    assert not errors, f"{name} failed to compile:\n{errors[-4000:]}"
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{name} failed:\n{log[-4000:]}"
    assert not any(w in log for w in STREAM_WARNINGS), f"{name} misused a stream:\n{log}"
    assert re.search(r"\] ok \(0 errors\)", log), f"{name} reported no passing case:\n{log}"


def test_every_header_has_a_testbench() -> None:
    included = {
        h for tb in TESTBENCHES for h in re.findall(r'#include "(alveo\w*\.hpp)"', tb.read_text())
    }
    headers = {p.name for p in hls.INCLUDE_DIR.glob("alveo*.hpp")} - {"alveo_common.hpp"}
    assert headers, "no headers found"
    assert not headers - included, f"headers no testbench includes: {headers - included}"


def test_include_dirs_hold_the_headers() -> None:
    ours, csim, ap_types = hls.hls_include_dirs()
    assert (ours / "alveo.hpp").is_file()
    assert (csim / "hls_stream.h").is_file() and (csim / "af_sim.hpp").is_file()
    assert (ap_types / "ap_int.h").is_file()
    assert all(p.is_file() for p in hls.SIM_SOURCES)


def test_stream_model_is_never_synthesised() -> None:
    """The C-simulation stream model is on g++'s path only: the library reaches it through
    ``hls_stream.h`` alone, and every fast path sits behind ``__SYNTHESIS__``."""
    for header in hls.INCLUDE_DIR.glob("*.hpp"):
        text = header.read_text()
        assert "af_sim.hpp" not in text, header.name
        if "afsim::" in text:
            assert header.name == "alveo_common.hpp", header.name
    fast = (hls.INCLUDE_DIR / "alveo_fastsim.hpp").read_text()
    assert "#ifndef __SYNTHESIS__" in fast.split("namespace alveo", 1)[0]


def test_missing_ap_types_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hls.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolchainError, match="pip install --no-deps hls4ml"):
        hls.find_ap_types()


def test_missing_compiler_is_a_clear_error() -> None:
    with pytest.raises(ToolchainError, match="not found on PATH"):
        hls.find_cxx("no-such-compiler-xyz")
