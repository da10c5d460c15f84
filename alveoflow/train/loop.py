"""Quantisation-aware training of any classifier ``nn.Module`` (Brevitas or float).

:func:`train` runs ``config.epochs`` epochs of minibatch training with the optimizer,
learning-rate schedule (stepped every batch), label smoothing and optional distillation that
``config`` names, evaluates on ``val_data`` after each epoch, and on rank 0 writes
``metrics.csv``, ``curves.png``, ``last.pt`` and ``best.pt`` to ``config.out_dir``.
The model's output may be a tensor of logits or a Brevitas ``QuantTensor`` (its ``.value``).
Under torchrun (see :mod:`alveoflow.train.distributed`) the model is wrapped in
DistributedDataParallel, each process sees a DistributedSampler shard and the reported
metrics are summed over all processes (the validation shards may repeat up to
``world_size - 1`` samples so that every process gets the same count).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from alveoflow.train import checkpoint as ckpt
from alveoflow.train.config import TrainConfig, TrainResult
from alveoflow.train.distill import distillation_loss
from alveoflow.train.distributed import DistInfo, all_reduce_sum, dist_from_env, pick_device
from alveoflow.train.distributed import setup as dist_setup
from alveoflow.train.distributed import teardown as dist_teardown
from alveoflow.train.metrics import plot_curves, write_csv
from alveoflow.train.schedule import build_optimizer, build_scheduler
from alveoflow.train.stats import finish_stats_collection

log = logging.getLogger(__name__)


def logits_of(output: Any) -> torch.Tensor:
    """Plain logits from a model output (a tensor or a Brevitas QuantTensor)."""
    return output.value if hasattr(output, "value") else output


@dataclass
class _Run:
    """Mutable state of one training run."""

    model: nn.Module
    config: TrainConfig
    info: DistInfo
    device: torch.device
    teacher: nn.Module | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    best_val_acc: float = -math.inf
    best_epoch: int = 0
    start_epoch: int = 0

    @property
    def autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type != "cuda" or not self.config.amp:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=getattr(torch, self.config.amp_dtype))


def make_loader(
    data: Dataset,
    batch_size: int,
    train: bool,
    config: TrainConfig,
    info: DistInfo,
    device: torch.device,
) -> DataLoader:
    """A DataLoader (with a DistributedSampler under torchrun) for one split."""
    sampler: DistributedSampler | None = None
    if info.enabled:
        sampler = DistributedSampler(
            data, num_replicas=info.world_size, rank=info.rank, shuffle=train, seed=config.seed
        )
    generator = torch.Generator().manual_seed(config.seed)
    per_process = len(data) // info.world_size  # type: ignore[arg-type]
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        drop_last=train and per_process > batch_size,
        num_workers=config.num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=config.num_workers > 0,
        generator=generator,
    )


def _train_epoch(
    run: _Run,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: torch.amp.GradScaler,
    epoch: int,
) -> tuple[float, float]:
    cfg, model = run.config, run.model
    model.train()
    # Seed shuffling and augmentation from (seed, epoch) so a resumed run repeats exactly.
    torch.manual_seed(cfg.seed + epoch + 7919 * run.info.rank)
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)
    elif loader.generator is not None:
        loader.generator.manual_seed(cfg.seed + epoch)
    sums = [0.0, 0.0, 0.0]  # loss * n, correct, n
    bar = tqdm(
        loader,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        leave=False,
        disable=not (cfg.progress and run.info.is_main),
        dynamic_ncols=True,
    )
    for images, labels in bar:
        images = images.to(run.device, non_blocking=True)
        labels = labels.to(run.device, non_blocking=True)
        with run.autocast:
            out = logits_of(model(images))
            loss = F.cross_entropy(out.float(), labels, label_smoothing=cfg.label_smoothing)
            if run.teacher is not None:
                with torch.no_grad():
                    teacher_out = logits_of(run.teacher(images))
                loss = distillation_loss(
                    out, teacher_out, loss, cfg.distill_alpha, cfg.distill_temperature
                )
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if cfg.grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        n = labels.numel()
        sums[0] += float(loss.detach()) * n
        sums[1] += float((out.argmax(1) == labels).sum())
        sums[2] += n
        bar.set_postfix(loss=f"{sums[0] / sums[2]:.3f}", acc=f"{sums[1] / sums[2]:.3f}")
    total_loss, correct, count = all_reduce_sum(sums, run.device)
    return total_loss / max(count, 1), correct / max(count, 1)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    amp: bool = False,
    amp_dtype: str = "bfloat16",
) -> tuple[float, float]:
    """(mean cross-entropy, top-1 accuracy) over ``loader``, summed over all processes."""
    model.eval()
    sums = [0.0, 0.0, 0.0]
    ctx = (
        torch.autocast("cuda", dtype=getattr(torch, amp_dtype))
        if amp and device.type == "cuda"
        else contextlib.nullcontext()
    )
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        with ctx:
            out = logits_of(model(images)).float()
        sums[0] += float(F.cross_entropy(out, labels, reduction="sum"))
        sums[1] += float((out.argmax(1) == labels).sum())
        sums[2] += labels.numel()
    total_loss, correct, count = all_reduce_sum(sums, device)
    return total_loss / max(count, 1), correct / max(count, 1)


def _restore_training_state(
    run: _Run, state: dict[str, Any], optimizer: Any, scheduler: Any, scaler: Any
) -> None:
    """Optimizer, scheduler, scaler, epoch and history from a checkpoint (model already loaded)."""
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if state.get(name) is not None:
            obj.load_state_dict(state[name])
    run.start_epoch = int(state.get("epoch", 0))
    run.history = list(state.get("history", []))
    run.best_val_acc = float(state.get("best_val_acc", -math.inf))
    run.best_epoch = int(state.get("best_epoch", 0))
    if run.info.is_main:
        log.info("resumed from %s after epoch %d", run.config.resume, run.start_epoch)


def _save(
    run: _Run, optimizer: Any, scheduler: Any, scaler: Any, epoch: int, is_best: bool
) -> None:
    out = run.config.out_dir
    if out is None or not run.info.is_main:
        return
    state = dict(
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        scaler=scaler.state_dict(),
        epoch=epoch,
        history=run.history,
        best_val_acc=run.best_val_acc,
        best_epoch=run.best_epoch,
        train_config=run.config.to_dict(),
    )
    ckpt.save_checkpoint(f"{out}/last.pt", run.model, **state)
    if is_best:
        ckpt.save_checkpoint(f"{out}/best.pt", run.model, **state)
    write_csv(f"{out}/metrics.csv", run.history)
    plot_curves(f"{out}/curves.png", run.history, title=_title(run.model))


def _title(model: nn.Module) -> str:
    bare = ckpt.unwrap(model)
    config = ckpt.model_config_dict(bare) or {}
    parts = [type(bare).__name__] + [str(config[k]) for k in ("arch", "bits") if k in config]
    return " ".join(parts)


def _result(run: _Run) -> TrainResult:
    out = run.config.out_dir
    folder = Path(out) if out is not None else None
    return TrainResult(
        history=run.history,
        best_val_acc=run.best_val_acc,
        best_epoch=run.best_epoch,
        out_dir=folder,
        last_checkpoint=folder / "last.pt" if folder and (folder / "last.pt").exists() else None,
        best_checkpoint=folder / "best.pt" if folder and (folder / "best.pt").exists() else None,
    )


def _report(row: dict[str, float], cfg: TrainConfig) -> None:
    line = (
        f"epoch {row['epoch']}/{cfg.epochs}: train loss {row['train_loss']:.4f} "
        f"acc {row['train_acc']:.4f} | val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}"
        f" | lr {row['lr']:.3g} | {row['seconds']:.1f}s"
    )
    if cfg.progress:
        tqdm.write(line)  # prints cleanly above any progress bar
    else:
        log.info(line)


def _fit(
    run: _Run, train_data: Dataset, val_data: Dataset | None, resume_state: dict[str, Any] | None
) -> TrainResult:
    cfg = run.config
    train_loader = make_loader(train_data, cfg.batch_size, True, cfg, run.info, run.device)
    val_loader = (
        None
        if val_data is None
        else make_loader(val_data, cfg.batch_size * 2, False, cfg, run.info, run.device)
    )
    optimizer = build_optimizer(run.model, cfg)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch=len(train_loader))
    scaler = torch.amp.GradScaler(
        "cuda", enabled=run.device.type == "cuda" and cfg.amp and cfg.amp_dtype == "float16"
    )
    if resume_state is not None:
        _restore_training_state(run, resume_state, optimizer, scheduler, scaler)
    for epoch in range(run.start_epoch, cfg.epochs):
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = _train_epoch(run, train_loader, optimizer, scheduler, scaler, epoch)
        val_loss, val_acc = (
            (math.nan, math.nan)
            if val_loader is None
            else evaluate(run.model, val_loader, run.device, cfg.amp, cfg.amp_dtype)
        )
        row = dict(
            epoch=epoch + 1,
            train_loss=train_loss,
            train_acc=train_acc,
            val_loss=val_loss,
            val_acc=val_acc,
            lr=lr,
            seconds=time.perf_counter() - start,
        )
        run.history.append(row)
        score = train_acc if val_loader is None else val_acc
        is_best = score > run.best_val_acc
        if is_best:
            run.best_val_acc, run.best_epoch = score, epoch + 1
        if run.info.is_main:
            _report(row, cfg)
        _save(run, optimizer, scheduler, scaler, epoch + 1, is_best)
    return _result(run)


def train(
    model: nn.Module,
    train_data: Dataset,
    val_data: Dataset | None = None,
    config: TrainConfig | None = None,
    teacher: nn.Module | None = None,
) -> TrainResult:
    """Train ``model`` in place and return the per-epoch history (see module docstring)."""
    config = config or TrainConfig()
    info = dist_from_env()
    device = pick_device(config.device, info)
    if config.threads and device.type == "cpu":
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    created = dist_setup(info, device)
    try:
        # Load weights before the optimizer and DDP capture the parameters: Brevitas replaces
        # some Parameter objects (learned activation scales) inside load_state_dict.
        resume_state = ckpt.load_checkpoint(config.resume) if config.resume else None
        if resume_state is not None:
            ckpt.restore_model(model, resume_state, str(config.resume))
        model.to(device)
        if config.stats_batch_size and resume_state is None:
            count = finish_stats_collection(
                model, train_data, config.stats_batch_size, device, config.seed
            )
            if count and info.is_main:
                log.info("initialised activation scales with %d statistics batches", count)
        wrapped: nn.Module = model
        if info.enabled:
            ids = [device.index] if device.type == "cuda" else None
            wrapped = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        if teacher is not None:
            teacher.to(device).eval().requires_grad_(False)
        run = _Run(wrapped, config, info, device, teacher)
        return _fit(run, train_data, val_data, resume_state)
    finally:
        dist_teardown(created)
