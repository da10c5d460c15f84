"""Quantisation-aware training of any classifier ``nn.Module`` (Brevitas or float).

:func:`train` runs ``config.epochs`` epochs of minibatch training with the optimizer,
learning-rate schedule (stepped every batch), label smoothing and optional distillation that
``config`` names, evaluates on ``val_data`` after each epoch, and on rank 0 writes
``metrics.csv``, ``curves.png``, ``last.pt`` and ``best.pt`` to ``config.out_dir`` (and
``last.pt`` every ``config.checkpoint_every`` steps). The model's output may be a tensor of
logits or a Brevitas ``QuantTensor`` (its ``.value``).

Reproducibility: the order of each epoch and every random augmentation are seeded by
``(seed, epoch, sample index)`` (see :mod:`alveoflow.train.sampling`), so on a CPU a run is
deterministic for a seed, and a run resumed from any checkpoint, at an epoch boundary or in
the middle of an epoch, ends with the same weights as an uninterrupted one (for models whose
forward draws no random numbers, and once Brevitas' activation statistics are initialised,
which ``stats_batch_size`` does before the first step).

Under torchrun (see :mod:`alveoflow.train.distributed`) the model is wrapped in
DistributedDataParallel, each process trains on its shard of every epoch and the reported
metrics are summed over all processes (the shards may repeat up to ``world_size - 1``
samples so that every process gets the same count). ``images_per_s`` in the history is
training throughput per process (per device).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from alveoflow.train import checkpoint as ckpt
from alveoflow.train import runstate
from alveoflow.train.config import TrainConfig, TrainResult
from alveoflow.train.distill import distillation_loss
from alveoflow.train.distributed import DistInfo, all_reduce_sum, dist_from_env, pick_device
from alveoflow.train.distributed import setup as dist_setup
from alveoflow.train.distributed import teardown as dist_teardown
from alveoflow.train.rundir import prepare_run_dir
from alveoflow.train.runstate import Run, Trainers
from alveoflow.train.sampling import EpochSampler, SeededDataset
from alveoflow.train.schedule import build_optimizer, build_scheduler, lr_factor
from alveoflow.train.stats import finish_stats_collection

log = logging.getLogger(__name__)


def logits_of(output: Any) -> torch.Tensor:
    """Plain logits from a model output (a tensor or a Brevitas QuantTensor)."""
    return output.value if hasattr(output, "value") else output


def make_loader(
    data: Dataset,
    batch_size: int,
    train: bool,
    config: TrainConfig,
    info: DistInfo,
    device: torch.device,
) -> DataLoader:
    """A DataLoader over this process's seeded shard of ``data`` (see module docstring)."""
    size = len(data)  # type: ignore[arg-type]
    sampler = EpochSampler(size, train, config.seed, info.rank, info.world_size)
    return DataLoader(
        SeededDataset(data),
        batch_size=batch_size,
        sampler=sampler,
        drop_last=train and sampler.shard_size > batch_size,
        num_workers=config.num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=config.num_workers > 0,
    )


def _position(loader: DataLoader, epoch: int, skip_steps: int) -> int:
    """Point ``loader`` at ``epoch``, skipping ``skip_steps`` batches; returns its step count."""
    sampler = loader.sampler
    assert isinstance(sampler, EpochSampler) and loader.batch_size is not None
    sampler.set_epoch(epoch)
    sampler.set_start(skip_steps * loader.batch_size)
    return skip_steps + len(loader)


