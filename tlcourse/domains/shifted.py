"""Shifted versions of the printed digits, for domain adaptation. Each has a ``strength`` in [0, 1];
strength 0 gives back exactly the ``digits-printed`` images (same split, same order).

- ``digits-on-photos``: the MNIST-M construction (Ganin & Lempitsky, 2015) in grayscale: each digit
  is blended with a photo patch by ``|digit - strength * PATCH_CONTRAST * patch|``, so the background
  becomes the (dimmed) patch and the digit's ink its negative. Patches keep the photo's own
  intensities and come from the same split's strips of the ``photos`` images. Grayscale loses the
  colour cue MNIST-M has, so the patch is dimmed (``PATCH_CONTRAST``) to keep a digit-vs-background
  contrast of the same difficulty: a model trained on printed digits keeps about half its accuracy.
- ``digits-rotated``: every digit is turned by ``strength * 90`` degrees (on top of the small
  random rotation all glyphs have): one angle for the whole domain, a pure covariate shift.
- ``digits-inverted``: a fraction ``strength`` of the images (chosen at random, fixed) is drawn
  dark on bright; at 1 every image is inverted.
"""
from __future__ import annotations

import numpy as np
import torch

from . import glyphs, photos

#: Intensity of the photo patch at strength 1 (its pixels span [0, PATCH_CONTRAST]).
PATCH_CONTRAST = 0.6


def on_photos(digits: np.ndarray, split: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Blend uint8 digits (N, 28, 28) onto random photo patches of ``split``."""
    if strength == 0:
        return digits
    names = rng.choice(photos.CLASSES, len(digits))
    patches = torch.empty(len(digits), photos.SIZE, photos.SIZE)
    for name in photos.CLASSES:
        where = np.flatnonzero(names == name)
        if len(where):
            patches[torch.from_numpy(where)] = photos.crops(name, split, len(where), rng, standard=False)
    d = torch.from_numpy(digits).float() / 255
    x = (d - strength * PATCH_CONTRAST * patches).abs()
    return (x * 255 + 0.5).to(torch.uint8).numpy()


def rotated(labels: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Printed digits rendered with an extra rotation of ``strength * 90`` degrees."""
    return glyphs.render(glyphs.DIGITS, labels, rng, rotation=90 * strength)


def inverted(digits: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Invert a random fraction ``strength`` of the uint8 images."""
    flip = rng.random(len(digits)) < strength
    out = digits.copy()
    out[flip] = 255 - out[flip]
    return out
