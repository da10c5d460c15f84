"""Per-epoch metrics on disk: ``metrics.csv`` and a ``curves.png`` of loss and accuracy.

The CSV has one header line and one row per epoch with the columns in ``COLUMNS``; it is
rewritten whole from the run's history each epoch, so a resumed run keeps earlier rows.
The plot uses matplotlib's Agg canvas directly (no display, no global backend switch).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "seconds",
    "images_per_s",
)


def write_csv(path: str | Path, history: Sequence[dict[str, float]]) -> Path:
    """Write every row of ``history`` (dicts keyed by ``COLUMNS``) to ``path``."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow({k: _fmt(row.get(k, math.nan)) for k in COLUMNS})
    return path


def read_csv(path: str | Path) -> list[dict[str, float]]:
    """Rows written by :func:`write_csv`, as floats (epoch as int)."""
    with Path(path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in rows]


def _fmt(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def plot_curves(path: str | Path, history: Sequence[dict[str, float]], title: str = "") -> Path:
    """Save a two-panel PNG: train/val loss and train/val accuracy per epoch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    for ax, metric, label in zip(
        fig.subplots(1, 2), ("loss", "acc"), ("loss", "accuracy"), strict=True
    ):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = [row.get(f"{split}_{metric}", math.nan) for row in history]
            if any(not math.isnan(v) for v in values):
                ax.plot(epochs, values, style, markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    return path
