"""Small image transforms without torchvision.

Every transform is a callable. Image transforms take and return a numpy ``uint8`` array in
HWC layout (a PIL image or an HW array is accepted on entry and converted by
:func:`as_array`); :class:`ToTensor` turns it into a float ``(C, H, W)`` tensor, scaled by
``scale`` (1/255 by default, so pixels land in [0, 1]); :class:`Normalize` works on that tensor.
Random transforms draw from torch's global generator (which ``torch.manual_seed`` and each
DataLoader worker seed) unless given a ``seed``, in which case they own a private generator
and repeat exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from alveoflow.errors import DataError


def as_array(image: Any) -> np.ndarray:
    """An HWC uint8 array from a PIL image, an HW array or an HWC array."""
    if isinstance(image, Image.Image):
        image = np.asarray(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise DataError(f"images must be uint8, got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise DataError(f"images must be HW or HWC, got shape {array.shape}")
    return array


def _generator(seed: int | None) -> torch.Generator | None:
    """A private seeded generator, or None for torch's global one."""
    return None if seed is None else torch.Generator().manual_seed(int(seed))


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]):
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class ResizeShorter:
    """Resize so the shorter side is ``size`` pixels, keeping the aspect ratio (bilinear)."""

    def __init__(self, size: int):
        self.size = int(size)

    def __call__(self, image: Any) -> np.ndarray:
        array = as_array(image)
        h, w = array.shape[:2]
        scale = self.size / min(h, w)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        if (new_h, new_w) == (h, w):
            return array
        channels = array.shape[2]
        pil = Image.fromarray(array[:, :, 0] if channels == 1 else array)
        out = np.asarray(pil.resize((new_w, new_h), Image.Resampling.BILINEAR))
        return out[:, :, None] if channels == 1 else out

    def __repr__(self) -> str:
        return f"ResizeShorter({self.size})"


class CenterCrop:
    """Cut the central ``size`` x ``size`` window (the image must be at least that big)."""

    def __init__(self, size: int):
        self.size = int(size)

    def __call__(self, image: Any) -> np.ndarray:
        array = as_array(image)
        h, w = array.shape[:2]
        if h < self.size or w < self.size:
            raise DataError(f"CenterCrop({self.size}) needs at least that size, got {h}x{w}")
        top, left = (h - self.size) // 2, (w - self.size) // 2
        return array[top : top + self.size, left : left + self.size]

    def __repr__(self) -> str:
        return f"CenterCrop({self.size})"


class RandomCrop:
    """Zero-pad by ``padding`` on each side, then cut a random ``size`` x ``size`` window."""

    def __init__(self, size: int, padding: int = 0, seed: int | None = None):
        self.size, self.padding = int(size), int(padding)
        self.gen = _generator(seed)

    def __call__(self, image: Any) -> np.ndarray:
        array = as_array(image)
        if self.padding:
            p = self.padding
            array = np.pad(array, ((p, p), (p, p), (0, 0)))
        h, w = array.shape[:2]
        if h < self.size or w < self.size:
            raise DataError(f"RandomCrop({self.size}) needs at least that size, got {h}x{w}")
        top = int(torch.randint(0, h - self.size + 1, (), generator=self.gen))
        left = int(torch.randint(0, w - self.size + 1, (), generator=self.gen))
        return array[top : top + self.size, left : left + self.size]

    def __repr__(self) -> str:
        return f"RandomCrop({self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, seed: int | None = None):
        self.p = float(p)
        self.gen = _generator(seed)

    def __call__(self, image: Any) -> np.ndarray:
        array = as_array(image)
        return array[:, ::-1] if float(torch.rand((), generator=self.gen)) < self.p else array

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class ToTensor:
    """HWC uint8 array -> float32 ``(C, H, W)`` tensor times ``scale`` (1/255: pixels in [0, 1])."""

    def __init__(self, scale: float = 1.0 / 255.0):
        self.scale = float(scale)

    def __call__(self, image: Any) -> torch.Tensor:
        array = np.ascontiguousarray(as_array(image).transpose(2, 0, 1))
        return torch.from_numpy(array).to(torch.float32).mul_(self.scale)

    def __repr__(self) -> str:
        return f"ToTensor(scale={self.scale:g})"


class Normalize:
    """``(x - mean) / std`` per channel on a ``(C, H, W)`` tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def __repr__(self) -> str:
        return f"Normalize({self.mean.flatten().tolist()}, {self.std.flatten().tolist()})"


def _tail(scale: float, normalize: Normalize | None) -> list[Callable[[Any], Any]]:
    return [ToTensor(scale)] + ([normalize] if normalize is not None else [])


def train_transform(
    size: int,
    resize: int | None = None,
    padding: int = 0,
    flip: bool = True,
    scale: float = 1.0 / 255.0,
    normalize: Normalize | None = None,
) -> Compose:
    """Training augmentation: optional shorter-side resize, random crop, random flip, tensor."""
    steps: list[Callable[[Any], Any]] = [ResizeShorter(resize)] if resize else []
    steps.append(RandomCrop(size, padding=padding))
    if flip:
        steps.append(RandomHorizontalFlip())
    return Compose(steps + _tail(scale, normalize))


def eval_transform(
    size: int,
    resize: int | None = None,
    scale: float = 1.0 / 255.0,
    normalize: Normalize | None = None,
) -> Compose:
    """Evaluation pipeline: optional shorter-side resize, center crop, tensor."""
    steps: list[Callable[[Any], Any]] = [ResizeShorter(resize)] if resize else []
    steps.append(CenterCrop(size))
    return Compose(steps + _tail(scale, normalize))
