"""Model surgery: freeze, cut and re-head a pretrained network, and give its layers their own learning rates.

Every transfer strategy in the course is a few calls to this module::

    net = zoo.load_pretrained()                  # trained on the source domain
    net = replace_head(net, num_classes=10)      # a new, randomly initialised last layer
    freeze(net); unfreeze(net, "fc3")            # (a) train only the new head

"Frozen" means ``requires_grad=False``: the optimizer is never given the parameter, so it gets no
gradient and no optimizer state. Layers are named ``conv1..conv3, fc1..fc3`` (see ``models.py``);
a name also matches as a prefix (``"conv"`` = every conv layer).
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Iterable

import torch
from torch import nn

from tlcourse.i18n import tr
from tlcourse.models import block_end, layer_names

#: The "2:4:6" rule of thumb: tiny steps for generic bottom layers, bigger for the middle, large
#: for the new head. Keys are the layer groups of :func:`layer_groups`.
PRESET_246 = {"bottom": 1e-6, "middle": 1e-4, "top": 1e-2}


def select_layers(model: nn.Module, layers: str | Iterable[str] | None) -> list[str]:
    """Weighted layer names matching ``layers`` (names or prefixes; ``None`` = all)."""
    names = layer_names(model)
    if layers is None:
        return names
    wanted = [layers] if isinstance(layers, str) else list(layers)
    if not wanted:
        return []
    chosen = [n for n in names if any(n == w or n.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(n == w or n.startswith(w) for n in names)]
    if unknown:
        raise KeyError(tr("no layer named {layer}; this model has {names}", layer=unknown, names=names))
    return chosen


def _set_trainable(model: nn.Module, layers: str | Iterable[str] | None, flag: bool) -> nn.Module:
    for name in select_layers(model, layers):
        module = getattr(model, name)
        for p in module.parameters():
            p.requires_grad_(flag)
            if not flag:
                p.grad = None
    return model


def freeze(model: nn.Module, layers: str | Iterable[str] | None = None) -> nn.Module:
    """Stop training ``layers`` (all layers if ``None``). Returns the model for chaining."""
    return _set_trainable(model, layers, False)


def unfreeze(model: nn.Module, layers: str | Iterable[str] | None = None) -> nn.Module:
    """Train ``layers`` again (all layers if ``None``)."""
    return _set_trainable(model, layers, True)


def freeze_up_to(model: nn.Module, layer: str) -> nn.Module:
    """Freeze every layer from the bottom up to and including ``layer``; train the rest."""
    names = layer_names(model)
    if layer not in names:
        raise KeyError(tr("no layer named {layer!r}; this model has {names}", layer=layer, names=names))
    cut = names.index(layer) + 1
    unfreeze(model, names[cut:])
    return freeze(model, names[:cut])


def trainable_layers(model: nn.Module) -> list[str]:
    """Names of the layers that have at least one trainable parameter."""
    return [n for n in layer_names(model) if any(p.requires_grad for p in getattr(model, n).parameters())]


def describe(model: nn.Module) -> list[dict]:
    """One row per layer: name, type, parameter count, and whether it trains."""
    rows = []
    for name in layer_names(model):
        module = getattr(model, name)
        params = list(module.parameters())
        rows.append({"layer": name, "type": type(module).__name__,
                     "params": sum(p.numel() for p in params),
                     "trainable": all(p.requires_grad for p in params)})
    return rows


def replace_head(model: nn.Sequential, num_classes: int, layer: str | None = None) -> nn.Sequential:
    """A copy of ``model`` whose last layer is a new ``nn.Linear`` with ``num_classes`` outputs."""
    if num_classes < 1:
        raise ValueError(tr("num_classes must be at least 1, got {n}", n=num_classes))
    layer = layer or layer_names(model)[-1]
    new = copy.deepcopy(model)
    old = getattr(new, layer)
    if not isinstance(old, nn.Linear):
        raise TypeError(tr("the head {layer!r} is a {type}, expected nn.Linear", layer=layer, type=type(old).__name__))
    setattr(new, layer, nn.Linear(old.in_features, num_classes))
    if hasattr(new, "num_classes"):
        new.num_classes = num_classes
    return new


def truncate(model: nn.Sequential, after: str) -> nn.Sequential:
    """A copy of the bottom of ``model`` up to ``after`` (with its ReLU/pool): "keep the early layers"."""
    return copy.deepcopy(model[: block_end(model, after)])


def attach_head(body: nn.Sequential, num_classes: int, hidden: int | None = 128,
                input_shape: tuple[int, ...] | None = None) -> nn.Sequential:
    """``body`` followed by a new fully connected head (``head1`` [+ ReLU + ``head2``]).

    The head's input size is measured by running a dummy image of ``input_shape`` through ``body``
    (default: ``body.input_shape`` if it has one, e.g. a ``backbone.Backbone``, else 1 x 28 x 28).
    """
    input_shape = input_shape or getattr(body, "input_shape", (1, 28, 28))
    with torch.no_grad():
        was_training = body.training
        n_in = body.eval()(torch.zeros(1, *input_shape)).flatten(1).shape[1]
        body.train(was_training)
    modules = OrderedDict(body.named_children())
    if not isinstance(list(modules.values())[-1], nn.Flatten):
        modules["flatten"] = nn.Flatten()
    if hidden:
        modules["head1"] = nn.Linear(n_in, hidden)
        modules["head_relu"] = nn.ReLU()
        modules["head2"] = nn.Linear(hidden, num_classes)
    else:
        modules["head1"] = nn.Linear(n_in, num_classes)
    return nn.Sequential(modules)


def layer_groups(model: nn.Module) -> dict[str, list[str]]:
    """Split the layers into bottom / middle / top (top = the new head: the last layer and ``head*``).

    For the course network: bottom = conv1, conv2; middle = conv3, fc1, fc2; top = fc3.
    """
    names = layer_names(model)
    top = [n for n in names[:-1] if n.startswith("head")] + names[-1:]
    body = [n for n in names if n not in top]
    third = max(1, round(len(body) / 2.5)) if body else 0
    return {"bottom": body[:third], "middle": body[third:], "top": top}


def layer_rates(model: nn.Module, lrs: dict[str, float]) -> dict[str, float]:
    """A learning rate for every layer of ``model`` from ``lrs``, whose keys are group names of
    :func:`layer_groups` (``PRESET_246``) or layer names/prefixes (``{"conv": 1e-5, "fc3": 1e-2}``);
    later keys override earlier ones. Raises ``ValueError`` naming any layer left without a rate."""
    groups = layer_groups(model)
    per_layer: dict[str, float] = {}
    for key, lr in lrs.items():
        for name in groups.get(key) or select_layers(model, key):
            per_layer[name] = lr
    missing = [n for n in layer_names(model) if n not in per_layer]
    if missing:
        raise ValueError(tr("no learning rate given for layers {missing}", missing=missing))
    return per_layer


def param_groups(model: nn.Module, lrs: dict[str, float] | None = None) -> list[dict]:
    """Optimizer parameter groups, one per trainable layer, with the rates of :func:`layer_rates`
    (``PRESET_246`` by default). Frozen layers are left out."""
    per_layer = layer_rates(model, PRESET_246 if lrs is None else lrs)
    return [{"params": [p for p in getattr(model, n).parameters() if p.requires_grad], "lr": lr, "name": n}
            for n, lr in per_layer.items()
            if any(p.requires_grad for p in getattr(model, n).parameters())]


def discriminative_lrs(model: nn.Module, top_lr: float = 1e-3, ratio: float = 100.0) -> dict[str, float]:
    """fastai-style ``slice`` rates: geometric from ``top_lr / ratio`` (bottom) to ``top_lr`` (head)."""
    names = layer_names(model)
    if len(names) == 1:
        return {names[0]: top_lr}
    bottom = top_lr / ratio
    return {n: bottom * ratio ** (i / (len(names) - 1)) for i, n in enumerate(names)}
