"""Drawing helpers shared by the viz modules: image grids with titles, thin frames and no ticks.

Images are tensors (N, C, H, W) with C = 1 (grey) or 3 (RGB). Three ways to map values to grey:
``"clip"`` (inputs in [0, 1]), ``"signed"`` (weights and projections: zero is mid-grey, each
image scaled by its largest absolute value) and ``"minmax"`` (each image stretched to [0, 1]).
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

NORMALIZE = ("clip", "signed", "minmax")
PAD_COLOR = (0.45, 0.6, 0.85)   # frames and gaps between images: a blue no grey image contains


def to_display(images: torch.Tensor, normalize: str = "clip") -> np.ndarray:
    """(N, C, H, W) tensor -> (N, H, W) or (N, H, W, 3) array in [0, 1]."""
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    x = images.detach().cpu().float()
    if normalize == "signed":
        scale = x.abs().amax((1, 2, 3), keepdim=True).clamp_min(1e-12)
        x = 0.5 + 0.5 * x / scale
    elif normalize == "minmax":
        lo, hi = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
        x = (x - lo) / (hi - lo).clamp_min(1e-12)
    x = x.clamp(0, 1).numpy()
    return x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)


def mosaic(images: np.ndarray, ncols: int | None = None, pad: int = 1,
           pad_color: tuple[float, float, float] = PAD_COLOR, min_size: int = 12) -> np.ndarray:
    """Tile display images (N, H, W[, 3]) into one RGB array, ``ncols`` per row (default: square-ish),
    separated by ``pad`` pixels of a colour no grey image contains. Images smaller than
    ``min_size`` pixels are enlarged (each pixel repeated) so the gaps stay thin."""
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    factor = max(1, math.ceil(min_size / max(images.shape[1:3])))
    images = images.repeat(factor, axis=1).repeat(factor, axis=2)
    n, h, w = images.shape[:3]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    out = np.empty((nrows * (h + pad) - pad, ncols * (w + pad) - pad, 3))
    out[:] = pad_color
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return out


def _imshow(ax: plt.Axes, image: np.ndarray, title: str | None = None, ylabel: str | None = None) -> None:
    """An image without ticks, in a thin frame (so all-white or all-black images stay visible)."""
    ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([]), ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(PAD_COLOR)
    if title:
        ax.set_title(title, fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)


def show_images(images: torch.Tensor, titles: Sequence[str] | None = None, ncols: int = 8,
                title: str | None = None, normalize: str = "clip", size: float = 1.2) -> Figure:
    """One small panel per image, axes off, optional per-image ``titles`` and a figure ``title``."""
    shown = to_display(images, normalize)
    ncols = min(ncols, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    height = (size + (0.25 if titles else 0)) * nrows + (0.4 if title else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < len(shown):
            _imshow(ax, shown[i], titles[i] if titles else None)
        else:
            ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_panels(panels: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str],
                col_titles: Sequence[str], title: str | None = None, size: float = 1.6) -> Figure:
    """A table of display images (e.g. mosaics) ``panels[row][col]``: column titles on top,
    row labels on the left."""
    nrows, ncols = len(panels), len(panels[0])
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.4, size * nrows + 0.5), squeeze=False)
    for r in range(nrows):
        for c in range(ncols):
            _imshow(axes[r, c], panels[r][c], col_titles[c] if r == 0 else None,
                    row_labels[r] if c == 0 else None)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
