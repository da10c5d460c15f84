"""``alveoflow build``: generation into a build directory, the missing-toolchain error, and
a run of the generated Makefile with stand-in Xilinx tools."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from alveoflow.cli import main
from alveoflow.compiler.codegen.toolchain import find_tools
from alveoflow.compiler.folding import plan_folding
from alveoflow.compiler.ir import save_graph
from alveoflow.testing import lowered_cnn


@pytest.fixture()
def build_dir(tmp_path):
    graph = lowered_cnn(input_size=8, channels=(8, 16))
    save_graph(graph, tmp_path, stem="graph")
    plan = plan_folding(graph, "u250", "max", clock_mhz=200.0)
    plan.save(tmp_path / "folding_plan.json")
    return tmp_path


def _no_tools(monkeypatch, tmp_path):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for var in ("XILINX_HLS", "XILINX_VIVADO", "XILINX_VITIS"):
        monkeypatch.delenv(var, raising=False)


def test_generate_only(build_dir, capsys):
    assert main(["build", str(build_dir), "--generate-only"]) == 0
    info = json.loads((build_dir / "codegen.json").read_text())
    assert info["clock_mhz"] == 200.0
    assert (build_dir / "hls" / "src" / "conv0.cpp").is_file()
    assert "create_clock -period 5.0" in (build_dir / "hls/scripts/conv0.tcl").read_text()
    assert "generated" in capsys.readouterr().out


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


def test_not_a_build_dir(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nowhere"), "--generate-only"]) == 2
    assert "alveoflow compile" in capsys.readouterr().err


def test_help_mentions_the_flow(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    out = capsys.readouterr().out
    assert "--generate-only" in out and "--jobs" in out and "Makefile" in out


def test_paths_in_build_dir(build_dir):
    main(["build", str(build_dir), "--generate-only"])
    assert Path(build_dir / "link" / "link.cfg").is_file()
