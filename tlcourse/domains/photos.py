"""Patches of the photographs and textures that ship with scikit-image, labelled by their image.

Each image is cut into horizontal strips of ``STRIP`` rows, and the strips are dealt to the splits
(train, train, val, train, test, train, train, val, ...): a patch never crosses a strip, so train,
val and test patches come from disjoint regions. A patch is a random square of 28..56 pixels,
shrunk to 28 x 28 and contrast-stretched into [0, 1] (1st to 99th percentile), so brightness alone
does not give the image away. Flat patches (std below ``FLAT``) are redrawn.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

#: class name -> ``skimage.data`` function
IMAGES = {"brick": "brick", "grass": "grass", "gravel": "gravel", "coffee": "coffee",
          "cat": "chelsea", "astronaut": "astronaut", "rocket": "rocket", "camera": "camera",
          "coins": "coins", "moon": "moon"}
CLASSES = list(IMAGES)
STRIP = 64
_PATTERN = ("train", "train", "val", "train", "test")
SIZE, MIN_CROP, MAX_CROP = 28, 28, 56
FLAT = 0.02  # a patch whose pixels vary less than this (std) is redrawn


@lru_cache(maxsize=None)
def image(name: str) -> np.ndarray:
    """The grayscale image behind class ``name``, float32 in [0, 1]."""
    import skimage.data
    from skimage.color import rgb2gray

    im = getattr(skimage.data, IMAGES[name])()
    im = rgb2gray(im) if im.ndim == 3 else im.astype(np.float64) / 255
    return im.astype(np.float32)


def strips(height: int, split: str) -> list[tuple[int, int]]:
    """Row ranges of an image of ``height`` rows that belong to ``split``."""
    bands = [(top, min(top + STRIP, height)) for top in range(0, height, STRIP)]
    return [(a, b) for k, (a, b) in enumerate(bands) if _PATTERN[k % len(_PATTERN)] == split
            and b - a >= MIN_CROP]


def standardise(patches: torch.Tensor) -> torch.Tensor:
    """Stretch each patch's 1st..99th percentile to [0, 1]."""
    flat = patches.flatten(1)
    lo, hi = torch.quantile(flat, torch.tensor([0.01, 0.99]), dim=1)
    return ((patches - lo[:, None, None]) / (hi - lo).clamp_min(0.02)[:, None, None]).clamp(0, 1)


def crops(name: str, split: str, n: int, rng: np.random.Generator, standard: bool = True) -> torch.Tensor:
    """``n`` random 28 x 28 patches of image ``name`` from ``split``'s strips, standardised
    unless ``standard=False`` (then with the photo's own intensities)."""
    im = torch.from_numpy(image(name))
    bands = strips(im.shape[0], split)
    out = torch.empty(n, SIZE, SIZE)
    weights = np.array([b - a for a, b in bands], dtype=float)
    which = rng.choice(len(bands), n, p=weights / weights.sum())
    for i, k in enumerate(which):
        top, bottom = bands[k]
        for _ in range(20):  # skip flat patches (sky, black background): they show no image
            size = int(rng.integers(MIN_CROP, min(MAX_CROP, bottom - top) + 1))
            r = int(rng.integers(top, bottom - size + 1))
            c = int(rng.integers(0, im.shape[1] - size + 1))
            patch = im[r:r + size, c:c + size][None, None]
            if patch.std() > FLAT:
                break
        out[i] = F.interpolate(patch, size=(SIZE, SIZE), mode="bilinear", antialias=True,
                               align_corners=False)[0, 0]
    return standardise(out) if standard else out


def build(split: str, per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` patches of every image, uint8 (N, 28, 28), and their labels."""
    x = torch.cat([crops(name, split, per_class, rng) for name in CLASSES])
    y = np.repeat(np.arange(len(CLASSES)), per_class)
    return (x * 255 + 0.5).to(torch.uint8).numpy(), y
