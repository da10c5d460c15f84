"""``alveoflow build``: generation into a build directory, the missing-toolchain error, and
a run of the generated Makefile with stand-in Xilinx tools."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from alveoflow.cli import main
from alveoflow.compiler.codegen.toolchain import find_tools
from alveoflow.testing import lowered_cnn, write_build


@pytest.fixture()
def build_dir(tmp_path):
    graph = lowered_cnn(input_size=8, channels=(8, 16))
    return write_build(tmp_path / "b", graph, plan=True, clock_mhz=200.0, csim_variant=False)


def _no_tools(monkeypatch, tmp_path):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for var in ("XILINX_HLS", "XILINX_VIVADO", "XILINX_VITIS"):
        monkeypatch.delenv(var, raising=False)


def test_compile_generated_everything_the_tools_need(build_dir):
    info = json.loads((build_dir / "design.json").read_text())
    assert info["clock_mhz"] == 200.0
    assert (build_dir / "hls" / "src" / "conv0.cpp").is_file()
    assert "create_clock -period 5.0" in (build_dir / "hls/scripts/conv0.tcl").read_text()


def test_missing_tools_say_what_was_generated_and_what_to_run(
    build_dir, monkeypatch, tmp_path, capsys
):
    _no_tools(monkeypatch, tmp_path)
    assert find_tools() == {"vitis_hls": None, "vivado": None, "v++": None}
    assert main(["build", str(build_dir), "--jobs", "3"]) == 2
    err = capsys.readouterr().err
    assert "vitis_hls, vivado, v++ were not found" in err
    assert "hls/src/conv0.cpp" in err and "vivado/ipi.tcl" in err and "Makefile" in err
    assert f"cd {build_dir} && make -j3 all PLATFORM=xilinx_u250" in err


def test_xilinx_root_variables_are_searched(tmp_path):
    root = tmp_path / "Vitis_HLS"
    (root / "bin").mkdir(parents=True)
    tool = root / "bin" / "vitis_hls"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    found = find_tools({"PATH": str(tmp_path / "nothing"), "XILINX_HLS": str(root)})
    assert found["vitis_hls"] == str(tool) and found["vivado"] is None


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_runs_with_tools_present(build_dir, monkeypatch, tmp_path):
    fake = tmp_path / "fake_bin"
    fake.mkdir()
    for name in ("vitis_hls", "vivado", "v++"):
        path = fake / name
        path.write_text('#!/bin/sh\necho "$0 $@"\nexit 0\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ.get('PATH', '')}")
    assert main(["build", str(build_dir), "--target", "ips", "--jobs", "2"]) == 0
    log = (build_dir / "logs" / "make.log").read_text()
    assert "vitis_hls -f scripts/conv0.tcl -tclargs ip" in log
    hls_logs = sorted(p.name for p in (build_dir / "logs").glob("hls_*.log"))
    assert hls_logs == ["hls_conv0.log", "hls_conv1.log", "hls_inoutdma.log", "hls_tail.log"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_a_linked_xclbin_is_recorded_in_the_manifest(build_dir, monkeypatch, tmp_path):
    """After `make all` leaves the xclbin, the manifest names it (and only then)."""
    from alveoflow.compiler.buildfmt import read_manifest

    fake = tmp_path / "fake_bin"
    fake.mkdir()
    for name in ("vitis_hls", "vivado"):
        (fake / name).write_text("#!/bin/sh\nexit 0\n")
    (fake / "v++").write_text(  # writes its -o file, as the linker does
        '#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && touch "$2"; shift; done\nexit 0\n'
    )
    for path in fake.iterdir():
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ.get('PATH', '')}")
    assert read_manifest(build_dir).card.xclbin is None
    assert main(["build", str(build_dir), "--jobs", "2"]) == 0
    card = read_manifest(build_dir).card
    assert card.xclbin is not None and card.xclbin.name.endswith(".xclbin")


def test_not_a_build_dir(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nowhere")]) == 2
    assert "alveoflow compile" in capsys.readouterr().err


def test_help_mentions_the_flow(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    out = capsys.readouterr().out
    assert "--jobs" in out and "Makefile" in out
