"""torch ``Dataset`` classes for in-memory arrays and ImageNet-style image folders.

Both return ``(image, label)`` pairs where ``image`` is whatever the ``transform`` makes of an
HWC uint8 array (by default a float ``(C, H, W)`` tensor in [0, 1]) and ``label`` an int.

``ImageFolderDataset`` reads either a folder with one sub-folder per class
(``root/<class>/*.png|jpg|jpeg|npy``; classes sorted by name get labels 0, 1, ...) or a text
file of ``<path> <label>`` lines (paths relative to the file's folder; ``#`` starts a comment).
Images are decoded with PIL, ``.npy`` files must hold uint8 HW or HWC arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from alveoflow.data.fashion_mnist import load_fashion_mnist
from alveoflow.data.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToTensor,
    as_array,
    eval_transform,
    train_transform,
)
from alveoflow.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")
Transform = Callable[[np.ndarray], Any]


class ArrayDataset(Dataset):
    """Images held in memory: uint8 ``(N, H, W)`` or ``(N, H, W, C)`` plus ``(N,)`` labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Transform | None = None):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise DataError(
                f"images must be uint8 (N,H,W) or (N,H,W,C), got {images.dtype} {images.shape}"
            )
        if labels.shape != (len(images),):
            raise DataError(f"labels must have shape ({len(images)},), got {labels.shape}")
        self.images, self.labels = images, labels.astype(np.int64)
        self.transform = transform or ToTensor()
        self.num_classes = int(self.labels.max()) + 1 if len(self.labels) else 0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.transform(self.images[index]), int(self.labels[index])

    def subset(self, count: int) -> ArrayDataset:
        """The first ``count`` samples, sharing the transform."""
        return ArrayDataset(self.images[:count], self.labels[:count], self.transform)


def _load_image(path: Path, mode: str) -> np.ndarray:
    """An HWC uint8 array from an image file or a ``.npy`` array."""
    try:
        if path.suffix.lower() == ".npy":
            return as_array(np.load(path, allow_pickle=False))
        with Image.open(path) as img:
            return as_array(img.convert(mode))
    except (OSError, ValueError, UnidentifiedImageError) as err:
        raise DataError(f"cannot read image {path}: {err}") from err


def _scan_folder(root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{root} has no class sub-folders; expected {root}/<class>/<image>.png")
    samples = [
        (path, label)
        for label, name in enumerate(classes)
        for path in sorted((root / name).rglob("*"))
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    ]
    if not samples:
        raise DataError(f"no {'/'.join(IMAGE_SUFFIXES)} files under the class folders of {root}")
    return samples, classes


def _parse_list(list_file: Path) -> list[tuple[Path, int]]:
    samples = []
    for number, line in enumerate(list_file.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or int(parts[1]) < 0:
            raise DataError(f"{list_file}:{number}: expected '<path> <label>', got {line!r}")
        path = Path(parts[0])
        samples.append((path if path.is_absolute() else list_file.parent / path, int(parts[1])))
    if not samples:
        raise DataError(f"{list_file} lists no images; expected '<path> <label>' lines")
    return samples


class ImageFolderDataset(Dataset):
    """Images on disk: a folder of class sub-folders or a ``<path> <label>`` list file."""

    def __init__(self, source: str | Path, transform: Transform | None = None, mode: str = "RGB"):
        source = Path(source)
        if source.is_dir():
            self.samples, self.classes = _scan_folder(source)
        elif source.is_file():
            self.samples = _parse_list(source)
            self.classes = [str(i) for i in range(max(label for _, label in self.samples) + 1)]
        else:
            raise DataError(
                f"image data source {source} does not exist (need a folder of class "
                "sub-folders or a '<path> <label>' list file)"
            )
        self.transform = transform or ToTensor()
        self.mode = mode
        self.num_classes = len(self.classes)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        return self.transform(_load_image(path, self.mode)), label


def fashion_mnist_datasets(
    root: str | Path | None = None,
    augment: bool = True,
    scale: float = 1.0 / 255.0,
    normalize: Transform | None = None,
) -> tuple[ArrayDataset, ArrayDataset]:
    """(train, test) Fashion-MNIST datasets of ``(1, 28, 28)`` float tensors.

    Pixels are multiplied by ``scale`` (1/255 -> [0, 1]; 1.0 keeps 0..255 for models that
    normalise pixels themselves) and then passed through ``normalize`` if given. Training
    augmentation (``augment``): zero-pad by 2, random 28x28 crop, random horizontal flip.
    """
    train_images, train_labels = load_fashion_mnist("train", root)
    test_images, test_labels = load_fashion_mnist("test", root)
    tail: list[Transform] = [ToTensor(scale)] + ([normalize] if normalize else [])
    head: list[Transform] = [RandomCrop(28, padding=2), RandomHorizontalFlip()] if augment else []
    return (
        ArrayDataset(train_images, train_labels, Compose(head + tail)),
        ArrayDataset(test_images, test_labels, Compose(tail)),
    )


def image_folder_datasets(
    root: str | Path,
    size: int = 224,
    resize: int | None = 256,
    mode: str = "RGB",
    scale: float = 1.0 / 255.0,
    normalize: Normalize | None = None,
    augment: bool = True,
) -> tuple[ImageFolderDataset, ImageFolderDataset]:
    """(train, val) from ``root/train`` and ``root/val`` (ImageNet layout) with standard crops.

    ``augment=False`` gives the training images the evaluation crop (no randomness), e.g. for
    re-estimating BatchNorm statistics."""
    root = Path(root)
    val_dir = root / "val" if (root / "val").is_dir() else root / "test"
    if not (root / "train").is_dir() or not val_dir.is_dir():
        raise DataError(f"{root} must contain 'train' and 'val' (or 'test') class folders")
    train_tf = (
        train_transform(size, resize, scale=scale, normalize=normalize)
        if augment
        else eval_transform(size, resize, scale=scale, normalize=normalize)
    )
    train = ImageFolderDataset(root / "train", train_tf, mode)
    val = ImageFolderDataset(
        val_dir, eval_transform(size, resize, scale=scale, normalize=normalize), mode
    )
    if train.classes != val.classes:
        raise DataError(f"{root}: train and {val_dir.name} have different class folders")
    return train, val


def stack_batch(dataset: Dataset, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of ``indices`` as two batched tensors (handy in tests and demos)."""
    pairs = [dataset[i] for i in indices]
    return torch.stack([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])
