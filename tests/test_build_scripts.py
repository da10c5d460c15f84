"""Build scripts: every generated Tcl file runs under plain tclsh (Xilinx commands stubbed);
kernel.xml, link cfg, floorplan and Makefile carry the design's layout, plan and clock."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from alveoflow.compiler.codegen import emit
from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.physical import build_design
from alveoflow.compiler.pipeline import build
from alveoflow.testing import lowered_cnn, lowered_resnet

STUBS = Path(__file__).resolve().parents[1] / "alveoflow" / "hw" / "scripts" / "xilinx_stubs.tcl"
TCLSH = shutil.which("tclsh")
pytestmark = pytest.mark.skipif(TCLSH is None, reason="tclsh not installed")


@pytest.fixture(scope="module")
def resnet_files():
    result = build(lowered_resnet(depth=50, input_size=64), BuildConfig(csim_variant=False))
    return result.files, result.plan


@pytest.fixture(scope="module")
def cnn_files():
    return emit(build_design(lowered_cnn(input_size=8, channels=(8, 16))))


def run_tcl(root: Path, rel: str, *args: str) -> subprocess.CompletedProcess:
    cwd = root / Path(rel).parent
    if rel.startswith("hls/scripts/"):
        cwd = root / "hls"
    return subprocess.run(
        [TCLSH, str(STUBS), str(root / rel), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(files: dict, root: Path) -> list[str]:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return sorted(f for f in files if f.endswith(".tcl"))


@pytest.mark.parametrize("which", ["cnn", "resnet"])
def test_every_tcl_file_runs_under_tclsh(which, cnn_files, resnet_files, tmp_path):
    files = cnn_files if which == "cnn" else resnet_files[0]
    scripts = write(files, tmp_path)
    assert any(s.startswith("hls/scripts/") for s in scripts)
    assert {
        "vivado/ipi.tcl",
        "vivado/package_kernel.tcl",
        "vivado/gen_xo.tcl",
        "link/floorplan.tcl",
    } <= set(scripts)
    for rel in scripts:
        proc = run_tcl(tmp_path, rel, "ip")
        assert proc.returncode == 0, f"{rel}: {proc.stderr}"


def test_a_tcl_syntax_error_fails(cnn_files, tmp_path):
    write(cnn_files, tmp_path)
    bad = tmp_path / "vivado" / "ipi.tcl"
    bad.write_text(bad.read_text().replace("foreach link $links {", "foreach link $links {{", 1))
    assert run_tcl(tmp_path, "vivado/ipi.tcl").returncode != 0
    typo = tmp_path / "link" / "floorplan.tcl"
    typo.write_text(typo.read_text().replace("foreach cell", "foreachh cell", 1))
    assert run_tcl(tmp_path, "link/floorplan.tcl").returncode != 0


def test_hls_scripts_use_the_part_and_plan_clock(resnet_files):
    files, plan = resnet_files
    tcl = files["hls/scripts/layer2_0.tcl"]
    assert "set_part xcu250-figd2104-2L-e" in tcl
    assert f"create_clock -period {round(1000 / plan.clock_mhz, 3)}" in tcl
    assert "set_top af_layer2_0" in tcl
    make = files["Makefile"]
    for ip in ("stem", "layer1_0", "layer4_2", "tail", "inoutdma"):
        assert f"hls/proj_{ip}/sol1/impl/ip/component.xml:" in make


def test_kernel_xml_has_the_reference_argument_layout(resnet_files):
    root = ET.fromstring(resnet_files[0]["vivado/kernel.xml"])
    kernel = root.find("kernel")
    assert kernel is not None and kernel.get("name") == "resnet50"
    args = {a.get("name"): (a.get("offset"), a.get("port")) for a in kernel.iter("arg")}
    assert args["in"] == ("0x10", "m_axi_gmem0")
    assert args["out"] == ("0x1C", "m_axi_gmem1")
    assert args["weightsmem"] == ("0x28", "m_axi_gmem2")
    assert args["numReps"] == ("0x34", "s_axi_control")


def test_link_cfg_and_floorplan_follow_the_plan(resnet_files):
    files, plan = resnet_files
    cfg = files["link/link.cfg"]
    assert "nk=resnet50:1:resnet50_1" in cfg
    assert "sp=resnet50_1.m_axi_gmem2:PLRAM[0]" in cfg
    assert f"freqHz={int(plan.clock_mhz * 1e6)}:resnet50_1" in cfg
    assert "update_plram_specification" in files["link/setup_plram.tcl"]
    floor = files["link/floorplan.tcl"]
    slr_of_block = plan.slr["layer3.0"]
    line = next(ln for ln in floor.splitlines() if ln.strip().startswith(f"{slr_of_block} {{"))
    assert "layer3_0" in line.split()
    ipi = files["vivado/ipi.tcl"]
    assert ipi.count("alveoflow.org:hls:$top:1.0") == 1 and "{ layer1_0 af_layer1_0 }" in ipi
