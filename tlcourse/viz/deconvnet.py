"""Deconvnet projection (Zeiler & Fergus 2014): which pixels made one activation large?

Forward pass: run the image up to the chosen layer and remember, for every max-pool, *where*
each maximum came from (the "switches"). Backward walk: keep one activation, set every other one
to zero, and undo the layers top to bottom:

    max-pool -> unpool       put each value back at its switch, zeros elsewhere
    ReLU     -> ReLU         keep the reconstruction positive, as the forward pass did
    conv     -> conv^T       the same filters, transposed (F.conv_transpose2d with the layer's weight)

The result has the input's shape: a picture, in pixel space, of the pattern the unit responded to
in *this* image. Only the switches depend on the image; no gradient is computed.

Max-pooling and convolution are undone the same way by backpropagation; the three classic pictures differ
only in what the way back does at a ReLU, for a signal ``r`` coming down and the forward input ``z``:

    "deconvnet" (Zeiler & Fergus 2014)      relu(r)             the sign of the signal decides
    "gradient"  (saliency, Simonyan 2014)   r * (z > 0)         the forward pass decides: exactly backprop
    "guided"    (Springenberg et al. 2015)  relu(r) * (z > 0)   both (guided backpropagation)

With the "gradient" rule, projecting activation ``a`` gives exactly ``a * da/dx``; the deconvnet agrees
with it when, at every ReLU, the signal coming down is positive exactly where the forward input was
(always, for a network without ReLUs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tlcourse.viz.layers import ConvStack, as_pair, conv_stack

if TYPE_CHECKING:
    from tlcourse.viz.top_activations import TopActivations


@dataclass
class Step:
    """One module of the forward pass with what the way back needs."""

    module: nn.Module
    input_size: tuple[int, int]             # spatial size of the module's input
    switches: torch.Tensor | None = None    # max-pool only: flat index (into H*W) of each max
    mask: torch.Tensor | None = None        # ReLU only: where the forward input was positive


RULES = ("deconvnet", "gradient", "guided")


def forward_with_switches(model: nn.Module | ConvStack, x: torch.Tensor,
                          layer: str | int) -> tuple[torch.Tensor, list[Step]]:
    """Activations of ``layer`` (after its ReLU) and the recorded steps, max-pool switches included."""
    stack = conv_stack(model)
    steps = []
    for _, module in stack.modules[: stack.end(layer)]:
        step = Step(module, tuple(x.shape[-2:]))
        if isinstance(module, nn.MaxPool2d):
            x, step.switches = F.max_pool2d(x, module.kernel_size, module.stride, module.padding,
                                            module.dilation, module.ceil_mode, return_indices=True)
        elif isinstance(module, nn.ReLU):
            step.mask = x > 0
            x = torch.relu(x)
        else:
            x = module(x)
        steps.append(step)
    return x, steps


def unpool(pooled: torch.Tensor, switches: torch.Tensor, output_size: tuple[int, int]) -> torch.Tensor:
    """Max-unpooling: each value goes back to the position its maximum came from; zeros elsewhere.

    ``switches`` are flat indices into ``output_size`` (as ``F.max_pool2d(..., return_indices=True)``
    gives them). Where overlapping windows share a switch the values are added (the transpose of
    max-pooling; ``F.max_unpool2d`` keeps just one of them). Without overlap both agree exactly.
    """
    n, c = pooled.shape[:2]
    out = pooled.new_zeros(n, c, output_size[0] * output_size[1])
    out.scatter_add_(2, switches.flatten(2), pooled.flatten(2))
    return out.view(n, c, *output_size)


def conv_transpose(y: torch.Tensor, conv: nn.Conv2d, input_size: tuple[int, int]) -> torch.Tensor:
    """Run ``conv`` backwards with its own filters (no bias), back to ``input_size``."""
    k, s, p, d = (as_pair(getattr(conv, a)) for a in ("kernel_size", "stride", "padding", "dilation"))
    # A strided conv maps several input sizes to the same output size: pick the one we came from.
    extra = tuple(input_size[i] - ((y.shape[-2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1)
                  for i in range(2))
    return F.conv_transpose2d(y, conv.weight, None, conv.stride, conv.padding, extra, conv.groups, conv.dilation)


def check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}: use one of {', '.join(map(repr, RULES))}")


def project_down(top: torch.Tensor, steps: list[Step], rule: str = "deconvnet") -> torch.Tensor:
    """Walk recorded ``steps`` backwards from feature maps ``top`` to pixel space (``rule``: at a ReLU)."""
    check_rule(rule)
    y = top
    for step in reversed(steps):
        if isinstance(step.module, nn.MaxPool2d):
            y = unpool(y, step.switches, step.input_size)
        elif isinstance(step.module, nn.ReLU):
            if rule != "gradient":
                y = torch.relu(y)
            if rule != "deconvnet":
                y = y * step.mask
        elif isinstance(step.module, nn.Conv2d):
            y = conv_transpose(y, step.module, step.input_size)
    return y


def project(model: nn.Module | ConvStack, x: torch.Tensor, layer: str | int,
            channel: int | Sequence[int] | torch.Tensor,
            position: Sequence[int] | torch.Tensor | None = None, rule: str = "deconvnet") -> torch.Tensor:
    """Deconvnet projection of one activation per image of ``x`` (N, C, H, W) back to pixel space.

    ``channel``: one channel for all images or one per image. ``position``: (row, col) in the
    layer's map, one for all or an (N, 2) tensor; by default the channel's strongest activation
    in each image. ``rule``: what the way back does at a ReLU (``RULES``, module docstring); with
    ``"gradient"`` the result is the activation times its gradient with respect to the input.
    Returns a tensor with ``x``'s shape. Deterministic: no randomness involved.
    """
    check_rule(rule)
    x = getattr(x, "x", x)            # a DomainData is fine too
    stack = conv_stack(model)
    n, device = x.shape[0], stack.device
    ch = torch.as_tensor(channel).long().reshape(-1)
    if ch.numel() not in (1, n) or ch.min() < 0 or ch.max() >= stack.channels(layer):
        raise ValueError(f"channel must be one index or one per image, each in 0..{stack.channels(layer) - 1} "
                         f"({stack.name(layer)} has {stack.channels(layer)} channels), got {channel}")
    ch = ch.to(device).expand(n)
    with torch.no_grad():
        act, steps = forward_with_switches(stack, x.to(device), layer)
        maps = act[torch.arange(n, device=device), ch]                       # (N, h, w)
        if position is None:
            flat = maps.flatten(1).argmax(1)
            rows, cols = flat // maps.shape[2], flat % maps.shape[2]
        else:
            pos = torch.as_tensor(position, device=device).long().reshape(-1, 2).expand(n, 2)
            rows, cols = pos[:, 0], pos[:, 1]
            if (rows >= maps.shape[1]).any() or (cols >= maps.shape[2]).any() or (pos < 0).any():
                raise ValueError(f"position outside {stack.name(layer)}'s {tuple(maps.shape[1:])} map")
        top = torch.zeros_like(act)
        idx = torch.arange(n, device=device)
        top[idx, ch, rows, cols] = act[idx, ch, rows, cols]
        return project_down(top, steps, rule).to(x.device)


def project_top(model: nn.Module | ConvStack, top: "TopActivations", rule: str = "deconvnet") -> torch.Tensor:
    """Deconvnet projections of the activations found by ``top_activations``, cropped like
    ``top.crop()``: shape (C, k, channels, h, w), each next to its image crop in a figure."""
    k = top.indices.shape[1]
    channels = torch.tensor(top.channels).repeat_interleave(k)
    pixels = project(model, top.images.flatten(0, 1), top.layer, channels, top.positions.flatten(0, 1), rule)
    return top.crop(pixels.view_as(top.images))
