"""Multi-process training under ``torchrun``: the one place that reads its environment.

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` (and ``MASTER_ADDR``/``PORT``).
When ``WORLD_SIZE`` is set (even to 1) :func:`setup` joins the process group (NCCL on CUDA,
gloo on CPU) and each process drives ``cuda:LOCAL_RANK`` (or the CPU). Without it, training
is a plain single-process run. Only rank 0 logs, draws progress bars and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from alveoflow.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    enabled: bool = False
    """True when launched by torchrun (process group in use), even with one process."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_from_env() -> DistInfo:
    """Read torchrun's variables; a plain process gets the single-process default."""
    if "WORLD_SIZE" not in os.environ:
        return DistInfo()
    try:
        world = int(os.environ["WORLD_SIZE"])
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as err:
        raise ConfigError(f"WORLD_SIZE/RANK/LOCAL_RANK must be integers: {err}") from None
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"inconsistent torchrun environment: WORLD_SIZE={world} RANK={rank}")
    return DistInfo(world, rank, local, enabled=True)


def pick_device(requested: str, info: DistInfo) -> torch.device:
    """The device this process trains on ('auto' means CUDA when available)."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but torch sees no CUDA GPU; use --device cpu")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", info.local_rank if info.enabled else torch.cuda.current_device())


def setup(info: DistInfo, device: torch.device) -> bool:
    """Join the process group if needed; True when this call created it."""
    if not info.enabled or dist.is_initialized():
        return False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return True


def teardown(created: bool) -> None:
    if created and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum ``values`` over all processes (identity without a process group)."""
    if not dist.is_initialized():
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()
