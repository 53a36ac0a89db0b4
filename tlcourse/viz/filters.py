"""First-layer filters as images: a conv1 filter is a small picture of the pattern it detects.

Its response to an image patch is the dot product of filter and patch, largest where the patch
looks like the filter. Shown with zero as mid-grey: bright weights want ink (bright pixels),
dark weights want background. Deeper filters act on feature maps, not pixels: see them through
``top_activations`` and ``deconvnet`` instead.
"""
from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import nn

from tlcourse.i18n import tr
from tlcourse.viz.layers import ConvStack, conv_stack
from tlcourse.viz.plots import show_images


def filter_images(model: nn.Module | ConvStack, layer: str | int = "conv1") -> torch.Tensor:
    """The filters of ``layer`` as images (out_channels, in_channels, k, k); needs 1 or 3 input channels."""
    stack = conv_stack(model)
    conv = stack.modules[stack.conv_index(layer)][1]
    if conv.in_channels not in (1, 3) or conv.groups != 1:
        raise ValueError(f"{stack.name(layer)} filters act on {conv.in_channels} feature maps, not on a "
                         f"grey or RGB image, so they are not pictures; show conv1, or use top_activations")
    return conv.weight.detach().cpu().clone()


def show_filters(model: nn.Module | ConvStack, layer: str | int = "conv1", ncols: int = 8,
                 title: str | None = None, size: float = 1.0) -> Figure:
    """A grid of ``layer``'s filters, each scaled by its own largest |weight| (zero = mid-grey)."""
    stack = conv_stack(model)
    weights = filter_images(stack, layer)
    name = stack.name(layer)
    k = weights.shape[-1]
    return show_images(weights, [f"{name}[{i}]" for i in range(len(weights))], ncols=ncols,
                       title=title or tr("{name} filters ({k}x{k}); bright = positive weight", name=name, k=k),
                       normalize="signed", size=size)
