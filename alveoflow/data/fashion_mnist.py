"""Fashion-MNIST from local IDX files (never downloaded).

``load_fashion_mnist(split)`` returns ``(images, labels)``: uint8 ``(N, 28, 28)`` and int64
``(N,)``, with 60,000 training and 10,000 test samples in the official release. The files are
found through :mod:`alveoflow.data.paths` (Debian package ``dataset-fashion-mnist`` installs
them under ``/usr/share/datasets/fashion-mnist``); both ``.gz`` and uncompressed files work.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alveoflow.data.idx import read_idx
from alveoflow.data.paths import DATA_ENV_VAR, candidate_dirs
from alveoflow.errors import DataError

NAME = "fashion-mnist"
CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_PREFIX = {"train": "train", "test": "t10k", "t10k": "t10k"}
INSTALL_HINT = (
    "install it with `sudo apt-get install dataset-fashion-mnist` (files go to "
    f"/usr/share/datasets/fashion-mnist), or point {DATA_ENV_VAR} or --data at a folder holding "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz"
)


def _find(folder: Path, prefix: str, what: str, idx: str) -> Path | None:
    """``<prefix>-<what>-<idx>-ubyte[.gz]`` (or ``.<idx>`` as MNIST spells it) in ``folder``."""
    for sep in ("-", "."):
        for suffix in (".gz", ""):
            path = folder / f"{prefix}-{what}{sep}{idx}-ubyte{suffix}"
            if path.is_file():
                return path
    return None


def find_fashion_mnist(split: str, root: str | Path | None = None) -> tuple[Path, Path]:
    """Paths of the (images, labels) files of ``split``; :class:`DataError` if absent."""
    if split not in _PREFIX:
        raise DataError(f"unknown Fashion-MNIST split {split!r}; use 'train' or 'test'")
    prefix = _PREFIX[split]
    searched = candidate_dirs(NAME, root)
    for folder in searched:
        images = _find(folder, prefix, "images", "idx3")
        labels = _find(folder, prefix, "labels", "idx1")
        if images and labels:
            return images, labels
    where = ", ".join(str(d) for d in searched)
    raise DataError(f"Fashion-MNIST ({split}) not found (searched {where}); {INSTALL_HINT}")


def load_fashion_mnist(
    split: str = "train", root: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 28, 28), labels int64 (N,))`` of ``split`` ('train' or 'test')."""
    images_path, labels_path = find_fashion_mnist(split, root)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(
            f"{images_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{labels_path}: {labels.shape} labels do not match {len(images)} images")
    if len(labels) and int(labels.max()) >= len(CLASSES):
        raise DataError(f"{labels_path}: label {int(labels.max())} is out of range 0..9")
    return images, labels.astype(np.int64)
