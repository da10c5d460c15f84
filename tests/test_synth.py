"""`alveoflow synth`: Yosys per IP of a build into synth/synth.json, and the report's table.

One small build (an MLP: two IPs) synthesised once per session with its own Yosys cache;
the tests marked ``rtl`` need Yosys (skipped with the reason without it).
"""

import json
import shutil

import pytest

from alveoflow.cli import main
from alveoflow.compiler.report import render_report
from alveoflow.compiler.synth import read_synth, synth_build
from alveoflow.compiler.synth.design import design_of_build
from alveoflow.compiler.synth.parts import config_key, design_parts
from alveoflow.compiler.synth.rtl import blackbox_stub
from alveoflow.errors import ConfigError, ToolchainError
from alveoflow.hw.rtl import ops as rtl_ops
from alveoflow.hw.rtl import yosys
from alveoflow.testing.builds import write_build
from alveoflow.testing.graphs import lowered_mlp

KEYS = set(yosys.KEYS)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_build(tmp_path_factory.mktemp("mlp") / "build", lowered_mlp((16, 8, 4)))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A Yosys result cache of this module's own (``XDG_CACHE_HOME``)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture(scope="module")
def synthesised(build, cache):
    manifest = (build / "manifest.json").read_text()
    result = synth_build(build, jobs=2, progress=False)
    return build, result, manifest


@pytest.mark.rtl
def test_synth_json_schema(synthesised):
    build, result, manifest_before = synthesised
    assert read_synth(build) == json.loads((build / "synth" / "synth.json").read_text()) == result
    assert result["tool"].startswith("Yosys") and "synth_xilinx -family xcup" in result["flow"]
    assert "not Vivado's" in result["counting"]
    design = json.loads((build / "design.json").read_text())
    assert list(result["ips"]) == [ip["name"] for ip in design["ips"]]
    assert result["method"] == "rtl"  # every build carries its generated RTL
    for counts in [*result["ips"].values(), result["kernel"], result["total"]]:
        assert set(counts) == KEYS and all(v >= 0 for v in counts.values())
    for key in KEYS:
        parts = sum(c[key] for c in result["ips"].values()) + result["kernel"][key]
        assert result["total"][key] == pytest.approx(parts)
    # a tool output, not a build file: the manifest neither changed nor lists it
    assert (build / "manifest.json").read_text() == manifest_before
    assert not any(rel.startswith("synth/") for rel in json.loads(manifest_before)["files"])
    assert [p.name for p in (build / "synth").iterdir()] == ["synth.json"]


@pytest.mark.rtl
def test_synth_values(synthesised):
    build, result, _ = synthesised
    ips, ops = result["ips"], result["ops"]
    assert ips["fc0"]["lut"] > 0 and ips["tail"]["lut"] > 0 and result["kernel"]["lut"] > 0
    # IP fc0 is its MVAU alone: the IP module and the MVAU out of context agree
    assert set(ops) == {"fc0", "fc", "fc.dup", "topk"}
    assert ops["fc0"]["ip"] == "fc0"
    for key in ("lut", "ff", "bram36", "dsp"):
        assert ops["fc0"][key] == pytest.approx(ips["fc0"][key], abs=2), key
    # the estimate of the same IPs, split the same way, adds up to the report's total
    report = json.loads((build / "report.json").read_text())
    est = result["estimate"]
    assert set(est) == set(ips) | {"kernel"}
    total = sum(v["lut"] for v in est.values())
    assert total == pytest.approx(report["estimate"]["resources"]["total"]["lut"], abs=1)
    assert result["missing"] == []


@pytest.mark.rtl
def test_second_run_comes_from_the_cache(synthesised):
    build, first, _ = synthesised
    again = synth_build(build, jobs=1, progress=False)
    assert again["ips"] == first["ips"] and again["kernel"] == first["kernel"]
    assert all(op["cached"] for op in again["ops"].values())


