"""report.json contents, report.html rendering and the `alveoflow report` command."""

import json

import pytest

from alveoflow.cli import main
from alveoflow.compiler.report import plan_and_report, render_report
from alveoflow.errors import ConfigError
from alveoflow.testing.graphs import lowered_cnn, lowered_resnet

KEYS = ("lut", "ff", "bram36", "uram", "dsp")


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    plan_and_report(lowered_resnet(18, input_size=32, width=0.125), out, "u250", "max", 200.0)
    return out


def test_report_json_has_the_promised_fields(build_dir):
    report = json.loads((build_dir / "report.json").read_text())
    est = report["estimate"]
    assert est["fps"] > 0 and est["latency_ms"] > 0 and est["clock_mhz"] == 200.0
    assert est["fps"] == pytest.approx(200e6 / est["ii_cycles"], rel=1e-3)
    assert set(est["resources"]["total"]) >= set(KEYS)
    slrs = est["resources"]["per_slr"]
    assert len(slrs) == 4
    for s in slrs:
        assert set(s) >= set(KEYS) | {"fraction", "limit", "within_limits"}
        assert set(s["fraction"]) == set(KEYS)
    total_lut = sum(s["lut"] for s in slrs)
    assert total_lut == pytest.approx(est["resources"]["total"]["lut"], rel=1e-3)
    assert est["within_limits"] is True
    assert set(est["throughput"]) == {"1", "10", "100", "1000"}
    layers = {r["name"]: r for r in report["layers"]}
    conv = layers["layer2.0.conv2"]
    assert conv["cycles"] <= est["ii_cycles"] and conv["mem_style"] in ("lut", "bram", "uram")
    assert set(conv["folding"]) == {"pe", "simd", "mmv"}
    assert any(f["depth"] >= 2 and f["width_bits"] > 0 for f in report["fifos"])
    assert (build_dir / "folding_plan.json").is_file()


def test_render_writes_html_and_plots(build_dir):
    html = render_report(build_dir)
    text = html.read_text()
    for png in ("cycles.png", "resources.png", "floorplan.png", "batch.png"):
        assert (build_dir / png).stat().st_size > 1000
        assert png in text
    assert "layer2.0.conv2" in text


def test_cli_report(build_dir, tmp_path, capsys):
    assert main(["report", str(build_dir)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2
    with pytest.raises(ConfigError):
        render_report(tmp_path)


def test_impossible_target_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="closest feasible"):
        plan_and_report(lowered_cnn(), tmp_path, "u250", 1e9, 250.0)