def _train_step(
    run: Run, parts: Trainers, images: torch.Tensor, labels: torch.Tensor
) -> tuple[float, float]:
    """One optimizer step; returns (summed loss, correct count) of the batch."""
    cfg, model = run.config, run.model
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
    parts.optimizer.zero_grad(set_to_none=True)
    parts.scaler.scale(loss).backward()
    if cfg.grad_clip:
        parts.scaler.unscale_(parts.optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.scheduler.step()
    n = labels.numel()
    return float(loss.detach()) * n, float((out.argmax(1) == labels).sum())


def _train_epoch(
    run: Run, loader: DataLoader, parts: Trainers, epoch: int, skip: int
) -> tuple[float, float, float, float]:
    """Train one epoch from step ``skip``; (loss, accuracy, seconds, images/s per device)."""
    cfg = run.config
    run.model.train()
    torch.manual_seed(cfg.seed + epoch + 7919 * run.info.rank)  # for models that draw numbers
    total = _position(loader, epoch, skip)
    sums = run.epoch_sums if skip else [0.0, 0.0, 0.0]
    run.epoch_sums = sums
    before, start, images_here = (run.epoch_seconds if skip else 0.0), time.perf_counter(), 0
    bar = tqdm(
        loader,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        leave=False,
        disable=not (cfg.progress and run.info.is_main),
        dynamic_ncols=True,
        initial=skip,
        total=total,
    )
    for step, (images, labels) in enumerate(bar, start=skip + 1):
        loss_sum, correct = _train_step(run, parts, images, labels)
        sums[0], sums[1], sums[2] = sums[0] + loss_sum, sums[1] + correct, sums[2] + len(labels)
        images_here += len(labels)
        elapsed = time.perf_counter() - start
        bar.set_postfix(loss=f"{sums[0] / sums[2]:.3f}", acc=f"{sums[1] / sums[2]:.3f}")
        if cfg.log_every and step % cfg.log_every == 0 and run.info.is_main:
            _log(
                f"epoch {epoch + 1} step {step}/{total}: loss {sums[0] / sums[2]:.4f}, "
                f"{images_here / elapsed:.1f} images/s per device",
                cfg,
            )
        if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < total:
            runstate.save(run, parts, epoch, step, before + elapsed, best=False)
    seconds = time.perf_counter() - start
    total_loss, correct, count = all_reduce_sum(sums, run.device)
    rate = images_here / seconds if seconds > 0 else math.nan
    return total_loss / max(count, 1), correct / max(count, 1), before + seconds, rate


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


def _log(line: str, cfg: TrainConfig) -> None:
    if cfg.progress:
        tqdm.write(line)  # prints cleanly above any progress bar
    else:
        log.info(line)


def _report(row: dict[str, float], cfg: TrainConfig) -> None:
    _log(
        f"epoch {row['epoch']}/{cfg.epochs}: train loss {row['train_loss']:.4f} "
        f"acc {row['train_acc']:.4f} | val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}"
        f" | lr {row['lr']:.3g} | {row['seconds']:.1f}s, "
        f"{row['images_per_s']:.1f} images/s per device",
        cfg,
    )


def _trainers(run: Run, steps_per_epoch: int) -> Trainers:
    cfg = run.config
    optimizer = build_optimizer(run.model, cfg)
    return Trainers(
        optimizer,
        build_scheduler(optimizer, cfg, steps_per_epoch=steps_per_epoch),
        torch.amp.GradScaler(
            "cuda", enabled=run.device.type == "cuda" and cfg.amp and cfg.amp_dtype == "float16"
        ),
    )


def _fit(
    run: Run, train_data: Dataset, val_data: Dataset | None, resume_state: dict[str, Any] | None
) -> TrainResult:
    cfg = run.config
    train_loader = make_loader(train_data, cfg.batch_size, True, cfg, run.info, run.device)
    val_loader = (
        None
        if val_data is None
        else make_loader(val_data, cfg.batch_size * 2, False, cfg, run.info, run.device)
    )
    steps = len(train_loader)
    parts = _trainers(run, steps)
    if resume_state is not None:
        runstate.restore(run, resume_state, parts)
    for epoch in range(run.start_epoch, cfg.epochs):
        skip = run.start_step if epoch == run.start_epoch else 0
        lr = cfg.lr * lr_factor(epoch * steps, cfg, steps)  # at the epoch's first step
        train_loss, train_acc, seconds, rate = _train_epoch(run, train_loader, parts, epoch, skip)
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
            seconds=seconds,
            images_per_s=rate,
        )
        run.history.append(row)
        score = train_acc if val_loader is None else val_acc
        is_best = score > run.best_val_acc
        if is_best:
            run.best_val_acc, run.best_epoch = score, epoch + 1
        if run.info.is_main:
            _report(row, cfg)
        runstate.save(run, parts, epoch + 1, 0, seconds, is_best)
    return runstate.result(run)


def train(
    model: nn.Module,
    train_data: Dataset,
    val_data: Dataset | None = None,
    config: TrainConfig | None = None,
    teacher: nn.Module | None = None,
    extra_state: dict[str, Any] | None = None,
    check_run_dir: bool = True,
) -> TrainResult:
    """Train ``model`` in place and return the per-epoch history (see module docstring).

    ``extra_state`` entries are stored in every checkpoint (e.g. a recipe's settings).
    ``config.out_dir`` is checked first (:func:`alveoflow.train.rundir.prepare_run_dir`)
    unless ``check_run_dir`` is False (a caller that checked a whole run folder itself)."""
    config = config or TrainConfig()
    info = dist_from_env()
    device = pick_device(config.device, info)
    if config.out_dir is not None and info.is_main and check_run_dir:
        prepare_run_dir(config.out_dir, config.resume is not None, config.overwrite)
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
        run = Run(wrapped, config, info, device, teacher, dict(extra_state or {}))
        return _fit(run, train_data, val_data, resume_state)
    finally:
        dist_teardown(created)