@pytest.mark.rtl
def test_cli_prints_the_table(synthesised, capsys):
    build, result, _ = synthesised
    assert main(["synth", str(build), "--quiet"]) == 0
    assert "synth.json" in capsys.readouterr().out
    assert main(["synth", str(build)]) == 0
    out = capsys.readouterr().out
    assert "fc0" in out and "IPs total" in out and "Vivado" in out


@pytest.mark.rtl
def test_report_shows_the_synth_table(synthesised):
    build, result, _ = synthesised
    text = render_report(build).read_text()
    section = text[text.index("Yosys synthesis") :]
    assert "Vivado" in section and "IPs total" in section
    lut = f"{result['ips']['tail']['lut']:,.0f}"
    assert "<td>tail</td><td>" + lut in section
    # a synth.json from an earlier compile of the folder is named stale, not shown
    stale = dict(result, design={**result["design"], "graph.json": "0" * 64})
    (build / "synth" / "synth.json").write_text(json.dumps(stale))
    try:
        text = render_report(build).read_text()
        assert "earlier compile" in text and "IPs total" not in text
    finally:
        (build / "synth" / "synth.json").write_text(json.dumps(result))


@pytest.mark.rtl
def test_a_failed_run_writes_no_synth_json(build, cache, tmp_path):
    copy = tmp_path / "build"
    shutil.copytree(build, copy, ignore=shutil.ignore_patterns("synth"))
    with pytest.raises(ToolchainError, match="ran past"):
        synth_build(copy, jobs=1, use_cache=False, timeout=0.05, progress=False)
    assert not (copy / "synth" / "synth.json").exists()


def test_missing_yosys_is_one_clear_error(build, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no yosys here
    assert main(["synth", str(build)]) == 2
    err = capsys.readouterr().err
    assert "yosys was not found" in err and "install_tools.sh" in err
    assert "Traceback" not in err


def test_parts_cover_the_design(build):
    design, _ = design_of_build(build)
    parts, missing = design_parts(design)
    assert missing == []
    ops = {p.name for p in parts if p.kind == "op"}
    assert ops == {"fc0", "fc", "fc.dup", "topk"}  # Flatten and host ops have no hardware
    fifos = {p.name for p in parts if p.kind == "fifo"}
    assert fifos == {s.name for s in design.streams}
    assert {p.name for p in parts if p.kind == "dwc"} <= fifos
    assert sum(p.kind == "dma" for p in parts) == 1 + len(design.dma_outs)
    by_ip = {p.ip for p in parts if p.kind == "op"}
    assert by_ip == {ip.name for ip in design.ips}
    # one configuration per module, parameters and ports; file contents only where they
    # become logic (weights in LUT ROM), or all of them with exact=True
    mvau = next(p.inst for p in parts if p.name == "fc0")
    assert dict(mvau.params)["WMEM"] == "block"
    other = mvau.with_files({name: text + "0\n" for name, text in mvau.files})
    assert config_key(other) == config_key(mvau)
    assert config_key(other, exact=True) != config_key(mvau, exact=True)
    node = design.graph.node("fc0")
    rom = rtl_ops.unit(node.op, node.weights, [(1, 16)], wmem="distributed").inst
    flipped = rom.with_files({"weights.memh": dict(rom.files)["weights.memh"][::-1]})
    assert config_key(flipped) != config_key(rom)


def test_a_changed_build_is_refused(build, tmp_path):
    copy = tmp_path / "build"
    shutil.copytree(build, copy, ignore=shutil.ignore_patterns("synth"))
    report = json.loads((copy / "report.json").read_text())
    report["fifos"][0]["depth"] += 1
    (copy / "report.json").write_text(json.dumps(report))
    with pytest.raises(ConfigError):
        design_of_build(copy)


def test_blackbox_stub_keeps_the_ports():
    text = "module afn_a (\n input logic x,\n output logic y\n);\n assign y = x;\nendmodule\n"
    stub = blackbox_stub(text, "afn_a")
    assert stub.startswith("(* blackbox *)") and "output logic y" in stub
    assert "assign" not in stub and stub.rstrip().endswith("endmodule")
    with pytest.raises(ValueError):
        blackbox_stub(text, "afn_b")
