"""Top-k activating inputs: for a channel, the images of a dataset where it fires most.

Each image counts once per channel, with its strongest position; the crop shown is that unit's
receptive field, the only part of the image that can influence it (Zeiler & Fergus 2014, fig. 2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from tlcourse.i18n import tr
from tlcourse.viz.layers import ConvStack, conv_stack
from tlcourse.viz.plots import mosaic, show_panels, to_display


@dataclass
class TopActivations:
    """The k strongest images per channel. Tensors are indexed [channel, rank, ...]."""

    layer: str                 # "conv2"
    channels: list[int]
    values: torch.Tensor       # (C, k) activation (after ReLU); 0 everywhere = a silent channel
    indices: torch.Tensor      # (C, k) index of the image in ``source``
    positions: torch.Tensor    # (C, k, 2) (row, col) of the strongest unit in the layer's map
    boxes: torch.Tensor        # (C, k, 4) receptive field (top, left, bottom, right), may stick out
    source: torch.Tensor       # the images searched (N, channels, H, W), not copied

    @property
    def images(self) -> torch.Tensor:
        """The whole top images (C, k, channels, H, W)."""
        return self.source[self.indices]

    def select(self, channels: Sequence[int]) -> "TopActivations":
        """The same result restricted to ``channels`` (in that order)."""
        missing = [c for c in channels if c not in self.channels]
        if missing:
            raise ValueError(f"channels {missing} were not searched; available: {self.channels}")
        rows = [self.channels.index(int(c)) for c in channels]
        return TopActivations(self.layer, [int(c) for c in channels], self.values[rows], self.indices[rows],
                              self.positions[rows], self.boxes[rows], self.source)

    def most_active(self, n: int = 8) -> "TopActivations":
        """The ``n`` channels with the largest mean top-k activation, strongest first."""
        order = self.values.mean(1).argsort(descending=True, stable=True)[:n]
        return self.select([self.channels[i] for i in order])

    def crop(self, pixels: torch.Tensor | None = None) -> torch.Tensor:
        """Receptive-field crops (C, k, channels, h, w) of ``pixels`` (default: the images), zero
        outside the image. ``pixels`` has the shape of ``images`` (e.g. deconvnet projections)."""
        pixels = self.images if pixels is None else pixels
        h = int(self.boxes[0, 0, 2] - self.boxes[0, 0, 0])
        w = int(self.boxes[0, 0, 3] - self.boxes[0, 0, 1])
        padded = F.pad(pixels, (w, w, h, h))
        out = torch.empty(*pixels.shape[:3], h, w, dtype=pixels.dtype)
        for c in range(pixels.shape[0]):
            for r in range(pixels.shape[1]):
                top, left = int(self.boxes[c, r, 0]) + h, int(self.boxes[c, r, 1]) + w
                out[c, r] = padded[c, r, :, top:top + h, left:left + w]
        return out


def top_activations(model: nn.Module | ConvStack, x: torch.Tensor, layer: str | int,
                    channels: Sequence[int] | None = None, k: int = 9,
                    batch_size: int = 512) -> TopActivations:
    """The ``k`` images of ``x`` (N, C, H, W, or a DomainData) that most activate each of ``channels`` of ``layer``.

    Only the network below ``layer`` runs, in batches without gradients: a few thousand small
    images take well under a second on a CPU. Ties are broken by the lower image index.
    """
    x = getattr(x, "x", x)            # a DomainData is fine too
    stack = conv_stack(model)
    name = stack.name(layer)
    n_channels = stack.channels(layer)
    channels = list(range(n_channels)) if channels is None else [int(c) for c in channels]
    if not channels or min(channels) < 0 or max(channels) >= n_channels:
        raise ValueError(f"channels must lie in 0..{n_channels - 1} for {name}, got {channels}")
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be between 1 and the number of images ({len(x)}), got {k}")
    device = stack.device
    best, where = [], []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            maps = stack.run(x[start:start + batch_size].to(device), layer)[:, channels]   # (B, C, h, w)
            value, flat = maps.flatten(2).max(2)
            best.append(value.cpu())
            where.append(flat.cpu())
    best, where = torch.cat(best), torch.cat(where)            # (N, C)
    width = maps.shape[3]
    # stable sort: equal activations keep dataset order
    order = torch.sort(best.T, dim=1, descending=True, stable=True).indices[:, :k]   # (C, k)
    values = torch.gather(best.T, 1, order)
    flat = torch.gather(where.T, 1, order)
    positions = torch.stack([flat // width, flat % width], dim=-1)
    boxes = torch.tensor([[stack.receptive_field(layer, int(r), int(c)) for r, c in row] for row in positions])
    return TopActivations(name, channels, values, order, positions, boxes, x.cpu())


def show_top_activations(top: TopActivations, projections: torch.Tensor | None = None,
                         title: str | None = None, size: float = 1.6,
                         source: torch.Tensor | None = None) -> Figure:
    """One column per channel: its top-k receptive-field crops, and below them (if given) their
    deconvnet ``projections`` (from ``deconvnet.project_top``), zero shown as mid-grey. A channel
    that never fired on these images is marked "(silent)": its "top" images are arbitrary.
    ``source``: images to draw instead of ``top.source`` (e.g. the same images before normalisation)."""
    crops = top.crop() if source is None else top.crop(source[top.indices])
    rows = [[mosaic(to_display(c, "clip")) for c in crops]]
    labels = [tr("top-{k} inputs", k=top.values.shape[1])]
    if projections is not None:
        rows.append([mosaic(to_display(p, "signed")) for p in projections])
        labels.append("deconvnet")
    cols = [tr("{layer} ch {c}", layer=top.layer, c=c) + (tr(" (silent)") if v == 0 else "")
            for c, v in zip(top.channels, top.values[:, 0])]
    return show_panels(rows, labels, cols, title or tr("{layer}: strongest inputs per channel", layer=top.layer), size)
