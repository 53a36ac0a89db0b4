"""Real handwritten digits: scikit-learn's ``load_digits`` (1797 scans from UCI, 8 x 8, values 0..16).

They are brought to the source's conventions: upsampled smoothly to 20 x 20 inside a 28 x 28
canvas (the same margin as the printed glyphs), ink bright on a dark background, and a contrast
curve that turns the blurry 8 x 8 blocks into strokes of about the glyphs' width and intensity.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

CLASSES = [str(d) for d in range(10)]
#: Fractions of each class in the fixed train / val / test splits.
FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def upsample(images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) values 0..16 -> uint8 (N, 28, 28), digit in the central 20 x 20."""
    x = torch.as_tensor(images, dtype=torch.float32)[:, None] / 16
    x = F.interpolate(x, size=(20, 20), mode="bicubic", align_corners=False)
    x = ((x - 0.2) / 0.55).clamp(0, 1)  # sharpen the edges, full-intensity stroke centres
    x = F.pad(x, (4, 4, 4, 4))[:, 0]
    return (x * 255 + 0.5).to(torch.uint8).numpy()


def split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    """Stratified, fixed indices of ``split`` (a seeded permutation per class, cut 60/20/20)."""
    rng = np.random.default_rng(1797)
    keep = []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train = round(FRACTIONS["train"] * len(idx))
        n_val = round(FRACTIONS["val"] * len(idx))
        keep.append({"train": idx[:n_train], "val": idx[n_train:n_train + n_val],
                     "test": idx[n_train + n_val:]}[split])
    return np.sort(np.concatenate(keep))


def build(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``split`` of the digits as uint8 images (N, 28, 28) and int64 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    idx = split_indices(digits.target, split)
    return upsample(digits.images[idx]), digits.target[idx].astype(np.int64)
