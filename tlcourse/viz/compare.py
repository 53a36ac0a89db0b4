"""Before and after fine-tuning: did a layer keep its features or rewrite them?

Two numbers per layer, and a picture:

* ``weight_change``: relative change of the weights, ||W_after - W_before|| / ||W_before||.
* ``channel_similarity``: for each channel, the correlation of its responses (over images and
  positions) before and after; 1 means the channel still detects the same thing on the data you
  give it. ``activation_similarity`` averages it per layer.
* ``compare_channels``: the same channels' top inputs and deconvnet projections, side by side.
"""
from __future__ import annotations

from typing import Sequence

import torch
from matplotlib.figure import Figure
from torch import nn

from tlcourse.i18n import tr
from tlcourse.viz.deconvnet import project_top
from tlcourse.viz.layers import conv_stack
from tlcourse.viz.plots import mosaic, show_panels, to_display
from tlcourse.viz.top_activations import top_activations


def weight_change(before: nn.Module, after: nn.Module) -> dict[str, float]:
    """Relative weight change per layer that both models have with the same shape (a replaced
    head is skipped), bottom to top, keyed by module name."""
    old = {n: m.weight for n, m in before.named_modules() if isinstance(getattr(m, "weight", None), torch.Tensor)}
    out = {}
    for name, module in after.named_modules():
        w = getattr(module, "weight", None)
        if name in old and isinstance(w, torch.Tensor) and w.shape == old[name].shape:
            out[name] = float((w.detach() - old[name].detach()).norm() / old[name].detach().norm().clamp_min(1e-12))
    return out


def channel_similarity(before: nn.Module, after: nn.Module, x: torch.Tensor, layer: str,
                       batch_size: int = 512) -> torch.Tensor:
    """Per channel of ``layer``: correlation of its activations (over the images ``x`` and all
    positions) in ``before`` and in ``after``. NaN for a channel that is constant (silent) in either."""
    x = getattr(x, "x", x)
    a, b = conv_stack(before), conv_stack(after)
    if a.layer_names != b.layer_names:
        raise ValueError(f"the two models have different conv layers: {a.layer_names} vs {b.layer_names}")
    with torch.no_grad():
        maps = [torch.cat([s.run(x[i:i + batch_size].to(s.device), layer).cpu()
                           for i in range(0, len(x), batch_size)]) for s in (a, b)]
    u, v = (m.transpose(0, 1).flatten(1).double() for m in maps)          # (channels, N*h*w)
    u, v = u - u.mean(1, keepdim=True), v - v.mean(1, keepdim=True)
    denom = u.norm(dim=1) * v.norm(dim=1)
    corr = (u * v).sum(1) / denom
    return torch.where(denom > 1e-12, corr, torch.full_like(corr, float("nan"))).float()


def activation_similarity(before: nn.Module, after: nn.Module, x: torch.Tensor,
                          layers: Sequence[str] | None = None) -> dict[str, float]:
    """``channel_similarity`` averaged over the channels that are not silent, per conv layer
    (default: all of them). 1.0 = the layer still computes the same features on ``x``."""
    names = layers or conv_stack(before).layer_names
    return {conv_stack(before).name(layer): float(channel_similarity(before, after, x, layer).nanmean())
            for layer in names}


def compare_channels(before: nn.Module, after: nn.Module, x: torch.Tensor, layer: str,
                     channels: Sequence[int], k: int = 4, labels: tuple[str, str] | None = None,
                     size: float = 1.4) -> Figure:
    """Rows: channels of ``layer``. Columns: top-``k`` input crops and their deconvnet projections
    for ``before``, then the same for ``after`` (each model picks its own top images in ``x``).
    ``labels`` name the two models (default: "before" and "after", in the learner's language)."""
    labels = labels or (tr("before"), tr("after"))
    x = getattr(x, "x", x)
    rows = [[] for _ in channels]
    for model in (before, after):
        top = top_activations(model, x, layer, channels, k)
        projections = project_top(model, top)
        for r, (crops, proj) in enumerate(zip(top.crop(), projections)):
            rows[r] += [mosaic(to_display(crops, "clip")), mosaic(to_display(proj, "signed"))]
    name = conv_stack(before).name(layer)
    cols = [text for label in labels for text in (tr("{model}: inputs", model=label), tr("{model}: deconv", model=label))]
    return show_panels(rows, [tr("{layer} ch {c}", layer=name, c=c) for c in channels], cols,
                       tr("{layer}: the same channels {before} and {after}", layer=name, before=labels[0],
                          after=labels[1]), size)
