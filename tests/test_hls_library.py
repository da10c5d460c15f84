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


def _build(source: Path, out_dir: Path) -> tuple[Path, str]:
    exe = out_dir / source.stem
    proc = subprocess.run(hls.gxx_command([source], exe), capture_output=True, text=True)
    return exe, proc.stderr if proc.returncode else ""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    out_dir = tmp_path_factory.mktemp("hls_tb")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda src: _build(src, out_dir), TESTBENCHES)
        return {src.stem: res for src, res in zip(TESTBENCHES, results, strict=True)}


@pytest.mark.slow
@pytest.mark.parametrize("name", [tb.stem for tb in TESTBENCHES])
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
    ours, ap_types = hls.hls_include_dirs()
    assert (ours / "alveo.hpp").is_file()
    assert (ap_types / "ap_int.h").is_file() and (ap_types / "hls_stream.h").is_file()


def test_missing_ap_types_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hls.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolchainError, match="pip install --no-deps hls4ml"):
        hls.find_ap_types()


def test_missing_compiler_is_a_clear_error() -> None:
    with pytest.raises(ToolchainError, match="not found on PATH"):
        hls.find_cxx("no-such-compiler-xyz")
