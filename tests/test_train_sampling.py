"""Resumable sampling, BatchNorm re-estimation and run-folder checks of alveoflow.train."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from alveoflow.errors import ConfigError, DataError
from alveoflow.train.bn import reestimate_bn
from alveoflow.train.rundir import prepare_run_dir
from alveoflow.train.sampling import EpochSampler, SeededDataset, sample_seed


def test_shards_cover_the_epoch_and_differ_per_epoch():
    shards = [EpochSampler(10, shuffle=True, seed=3, rank=r, world=3) for r in range(3)]
    orders = [[i for i, _ in s] for s in shards]
    assert [len(o) for o in orders] == [4, 4, 4]  # padded to the same count per process
    assert set().union(*orders) == set(range(10))
    first = orders[0]
    shards[0].set_epoch(1)
    assert [i for i, _ in shards[0]] != first
    assert len({sample_seed(0, 0, i) for i in range(1000)}) == 1000


def test_set_start_resumes_the_same_sequence():
    sampler = EpochSampler(17, shuffle=True, seed=5)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.set_start(6)
    assert list(sampler) == full[6:] and len(sampler) == 11
    sampler.set_epoch(2)  # a new epoch starts from the beginning again
    assert list(sampler) == full


class NoisyImages(Dataset):
    """Returns random noise drawn from torch's global generator (like a random augmentation)."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.rand(3) + index


def test_seeded_dataset_depends_on_key_only():
    data = SeededDataset(NoisyImages())
    a = data[(2, 99)]
    torch.rand(5)  # moving the global generator changes nothing
    assert torch.equal(data[(2, 99)], a)
    assert not torch.equal(data[(2, 98)], a)
    state = torch.get_rng_state()
    data[(1, 7)]
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is restored


def test_reestimate_bn_gives_the_data_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    model[1].running_mean.fill_(50.0)  # stale statistics
    model[1].running_var.fill_(9.0)
    images = 2.0 + 3.0 * torch.randn(40, 2, 4, 4)
    data = TensorDataset(images, torch.zeros(40))
    assert reestimate_bn(model, data, batches=10, batch_size=8) == 40 and not model.training
    with torch.no_grad():
        features = model[0](images)
    mean = features.mean(dim=(0, 2, 3))
    torch.testing.assert_close(model[1].running_mean, mean, rtol=1e-5, atol=1e-5)
    assert reestimate_bn(model, data, batches=3, batch_size=40) == 40  # one batch: exact var
    var = features.transpose(0, 1).reshape(3, -1).var(dim=1, unbiased=True)
    torch.testing.assert_close(model[1].running_var, var, rtol=1e-4, atol=1e-4)
    assert model[1].momentum == 0.1  # restored
    with pytest.raises(DataError, match="empty"):
        reestimate_bn(model, TensorDataset(torch.zeros(0, 2, 4, 4), torch.zeros(0)))


def test_run_folder_refused_overwritten_or_resumed(tmp_path):
    run = tmp_path / "run"
    prepare_run_dir(run, resume=False, overwrite=False)  # a new folder is fine
    (run / "best.pt").write_bytes(b"old")
    (run / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="--resume to continue it or --force"):
        prepare_run_dir(run, resume=False, overwrite=False)
    prepare_run_dir(run, resume=True, overwrite=False)
    assert (run / "best.pt").exists()
    prepare_run_dir(run, resume=False, overwrite=True)
    assert not (run / "best.pt").exists() and (run / "notes.txt").read_text() == "mine"


def test_unwritable_run_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="not writable"):
        prepare_run_dir(blocker / "run", resume=False, overwrite=False)
    with pytest.raises(ConfigError, match="not a folder"):
        prepare_run_dir(blocker, resume=False, overwrite=False)
