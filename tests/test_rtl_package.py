"""RTL flavour (``hw=rtl``) kernel packaging, checked against what alveoflow did not write:

- the interfaces the packaging Tcl declares (run under tclsh with the Xilinx stubs, every
  call logged) and the RTL kernel XML (xml.etree) equal the ports Yosys reads from the
  generated kernel top, and those ports are the generated ``afn_top``'s (Yosys too);
- the host contract (``vivado/kernel.xml``, ``sp=`` lines) is unchanged: the runtime's own
  contract reader and the emulated card accept the build and compute the reference result;
- the HLS memory mover compiles (g++, with a small ``ap_axi_sdata.h`` stand-in), its
  arguments are kernel.xml's in order, and every ``sc=`` line joins a mover stream to a
  network interface of the other direction;
- ``alveoflow build`` runs (or lists) the RTL flavour's make targets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from alveoflow.cli import main
from alveoflow.hw.rtl.instance import library_files
from alveoflow.testing import lowered_cnn, lowered_mlp, write_build

STUBS = Path(__file__).resolve().parents[1] / "alveoflow" / "hw" / "scripts" / "xilinx_stubs.tcl"
TCLSH = shutil.which("tclsh")
YOSYS = shutil.which("yosys")
need_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh not installed")
need_yosys = pytest.mark.skipif(YOSYS is None, reason="yosys not installed")


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """An MLP (external FC weights, two outputs) and a CNN, both of the RTL flavour."""
    root = tmp_path_factory.mktemp("rtlpkg")
    mlp = write_build(root / "mlp", lowered_mlp(), hw="rtl", csim_variant=False)
    cnn = lowered_cnn(16, channels=(8, 8), num_classes=12, seed=1)
    return {"mlp": mlp, "cnn": write_build(root / "cnn", cnn, hw="rtl", max_batch=4)}


def kernel_name(build: Path) -> str:
    return json.loads((build / "design.json").read_text())["kernel"]


def stub_log(build: Path, rel: str, tmp_path: Path) -> list[list[str]]:
    """Run ``rel`` under tclsh with the stubs (from its folder); every stubbed call."""
    log = tmp_path / "calls.tsv"
    script = build / rel
    proc = subprocess.run(
        [str(TCLSH), str(STUBS), str(script)],
        cwd=script.parent,
        env={**os.environ, "AF_STUB_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [line.split("\t") for line in log.read_text().splitlines()]


def yosys_ports(build: Path, top: str, tmp_path: Path) -> dict[str, tuple[str, int]]:
    """``{port: (direction, width)}`` of module ``top`` as Yosys elaborates the build's RTL."""
    rtl = build / "rtl"
    lib = [str(rtl / "lib" / p.name) for p in library_files(synthesis=True)]
    info = json.loads((rtl / "rtl.json").read_text())
    files = (
        lib
        + [str(build / s) for s in info["sources"]]
        + [str(rtl / f"{kernel_name(build)}_net.sv")]
    )
    out = tmp_path / f"{top}.json"
    script = f"read_verilog -sv -defer {' '.join(files)}; hierarchy -check -top {top}; proc; "
    script += f"write_json {out}"
    proc = subprocess.run(
        [str(YOSYS), "-q", "-p", script],
        cwd=rtl / "mem",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    ports = json.loads(out.read_text())["modules"][top]["ports"]
    return {name: (p["direction"], len(p["bits"])) for name, p in ports.items()}


def packaged_interfaces(calls: list[list[str]]) -> dict[str, list[str]]:
    """``{interface: signals}`` of every AXI4-Stream ``ipx::infer_bus_interface`` call."""
    out = {}
    for call in calls:
        if call[0] == "ipx::infer_bus_interface" and call[2].endswith("axis_rtl:1.0"):
            signals = call[1].split()
            out[signals[0].removesuffix("_tdata")] = signals
    return out


def xml_ports(path: Path) -> tuple[ET.Element, dict[str, tuple[str, int]]]:
    kernel = ET.parse(path).getroot().find("kernel")
    assert kernel is not None
    ports = {p.get("name"): (p.get("mode"), int(p.get("dataWidth"))) for p in kernel.iter("port")}
    return kernel, ports


@need_tclsh
@need_yosys
@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_packaged_interfaces_are_the_yosys_ports(which, builds, tmp_path):
    build = builds[which]
    net = f"{kernel_name(build)}_net"
    calls = stub_log(build, "vivado/package_rtl_kernel.tcl", tmp_path)
    intfs = packaged_interfaces(calls)
    _, xml = xml_ports(build / "vivado" / "rtl_kernel.xml")
    ports = yosys_ports(build, net, tmp_path)
    clocks = [c[1] for c in calls if c[0] == "ipx::infer_bus_interface" and "signal:" in c[2]]
    packaged = set(clocks) | {s for signals in intfs.values() for s in signals}
    assert packaged == set(ports), "every top port packaged, nothing else"
    assert ports["ap_clk"] == ("input", 1) and ports["ap_rst_n"] == ("input", 1)
    assert set(intfs) == set(xml)
    for name, signals in intfs.items():
        mode, width = xml[name]
        into = "input" if mode == "read_only" else "output"
        back = "output" if into == "input" else "input"
        assert name.startswith("s_axis_" if into == "input" else "m_axis_")
        assert ports[f"{name}_tdata"] == (into, width)
        assert ports[f"{name}_tvalid"] == (into, 1) and ports[f"{name}_tready"] == (back, 1)
        if f"{name}_tlast" in signals:
            assert ports[f"{name}_tlast"] == (into, 1)
        assert [
            "ipx::associate_bus_interfaces",
            "-busif",
            name,
            "-clock",
            "ap_clk",
            "stub_core",
        ] in calls
    # ... and each is one stream port of the generated network top, tlast as its top bit
    top = yosys_ports(build, "afn_top", tmp_path)
    streams = {p.removesuffix("_tdata") for p in top if p.endswith("_tdata")}
    assert {n.split("_axis_")[1] for n in intfs} == streams
    for name, signals in intfs.items():
        port = name.split("_axis_")[1]
        width = xml[name][1] + (f"{name}_tlast" in signals)
        assert top[f"{port}_tdata"] == (ports[f"{name}_tdata"][0], width)
        assert top[f"{port}_tready"][0] == ports[f"{name}_tready"][0]


@need_tclsh
def test_package_tcl_packages_the_build_rtl_as_a_free_running_kernel(builds, tmp_path):
    build = builds["mlp"]
    net = f"{kernel_name(build)}_net"
    calls = stub_log(build, "vivado/package_rtl_kernel.tcl", tmp_path)
    added = [a for c in calls if c[0] == "add_files" for a in c[2].split()]
    vivado = build / "vivado"
    assert all((vivado / a).is_file() for a in added)
    names = {Path(a).name for a in added}
    info = json.loads((build / "rtl" / "rtl.json").read_text())
    assert {Path(s).name for s in info["sources"]} | {f"{net}.sv"} <= names
    assert set(info["files"]) <= names  # every $readmemh file
    assert {p.name for p in library_files(synthesis=True)} <= names
    assert names.isdisjoint(
        {p.name for p in library_files()} - {p.name for p in library_files(synthesis=True)}
    )
    assert ["set_property", "top", net, "stub_object"] in calls
    assert ["set_property", "vitis_drc", "ctrl_protocol ap_ctrl_none", "stub_core"] in calls
    assert ["set_property", "sdx_kernel_type", "rtl", "stub_core"] in calls
    xo = next(c for c in calls if c[0] == "package_xo")
    opts = {a: b for a, b in zip(xo[1:], xo[2:], strict=False) if not b.startswith("-")}
    assert opts["-kernel_name"] == net and opts["-ctrl_protocol"] == "ap_ctrl_none"
    assert opts["-xo_path"] == f"../{net}.xo"
    assert (vivado / opts["-kernel_xml"]).is_file()
    assert calls.index(xo) > max(i for i, c in enumerate(calls) if c[0] == "ipx::save_core")


def test_rtl_kernel_xml_is_a_free_running_stream_kernel(builds):
    build = builds["mlp"]
    kernel, ports = xml_ports(build / "vivado" / "rtl_kernel.xml")
    assert kernel.get("name") == f"{kernel_name(build)}_net"
    assert kernel.get("hwControlProtocol") == "ap_ctrl_none"
    assert ports == {
        "s_axis_in0": ("read_only", 128),
        "s_axis_in1": ("read_only", 512),
        "m_axis_out0": ("write_only", 32),
        "m_axis_out1": ("write_only", 32),
    }
    args = list(kernel.iter("arg"))
    assert [a.get("addressQualifier") for a in args] == ["4"] * 4
    assert [a.get("port") for a in args] == list(ports)
    assert args[1].get("type") == "stream<ap_axiu<512,0,0,0> >&"


def mover_signature(build: Path) -> list[tuple[str, str]]:
    """(type, name) of the HLS mover's arguments, from its C++."""
    text = (build / "hls" / "src" / "rtl_dma.cpp").read_text()
    kernel = kernel_name(build)
    sig = re.search(rf"^void {kernel}\((.*)\) {{$", text, re.M)
    assert sig is not None
    args = re.split(r",\s*(?![^<>]*>)", sig.group(1))  # commas outside template brackets
    return [tuple(a.rsplit(" ", 1)) for a in args]  # type: ignore[misc]


def test_host_contract_and_stream_links_are_consistent(builds):
    from alveoflow.runtime.backends.alveo.contract import parse_kernel_xml, read_contract
    from alveoflow.runtime.build import open_build

    for build in builds.values():
        contract = read_contract(open_build(build))  # the runtime's own check
        _, args = parse_kernel_xml(build / "vivado" / "kernel.xml")
        sig = mover_signature(build)
        assert [n for _, n in sig[: len(args)]] == [a.name for a in args]
        streams = {n: t for t, n in sig[len(args) :]}
        assert all(t.startswith("hls::stream<ap_axiu<") for t in streams.values())
        kernel, net = kernel_name(build), f"{kernel_name(build)}_net"
        _, xml = xml_ports(build / "vivado" / "rtl_kernel.xml")
        cfg = (build / "link" / "link.cfg").read_text()
        assert f"nk={kernel}:1:{kernel}_1" in cfg and f"nk={net}:1:{net}_1" in cfg
        memories = re.findall(rf"^sp={kernel}_1\.m_axi_(\w+):(\S+)$", cfg, re.M)
        assert dict(memories) == contract.port_memory
        scs = re.findall(r"^sc=(\S+)\.(\w+):(\S+)\.(\w+)$", cfg, re.M)
        assert len(scs) == len(xml) == len(streams)
        for src, sport, dst, dport in scs:
            if src == f"{kernel}_1":
                assert dst == f"{net}_1" and xml[dport][0] == "read_only" and sport in streams
                width = xml[dport][1]
                assert f"ap_axiu<{width}," in streams[sport]
            else:
                assert (src, dst) == (f"{net}_1", f"{kernel}_1") and xml[sport][0] == "write_only"
                assert dport in streams and f"ap_axiu<{xml[sport][1]}," in streams[dport]


def test_emulated_card_runs_the_rtl_flavour_build(builds):
    """The host calls the mover kernel exactly as the HLS flavour's kernel: the emulated card
    (which checks every call against kernel.xml and link.cfg) gives the sim result."""
    import torch

    from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq
    from alveoflow.runtime.module import AlveoModule

    build = builds["cnn"]
    x = torch.from_numpy(np.random.default_rng(0).random((2, 3, 16, 16), np.float32))
    with AlveoModule(build, "emulated", card_api=EmulatedPynq(build)) as module:
        topk = module.topk(x)
    with AlveoModule(build, "sim") as module:
        ref = module.topk(x)
    np.testing.assert_array_equal(topk.numpy(), ref.numpy())


AXI_SDATA_STANDIN = """#pragma once
#include "ap_int.h"
template <int D, int U, int TI, int TD> struct ap_axiu {
    ap_uint<D> data; ap_uint<(D + 7) / 8> keep, strb; ap_uint<1> last;
};
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_the_hls_mover_compiles(builds, tmp_path):
    from alveoflow.hw.hls import find_ap_types

    (tmp_path / "ap_axi_sdata.h").write_text(AXI_SDATA_STANDIN)
    src = builds["mlp"] / "hls" / "src" / "rtl_dma.cpp"
    cmd = ["g++", "-std=c++14", "-fsyntax-only", "-I", str(tmp_path)]
    cmd += ["-isystem", str(find_ap_types()), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = src.read_text()
    assert "mm2s<128, 49>(in, to_net, numReps, false)" in text  # 784 bytes / 16
    assert "mm2s<512, 10>(weightsmem, fc_net, numReps, true)" in text  # 10 x 64 int8 / 64


@need_tclsh
def test_every_tcl_file_of_an_rtl_build_runs_under_tclsh(builds, tmp_path):
    build = builds["mlp"]
    for rel in ("hls/scripts/rtl_dma.tcl", "vivado/package_rtl_kernel.tcl"):
        calls = stub_log(build, rel, tmp_path)
        assert calls
    calls = stub_log(build, "hls/scripts/rtl_dma.tcl", tmp_path)
    assert ["open_solution", "-reset", "sol1", "-flow_target", "vitis"] in calls
    assert ["export_design", "-format", "xo", "-output", "../mlp.xo"] in calls


def test_hls_builds_keep_their_flow(tmp_path):
    build = write_build(tmp_path / "b", lowered_mlp(layers=(64, 16, 10)), csim_variant=False)
    assert not (build / "vivado" / "package_rtl_kernel.tcl").exists()
    assert "sc=" not in (build / "link" / "link.cfg").read_text()


def _fake_tools(tmp_path, monkeypatch):
    fake = tmp_path / "fake_bin"
    fake.mkdir()
    for name in ("vitis_hls", "vivado", "v++"):
        (fake / name).write_text(
            '#!/bin/sh\necho "$0 $@"\n'
            'while [ $# -gt 0 ]; do [ "$1" = -o ] && touch "$2"; shift; done\nexit 0\n'
        )
        (fake / name).chmod((fake / name).stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ.get('PATH', '')}")


def test_build_without_tools_lists_the_rtl_flow(builds, monkeypatch, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for var in ("XILINX_HLS", "XILINX_VIVADO", "XILINX_VITIS"):
        monkeypatch.delenv(var, raising=False)
    build = builds["mlp"]
    assert main(["build", str(build), "--hw", "rtl", "--jobs", "2"]) == 2
    captured = capsys.readouterr()
    assert "RTL flavour" in captured.out and "mlp_net" in captured.out
    assert "vivado/package_rtl_kernel.tcl" in captured.err and "hls/src/rtl_dma.cpp" in captured.err
    assert main(["build", str(build), "--hw", "hls"]) == 2
    assert "--hw hls" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_links_both_kernels(builds, monkeypatch, tmp_path):
    from alveoflow.compiler.buildfmt import read_manifest

    build = tmp_path / "copy"
    shutil.copytree(builds["mlp"], build)
    _fake_tools(tmp_path, monkeypatch)
    assert main(["build", str(build), "--jobs", "2"]) == 0
    assert (
        "vitis_hls -f scripts/rtl_dma.tcl -tclargs xo"
        in (build / "logs" / "hls_rtl_dma.log").read_text()
    )
    assert (
        "vivado -mode batch -source package_rtl_kernel.tcl"
        in (build / "logs" / "package_rtl.log").read_text()
    )
    link = (build / "logs" / "link.log").read_text()
    assert "--config link/link.cfg" in link and "mlp.xo mlp_net.xo" in link
    assert read_manifest(build).card.xclbin is not None
