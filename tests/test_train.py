"""alveoflow.train: a tiny Brevitas network learns, resumes, distils and writes its files."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from brevitas.nn import QuantConv2d, QuantLinear, QuantReLU
from brevitas.quant import Uint8ActPerTensorFloatMaxInit
from torch import nn
from torch.utils.data import TensorDataset

from alveoflow.errors import CheckpointError, ConfigError
from alveoflow.train import TrainConfig, distillation_loss, load_checkpoint, train
from alveoflow.train.metrics import COLUMNS, read_csv
from alveoflow.train.schedule import lr_factor

REPO = Path(__file__).resolve().parents[1]


class TinyQuantNet(nn.Module):
    """Two 4-bit conv layers and a linear head; no runtime-statistics quantizers, so a
    resumed run is bit-identical to an uninterrupted one."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.config = {"arch": "tiny", "classes": classes}
        act = dict(act_quant=Uint8ActPerTensorFloatMaxInit, max_val=4.0, bit_width=4)
        self.conv1 = QuantConv2d(1, 8, 3, padding=1, weight_bit_width=4)
        self.relu1 = QuantReLU(**act)
        self.conv2 = QuantConv2d(8, 8, 3, stride=2, padding=1, weight_bit_width=4)
        self.relu2 = QuantReLU(**act)
        self.pool = nn.AdaptiveAvgPool2d(2)  # keeps the quadrant the class lives in
        self.fc = QuantLinear(32, classes, bias=True, weight_bit_width=8)

    def forward(self, x):
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def separable(n: int, classes: int = 4, seed: int = 0) -> TensorDataset:
    """8x8 images whose class is the quadrant that is bright."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=gen)
    images = 0.1 * torch.rand(n, 1, 8, 8, generator=gen)
    for i, label in enumerate(labels.tolist()):
        r, c = divmod(label, 2)
        images[i, 0, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] += 0.9
    return TensorDataset(images, labels)


def config(tmp_path=None, **changes) -> TrainConfig:
    base = dict(
        epochs=3,
        batch_size=16,
        lr=0.01,
        optimizer="adamw",
        weight_decay=0.0,
        device="cpu",
        progress=False,
        seed=0,
        out_dir=None if tmp_path is None else str(tmp_path),
    )
    return TrainConfig(**{**base, **changes})


def test_loss_decreases_and_files_are_written(tmp_path):
    torch.manual_seed(0)
    model = TinyQuantNet()
    result = train(model, separable(256), separable(64, seed=1), config(tmp_path))
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == 3 and losses[-1] < 0.7 * losses[0]
    assert result.final["val_acc"] > 0.9
    assert result.best_epoch >= 1 and result.best_val_acc == max(
        row["val_acc"] for row in result.history
    )

    rows = read_csv(tmp_path / "metrics.csv")
    assert list(rows[0]) == list(COLUMNS) and [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[-1]["val_acc"] == pytest.approx(result.final["val_acc"], rel=1e-5)
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    state = load_checkpoint(result.last_checkpoint)
    assert state["config"] == model.config and state["epoch"] == 3
    assert set(state) >= {"state_dict", "optimizer", "scheduler", "history", "train_config"}
    assert result.best_checkpoint is not None and result.best_checkpoint.exists()


def test_resume_matches_uninterrupted_run(tmp_path):
    data, val = separable(96), separable(32, seed=1)
    torch.manual_seed(0)
    straight = TinyQuantNet()
    initial = {k: v.clone() for k, v in straight.state_dict().items()}
    full = train(straight, data, val, config(tmp_path / "full", epochs=2, schedule="cosine"))

    # An interrupted run: one epoch of a two-epoch schedule, saved to part1/last.pt.
    half = TinyQuantNet()
    half.load_state_dict(initial)
    cut = _one_epoch_of_two(half, data, val, tmp_path / "part1")
    assert load_checkpoint(cut)["epoch"] == 1

    resumed = TinyQuantNet()
    result = train(resumed, data, val, config(tmp_path / "part1", epochs=2, resume=str(cut)))
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert result.history[1]["lr"] == pytest.approx(full.history[1]["lr"])
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, msg=key)
    state = load_checkpoint(tmp_path / "part1" / "last.pt")
    assert state["epoch"] == 2 and state["optimizer"]["state"]


def _one_epoch_of_two(model, data, val, out):
    """Train the first epoch of a 2-epoch run by stopping after epoch 1 via a patched config."""
    from alveoflow.train import loop

    cfg = config(out, epochs=2)
    original = loop._train_epoch
    calls = []

    def once(run, *args):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return original(run, *args)

    loop._train_epoch = once
    try:
        with pytest.raises(KeyboardInterrupt):
            train(model, data, val, cfg)
    finally:
        loop._train_epoch = original
    return out / "last.pt"


def test_resume_rejects_wrong_model(tmp_path):
    train(TinyQuantNet(), separable(32), None, config(tmp_path, epochs=1))
    with pytest.raises(CheckpointError, match="does not fit"):
        train(
            TinyQuantNet(classes=3),
            separable(32, classes=3),
            None,
            config(tmp_path, epochs=2, resume=str(tmp_path / "last.pt")),
        )


def test_distillation_runs_and_teacher_is_frozen(tmp_path):
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    before = [p.clone() for p in teacher.parameters()]
    result = train(
        TinyQuantNet(),
        separable(64),
        separable(32, seed=1),
        config(tmp_path, epochs=1, distill_alpha=0.7, distill_temperature=2.0),
        teacher=teacher,
    )
    assert math.isfinite(result.final["train_loss"])
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters(), strict=True))
    assert not any(p.requires_grad for p in teacher.parameters())


def test_distillation_loss_terms():
    hard = torch.tensor(2.0)
    logits = torch.randn(5, 4)
    same = distillation_loss(logits, logits.clone(), hard, alpha=0.25, temperature=3.0)
    assert same.item() == pytest.approx(0.75 * 2.0, abs=1e-6)
    other = distillation_loss(logits, torch.randn(5, 4), hard, alpha=0.25, temperature=3.0)
    assert other.item() > same.item()


def test_lr_schedules():
    cos = config(epochs=4, schedule="cosine", warmup_epochs=1)
    factors = [lr_factor(step, cos, steps_per_epoch=10) for step in range(40)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0) and factors[-1] < 0.01
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))
    step = config(epochs=6, schedule="step", step_epochs=2, gamma=0.5)
    assert [lr_factor(e * 10, step, 10) for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert lr_factor(33, config(schedule="constant"), 10) == 1.0


def test_config_validation():
    with pytest.raises(ConfigError, match="did you mean: adamw"):
        TrainConfig(optimizer="adamv")
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="'lrr' .did you mean: lr"):
        TrainConfig.from_dict({"lrr": 0.1})
    assert TrainConfig.from_dict(TrainConfig(lr=0.3).to_dict()).lr == 0.3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_path_with_one_gloo_process(tmp_path):
    """torchrun's environment with WORLD_SIZE=1: DDP wrapper, DistributedSampler, gloo."""
    script = tmp_path / "ddp.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys, torch
        sys.path[:0] = [{str(REPO)!r}, {str(Path(__file__).parent)!r}]
        from test_train import TinyQuantNet, separable, config
        from alveoflow.train import train
        torch.manual_seed(0)
        result = train(TinyQuantNet(), separable(64), separable(32, seed=1),
                       config({str(tmp_path / "run")!r}, epochs=1))
        print("OK", result.final["val_acc"])
    """)
    )
    env = {
        **os.environ,
        "WORLD_SIZE": "1",
        "RANK": "0",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK" in proc.stdout
    assert (tmp_path / "run" / "last.pt").exists()
    assert "module." not in next(iter(load_checkpoint(tmp_path / "run" / "last.pt")["state_dict"]))


def test_stats_warmup_initialises_runtime_scales(tmp_path):
    from alveoflow.train.stats import finish_stats_collection, pending_stats_steps

    torch.manual_seed(0)
    model = TinyQuantNet()
    model.relu1 = QuantReLU(bit_width=4, collect_stats_steps=5)  # runtime-percentile scale
    assert pending_stats_steps(model) == 6
    ran = finish_stats_collection(model, separable(5), 8, torch.device("cpu"))  # < 1 batch
    assert ran == 6 and pending_stats_steps(model) == 0
    result = train(model, separable(64), None, config(tmp_path, epochs=1, stats_batch_size=8))
    assert math.isfinite(result.final["train_loss"])

    fresh = TinyQuantNet()
    fresh.relu1 = QuantReLU(bit_width=4, collect_stats_steps=5)
    fresh.load_state_dict(load_checkpoint(tmp_path / "last.pt")["state_dict"])
    x = separable(4)[:][0]
    model.eval(), fresh.eval()
    torch.testing.assert_close(fresh(x), model(x))


@pytest.mark.gpu
@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_mixed_precision_on_gpu(tmp_path, amp_dtype):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    torch.manual_seed(0)
    result = train(
        TinyQuantNet(),
        separable(256),
        separable(64, seed=1),
        config(tmp_path, device="cuda", amp=True, amp_dtype=amp_dtype),
    )
    assert result.final["val_acc"] > 0.9
    assert result.last_checkpoint is not None and result.last_checkpoint.exists()


def test_throughput_is_logged_per_device(tmp_path, caplog):
    torch.manual_seed(0)
    with caplog.at_level("INFO", logger="alveoflow.train.loop"):
        result = train(TinyQuantNet(), separable(64), None, config(tmp_path, epochs=1, log_every=2))
    assert result.history[0]["images_per_s"] > 0
    step_lines = [r.message for r in caplog.records if " step " in r.message]
    assert len(step_lines) == 2 and all("images/s per device" in m for m in step_lines)
    assert read_csv(tmp_path / "metrics.csv")[0]["images_per_s"] > 0
