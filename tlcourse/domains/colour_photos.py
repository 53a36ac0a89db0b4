"""Colour patches of scikit-image's photographs and textures at a real backbone's scale (96 px).

Where ``photos`` gives 28-pixel grey patches for the course network, this domain keeps colour and
detail, the input an ImageNet network is built for. Each image is cut into square tiles of ``TILE``
pixels dealt to the splits (train, train, val, train, test, ...), so the splits come from disjoint
regions; a patch is a random square of 64..128 pixels inside one tile, resized to ``SIZE``.

``strength`` (0..1) moves the patches away from the training distribution, as a new camera would:
they are seen up to 2x closer (crops down to half the size, so blurrier when enlarged) and lose
their colour (blended towards grey). ``strength=0`` is the in-distribution domain.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

#: class name -> ``skimage.data`` function (grey textures and colour photographs)
IMAGES = {"brick": "brick", "grass": "grass", "gravel": "gravel", "coffee": "coffee", "cat": "chelsea",
          "astronaut": "astronaut", "rocket": "rocket", "cells": "immunohistochemistry",
          "retina": "retina", "galaxies": "hubble_deep_field"}
CLASSES = list(IMAGES)
PER_CLASS = {"train": 100, "val": 20, "test": 20}
SIZE, TILE, MIN_CROP, MAX_CROP = 96, 128, 64, 128
_PATTERN = ("train", "train", "val", "train", "test")
FLAT = 0.04  # a patch whose pixels vary less than this (std) is redrawn


@lru_cache(maxsize=None)
def image(name: str) -> torch.Tensor:
    """The image behind class ``name`` as a (3, H, W) float tensor in [0, 1] (grey repeated)."""
    import skimage.data

    im = torch.from_numpy(np.asarray(getattr(skimage.data, IMAGES[name])(), dtype=np.float32) / 255)
    return im.expand(3, *im.shape) if im.ndim == 2 else im[..., :3].permute(2, 0, 1)


def tiles(height: int, width: int, split: str) -> list[tuple[int, int]]:
    """Top-left corners of the ``TILE`` x ``TILE`` tiles that belong to ``split``."""
    corners = [(r, c) for r in range(0, height - TILE + 1, TILE) for c in range(0, width - TILE + 1, TILE)]
    return [rc for k, rc in enumerate(corners) if _PATTERN[k % len(_PATTERN)] == split]


def crops(name: str, split: str, n: int, rng: np.random.Generator, strength: float = 0.0) -> torch.Tensor:
    """``n`` random (3, SIZE, SIZE) patches of image ``name`` from ``split``'s tiles, shifted by ``strength``."""
    im = image(name)
    corners = tiles(im.shape[1], im.shape[2], split)
    low, high = round(MIN_CROP * (1 - strength / 2)), round(MAX_CROP * (1 - strength / 2))
    out = torch.empty(n, 3, SIZE, SIZE)
    for i in range(n):
        for _ in range(20):  # skip flat patches (dark sky, background): they show no image
            top, left = corners[int(rng.integers(len(corners)))]
            size = int(rng.integers(low, high + 1))
            r, c = top + int(rng.integers(0, TILE - size + 1)), left + int(rng.integers(0, TILE - size + 1))
            patch = im[:, r:r + size, c:c + size]
            if patch.std() > FLAT:
                break
        out[i] = F.interpolate(patch[None], size=(SIZE, SIZE), mode="bilinear", antialias=True,
                               align_corners=False)[0]
    grey = out.mean(1, keepdim=True)
    return (out + strength * (grey - out)).clamp(0, 1)


def build(split: str, rng: np.random.Generator, strength: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``PER_CLASS[split]`` patches of every image, uint8 (N, 3, SIZE, SIZE), and their labels."""
    n = PER_CLASS[split]
    x = torch.cat([crops(name, split, n, rng, strength) for name in CLASSES])
    y = np.repeat(np.arange(len(CLASSES)), n)
    return (x * 255 + 0.5).to(torch.uint8).numpy(), y
