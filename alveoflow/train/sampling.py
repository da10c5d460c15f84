"""Resumable, reproducible sampling: the same batches and augmentations after a restart.

:class:`EpochSampler` yields ``(index, sample_seed)`` pairs: the epoch's order is a
permutation seeded by ``(seed, epoch)``, sharded over the processes of a distributed job
(padded by repeating its head so every process gets the same count, as
``DistributedSampler`` does), and ``set_start(n)`` skips the first ``n`` samples of this
process's shard, which is how a run resumes in the middle of an epoch.

:class:`SeededDataset` wraps any map-style dataset and answers ``dataset[(index, seed)]``
by running the wrapped ``__getitem__`` with torch's global generator seeded from ``seed``
(restored afterwards), so random augmentations depend on ``(seed, epoch, index)`` only: not
on the number of DataLoader workers, the batch an image lands in, or where a run resumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
_MASK = (1 << 63) - 1


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for one sample of one epoch (splitmix-style hashing)."""
    value = (seed * _MIX[0] + epoch * _MIX[1] + index * _MIX[2]) & ((1 << 64) - 1)
    value ^= value >> 31
    value = (value * _MIX[1]) & ((1 << 64) - 1)
    value ^= value >> 29
    return value & _MASK


class EpochSampler(Sampler[tuple[int, int]]):
    """Seeded per-epoch order of ``size`` samples for process ``rank`` of ``world``."""

    def __init__(
        self, size: int, shuffle: bool, seed: int = 0, rank: int = 0, world: int = 1
    ) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside a world of {world}")
        self.size, self.shuffle, self.seed = int(size), bool(shuffle), int(seed)
        self.rank, self.world = rank, world
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's permutation; also resets the start to 0."""
        self.epoch, self.start = int(epoch), 0

    def set_start(self, start: int) -> None:
        """Skip the first ``start`` samples of this process's shard (mid-epoch resume)."""
        self.start = max(0, int(start))

    @property
    def shard_size(self) -> int:
        """Samples per process per epoch (all processes get the same count)."""
        return -(-self.size // self.world) if self.size else 0

    def order(self) -> list[int]:
        """This process's sample indices for the current epoch, before ``start``."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, -1))
            perm = torch.randperm(self.size, generator=generator).tolist()
        else:
            perm = list(range(self.size))
        padded = self.shard_size * self.world
        if perm and padded > len(perm):
            perm += perm[: padded - len(perm)]
        return perm[self.rank :: self.world]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for index in self.order()[self.start :]:
            yield index, sample_seed(self.seed, self.epoch, index)

    def __len__(self) -> int:
        return max(0, self.shard_size - self.start)


class SeededDataset(Dataset):
    """``dataset[(index, seed)]`` = ``dataset[index]`` drawn under a generator seeded by
    ``seed``; a plain integer key is passed through unseeded."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            return self.dataset[key]
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]
