"""``alveoflow bench``: table, JSON, plot; power only on a card (fake sysfs here)."""

from __future__ import annotations

import json

import pytest

from alveoflow.cli import main
from alveoflow.testing import lowered_mlp, write_build

BOARD_W, FPGA_W = 12.0 * 2.5 + 12.0 * 1.5, 0.85 * 10.0


def xmc_tree(root):
    folder = root / "bus/pci/devices/0000:03:00.0/xmc.u.1"
    folder.mkdir(parents=True)
    for name, mv, ma in (
        ("12v_aux", 12000, 2500),
        ("12v_pex", 12000, 1500),
        ("vccint", 850, 10000),
    ):
        (folder / f"xmc_{name}_vol").write_text(f"{mv}\n")
        (folder / f"xmc_{name}_curr").write_text(f"{ma}\n")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_build(tmp_path_factory.mktemp("b"), lowered_mlp((32, 16, 10)), max_batch=4)


def test_bench_sim_table_json_plot(build, tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    code = main(
        [
            "bench",
            str(build),
            "--backend",
            "sim",
            "--batch",
            "1,3",
            "--reps",
            "2",
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "FPS" in text and "power not measured: backend 'sim' is not a card" in text
    data = json.loads(out.read_text())
    assert data["backend"] == "sim" and data["power_measured"] is False
    assert [r["batch"] for r in data["rows"]] == [1, 3]
    assert all(r["fps"] > 0 and r["reps"] == 2 and r["board_w"] is None for r in data["rows"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_emulated_card_samples_power(build, tmp_path, capsys):
    xmc_tree(tmp_path / "sys")
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    code = main(
        [
            "bench",
            str(build),
            "--backend",
            "emulated",
            "--batch",
            "2,8",
            "--reps",
            "2",
            "--devices",
            "0,1",
            "--sysfs",
            str(tmp_path / "sys"),
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "board W" in text and "not measured" not in text
    data = json.loads(out.read_text())
    assert data["power_measured"] and data["devices"] == 2
    for row in data["rows"]:
        assert row["board_w"] == pytest.approx(BOARD_W) and row["fpga_w"] == pytest.approx(FPGA_W)
    assert png.stat().st_size > 1000


def test_bench_card_without_rails_says_so(build, tmp_path, capsys):
    assert (
        main(
            [
                "bench",
                str(build),
                "--backend",
                "emulated",
                "--batch",
                "1",
                "--reps",
                "1",
                "--sysfs",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert "power not measured: no XRT/hwmon power rails" in capsys.readouterr().out


def test_bench_bad_arguments(build, capsys):
    assert main(["bench", str(build), "--backend", "nope", "--batch", "1"]) == 2
    assert "unknown backend" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", str(build), "--batch", "0,x"])
