"""Online option at the real backbone's scale: DTD, Flowers-102 and CIFAR-100 as lesson 08's colour targets.

    >>> from tlcourse import domains
    >>> dtd = domains.load_online_colour("dtd", "train", n_per_class=10)   # downloads once if needed

Every image becomes what ``colour-photos`` gives: 3 x 96 x 96 float32 in [0, 1]. A photo (DTD's textures,
Flowers-102's flowers, any size) is cut to its central square and shrunk; CIFAR-100's 32-px images are
enlarged. DTD (partition 1) and Flowers-102 ship their own train/val/test splits; CIFAR-100 has train and
test only, so a fixed 10% of its training set is ``"val"``, as in :mod:`online`. Only the images that
``n_per_class`` keeps are decoded and resized: pass it (the whole CIFAR-100 training set at 96 px is 5 GB).

``strength`` (0..1) shifts the images as ``colour-photos`` does: seen up to 2x closer (a central crop down
to half the size, enlarged) and blended towards grey. CIFAR-10 -> CIFAR-100 is seed article 004's transfer;
CIFAR-10 itself, at the course network's 28 px, is :func:`online.load_online`'s.

Files, download and the offline failure are :mod:`online`'s: ``root`` or ``$TORCH_HOME/datasets``; with the
files there nothing touches the network; without them and offline, a clear error within seconds.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from tlcourse.domains import SPLITS, DomainData, subset_indices
from tlcourse.domains.online import _split, default_root, open_dataset

SIZE = 96


@dataclass(frozen=True)
class _Colour:
    cls: str                                   # the torchvision.datasets class
    split_arg: Callable[[str], dict[str, Any]]  # the course's split -> the class's split argument
    url: Callable[[type], str]                 # where that class downloads from (probed first)


_REGISTRY: dict[str, _Colour] = {
    "dtd": _Colour("DTD", lambda split: {"split": split, "partition": 1}, lambda c: c._URL),
    "flowers102": _Colour("Flowers102", lambda split: {"split": split}, lambda c: c._download_url_prefix),
    "cifar100": _Colour("CIFAR100", lambda split: {"train": split != "test"}, lambda c: c.url),
}


def available() -> list[str]:
    """Names accepted by :func:`load_online_colour`."""
    return list(_REGISTRY)


def to_colour(image: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """A (3, H, W) image in [0, 1] -> its central square resized to (3, size, size)."""
    h, w = image.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[None, :, top:top + side, left:left + side]
    return F.interpolate(square, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def shift(x: torch.Tensor, strength: float) -> torch.Tensor:
    """(N, 3, S, S) images seen up to 2x closer (central crop, enlarged) and greyer, by ``strength`` in [0, 1]."""
    if strength == 0:
        return x
    size = x.shape[-1]
    crop = round(size * (1 - strength / 2))
    off = (size - crop) // 2
    x = F.interpolate(x[..., off:off + crop, off:off + crop], size=(size, size), mode="bilinear",
                      antialias=True, align_corners=False)
    grey = x.mean(1, keepdim=True)
    return (x + strength * (grey - x)).clamp(0, 1)


def _pil_to_tensor(image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)


def load_online_colour(name: str, split: str = "train", root: str | os.PathLike | None = None,
                       download: bool = True, n_per_class: int | None = None, seed: int = 0,
                       strength: float = 0.0, timeout: float = 10.0) -> DomainData:
    """One split of a torchvision dataset (``available()``: dtd, flowers102, cifar100) as a colour
    :class:`DomainData` like ``colour-photos`` (3 x 96 x 96 in [0, 1]), optionally ``n_per_class`` images
    of every class chosen with ``seed``, shifted by ``strength``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown online colour dataset {name!r}; available: {', '.join(_REGISTRY)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    strength = float(strength)
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    root = Path(root).expanduser() if root is not None else default_root()
    spec = _REGISTRY[name]
    ds = open_dataset(name, spec.cls, spec.split_arg(split), spec.url, root, download, timeout)
    classes = list(ds.classes)
    if name == "cifar100":
        y = np.asarray(ds.targets, dtype=np.int64)
        index = np.arange(len(y)) if split == "test" else _split(len(y), split)
    else:  # photo folders: labels first, so that only the kept images are decoded
        y = np.asarray(ds._labels, dtype=np.int64)
        index = np.arange(len(y))
    if n_per_class is not None:
        index = index[subset_indices(y[index], int(n_per_class), seed, classes, f" for {name!r} {split}")]
    x = torch.empty(len(index), 3, SIZE, SIZE)
    for k, i in enumerate(index):
        image = (torch.from_numpy(ds.data[i]).permute(2, 0, 1).float() / 255 if name == "cifar100"
                 else _pil_to_tensor(ds[int(i)][0]))
        x[k] = to_colour(image)
    x = shift(x.clamp_(0, 1), strength)
    return DomainData(x, torch.from_numpy(y[index]), classes, name, split, {"strength": strength})


__all__ = ["SIZE", "available", "load_online_colour", "shift", "to_colour"]
