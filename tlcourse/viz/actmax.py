"""Activation maximization: the input a channel likes best, found by gradient ascent on the pixels.

Start from a flat grey image with a little noise and repeat: jitter it by a pixel or two, step
uphill on the channel's mean pre-ReLU response (so a silent unit still has a gradient), shrink it
a little towards 0 (L2 decay, x <- (1 - decay) x), blur it now and then, and keep pixels in the
valid range. Without these
regularisers ascent finds high-frequency noise that no real image contains.

Unlike the deconvnet this needs no dataset: it shows what the unit *could* respond to, not what
it did respond to in real images (Erhan et al. 2009; Simonyan et al. 2014; Yosinski et al. 2015).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tlcourse.viz.layers import ConvStack, conv_stack


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, round(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-t**2 / (2 * sigma**2))
    g = g / g.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def activation_maximization(model: nn.Module | ConvStack, layer: str | int, channels: Sequence[int],
                            size: int | tuple[int, int] = 28, *, steps: int = 128, lr: float = 0.05,
                            decay: float = 0.01, jitter: int = 1, blur_every: int = 4, blur_sigma: float = 0.5,
                            value_range: tuple[float, float] | None = (0.0, 1.0),
                            unit: str = "mean", crop: bool = False, seed: int = 0) -> torch.Tensor:
    """One image per channel (len(channels), in_channels, H, W) that maximises that channel of ``layer``.

    ``unit="mean"`` maximises the channel's mean over the map (a texture-like pattern that fills
    the image), ``unit="center"`` only its central unit (a pattern inside one receptive field;
    ``crop=True`` returns just that receptive field, comparable to ``TopActivations.crop()``).
    ``value_range=None`` skips clamping (for inputs that are normalised, e.g. ImageNet's).
    The same ``seed`` gives the same images.
    """
    if unit not in ("mean", "center"):
        raise ValueError(f"unit must be 'mean' or 'center', got {unit!r}")
    if crop and unit != "center":
        raise ValueError("crop=True needs unit='center' (a whole-map objective has no single receptive field)")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    stack = conv_stack(model)
    n_channels = stack.channels(layer)
    channels = [int(c) for c in channels]
    if not channels or min(channels) < 0 or max(channels) >= n_channels:
        raise ValueError(f"channels must lie in 0..{n_channels - 1} for {stack.name(layer)}, got {channels}")
    h, w = (size, size) if isinstance(size, int) else size
    first = stack.modules[stack.convs[0]][1]
    device = stack.device
    gen = torch.Generator().manual_seed(seed)
    lo, hi = value_range if value_range is not None else (-1.0, 1.0)
    x = (lo + hi) / 2 + 0.01 * (hi - lo) * torch.randn(len(channels), first.in_channels, h, w, generator=gen)
    x = x.to(device)
    pick = torch.arange(len(channels), device=device), torch.tensor(channels, device=device)
    upto = stack.conv_index(layer) + 1                        # stop before the ReLU
    for step in range(steps):
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist() if jitter else (0, 0))
        shifted = torch.roll(x, (dy, dx), dims=(2, 3)).requires_grad_(True)
        y = shifted
        with torch.enable_grad():
            for _, module in stack.modules[:upto]:
                y = torch.relu(y) if isinstance(module, nn.ReLU) else module(y)
            maps = y[pick]                                    # (n, h', w')
            score = maps.mean((1, 2)) if unit == "mean" else maps[:, maps.shape[1] // 2, maps.shape[2] // 2]
            (grad,) = torch.autograd.grad(score.sum(), shifted)
        grad = torch.roll(grad, (-dy, -dx), dims=(2, 3))
        # normalised step: every image moves at the same pace whatever its gradient's scale
        x = (1 - decay) * (x + lr * (hi - lo) * grad / (grad.abs().mean((1, 2, 3), keepdim=True) + 1e-12))
        if blur_every and (step + 1) % blur_every == 0:
            x = _blur(x, blur_sigma)
        if value_range is not None:
            x = x.clamp(lo, hi)
    if crop:
        top, left, bottom, right = stack.receptive_field(layer, maps.shape[1] // 2, maps.shape[2] // 2)
        x = x[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
    return x.detach().cpu()
