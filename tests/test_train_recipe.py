"""``alveoflow train --recipe float-then-qat``, resuming after a kill, and the run-folder rules.

Everything runs on a small synthetic image folder (train/ and val/ class folders of 32x32
PNGs) with a half-width ``resnet_small_32`` on one CPU thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alveoflow.cli import main
from alveoflow.qnn import QuantResNet
from alveoflow.train import load_checkpoint
from alveoflow.train.metrics import read_csv

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("red", "green", "blue")


def write_folder(root: Path, per_class: dict[str, int], seed: int = 0) -> Path:
    """``root/<split>/<class>/<n>.png``: noisy images whose brightest channel is the class."""
    rng = np.random.default_rng(seed)
    for split, count in per_class.items():
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(count):
                image = rng.integers(0, 90, (36, 36, 3), dtype=np.uint8)
                image[:, :, label] += 120
                Image.fromarray(image).save(folder / f"{n}.png")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("imgs"), {"train": 16, "val": 4})


def cli_args(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--model",
        "resnet_small_32",
        "--width",
        "0.5",
        "--model-option",
        "num_classes=3",
        "--model-option",
        "scale_init=mse",  # 33 statistics batches instead of 301: faster tests
        "--data",
        str(data),
        "--batch-size",
        "8",
        "--threads",
        "1",
        "--no-progress",
        "--stats-batch-size",
        "4",
        "--out",
        str(out),
        *extra,
    ]


RECIPE = ("--recipe", "float-then-qat", "--epochs", "1", "--bn-batches", "2")


def test_recipe_writes_a_final_model_that_records_every_choice(folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(cli_args(folder, out, *RECIPE)) == 0
    assert "after BatchNorm re-estimation" in capsys.readouterr().out
    assert {"float", "final.pt", "recipe.json", "last.pt", "metrics.csv"} <= {
        p.name for p in out.iterdir()
    }
    final = load_checkpoint(out / "final.pt")
    assert final["recipe"]["recipe"] == "float-then-qat" and final["recipe"]["distill"]
    assert final["config"]["scale_init"] == "mse" and final["config"]["first_last_bits"] == 8
    assert final["train_config"]["optimizer"] == "adamw" and final["bn_images"] == 16
    assert load_checkpoint(out / "float" / "last.pt")["phase"] == "float"
    assert load_checkpoint(out / "last.pt")["phase"] == "qat"
    model = QuantResNet.from_checkpoint(out / "final.pt")
    assert model.config.bits == "w1a2r4" and model.config.num_classes == 3

    # The same command again is refused; with --resume it finds nothing left to train.
    assert main(cli_args(folder, out, *RECIPE)) == 2
    assert "--resume to continue it or --force" in capsys.readouterr().err
    assert main(cli_args(folder, out, *RECIPE, "--resume")) == 0
    again = load_checkpoint(out / "final.pt")
    for key, value in final["state_dict"].items():
        assert torch.equal(again["state_dict"][key], value), key
    assert main(cli_args(folder, out, *RECIPE, "--resume", "--lr", "0.5")) == 2
    assert "started with other settings (train.lr" in capsys.readouterr().err


def test_recipe_is_deterministic_and_resumes_between_phases(folder, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(cli_args(folder, first, *RECIPE)) == 0
    # The second run loses everything after its float phase (as if killed), then resumes.
    assert main(cli_args(folder, second, *RECIPE)) == 0
    for name in ("last.pt", "best.pt", "final.pt", "recipe.json", "metrics.csv", "curves.png"):
        (second / name).unlink()
    assert main(cli_args(folder, second, *RECIPE, "--resume")) == 0
    a, b = load_checkpoint(first / "final.pt"), load_checkpoint(second / "final.pt")
    for key, value in a["state_dict"].items():
        assert torch.equal(b["state_dict"][key], value), key


def test_force_overwrites_and_unwritable_out_fails_before_training(folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(cli_args(folder, out, "--epochs", "1")) == 0
    stale = out / "best.pt"
    stale.write_bytes(b"stale")
    assert main(cli_args(folder, out, "--epochs", "1", "--force")) == 0
    assert load_checkpoint(stale)["epoch"] == 1
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    start = time.perf_counter()
    assert main(cli_args(folder, blocker / "run", "--epochs", "1")) == 2
    err = capsys.readouterr().err
    assert "not writable" in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - start < 30  # refused before any data was loaded


def _train_command(data: Path, out: Path, *extra: str) -> list[str]:
    args = cli_args(data, out, "--epochs", "2", "--checkpoint-every", "1", *extra)
    return [sys.executable, "-m", "alveoflow.cli", *args]


def _checkpoint_position(path: Path) -> tuple[int, int] | None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - being replaced right now
        return None
    return int(state["epoch"]), int(state["step"])


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    data = write_folder(tmp_path / "imgs", {"train": 40, "val": 4})
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    straight = tmp_path / "straight"
    subprocess.run(_train_command(data, straight), env=env, check=True, timeout=600)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_command(data, killed), env=env)
    position, deadline = None, time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        position = _checkpoint_position(killed / "last.pt")
        if position is not None and position[1] > 0:
            proc.send_signal(signal.SIGKILL)  # mid-epoch, without any warning
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    stopped = _checkpoint_position(killed / "last.pt")
    assert stopped is not None and stopped[1] > 0 and stopped < (2, 0)

    resumed = subprocess.run(
        _train_command(data, killed, "--resume"), env=env, timeout=600, capture_output=True
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(killed / "last.pt")
    assert (a["epoch"], a["step"]) == (b["epoch"], b["step"]) == (2, 0)
    for key, value in a["state_dict"].items():
        assert torch.equal(b["state_dict"][key], value), key
    rows_a, rows_b = read_csv(straight / "metrics.csv"), read_csv(killed / "metrics.csv")
    for row_a, row_b in zip(rows_a, rows_b, strict=True):
        for column in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert row_a[column] == pytest.approx(row_b[column], rel=1e-6), column
        assert row_b["images_per_s"] > 0


def test_cli_distils_from_a_torchvision_resnet50_state_dict(folder, tmp_path, capsys):
    from test_qnn_float_twin import torchvision_resnet50_state

    state = torchvision_resnet50_state(classes=3)
    teacher = tmp_path / "resnet50.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, teacher)
    plain, taught = tmp_path / "plain", tmp_path / "taught"
    assert main(cli_args(folder, plain, "--epochs", "1")) == 0
    assert main(cli_args(folder, taught, "--epochs", "1", "--teacher", str(teacher))) == 0
    assert load_checkpoint(taught / "last.pt")["teacher"] == str(teacher)
    loss_plain = read_csv(plain / "metrics.csv")[0]["train_loss"]
    loss_taught = read_csv(taught / "metrics.csv")[0]["train_loss"]
    assert loss_plain != pytest.approx(loss_taught, rel=1e-3)  # the soft targets took part
    torch.save({"fc.weight": torch.zeros(3, 8)}, teacher)
    assert main(cli_args(folder, tmp_path / "bad", "--epochs", "1", "--teacher", str(teacher))) == 2
    err = capsys.readouterr().err
    assert "neither an alveoflow checkpoint nor a torchvision" in err
