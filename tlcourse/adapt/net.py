"""The network the adaptation lessons train: CourseNet's layers split into a feature extractor
and a label head, with BatchNorm in the feature extractor, one set of statistics per domain.

Why normalise (the other lessons' CourseNet has none): adversarial training pushes on the features
from two sides at once. Without normalisation their scale drifts, the reversed gradient grows with
it and training oscillates; with BatchNorm the scale is fixed and the discriminator has to find
real differences.

Why one set of statistics per domain (Li et al. 2016, "AdaBN"; Chang et al. 2019, "DSBN"): our
target images are much brighter and more textured than the source. With shared statistics the
source-trained layers see target activations far outside anything they were trained on, and the
result is close to arbitrary (it changes wildly from seed to seed). Normalising each domain with its
own mean and variance (while scale and shift stay shared) removes that first-order difference at
every layer, so the alignment loss only has to deal with what normalisation cannot fix. A model
is therefore always used in a domain: ``with model.domain("target"): ...``.
"""
from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..models import CourseNet

DOMAINS: tuple[str, ...] = ("source", "target")
#: Where the network can be split, and the width of the features there.
SPLITS: dict[str, int] = {"conv3": 576, "fc1": 256, "fc2": 128}
_WIDTH = {"conv1": 16, "conv2": 32, "conv3": 64, "fc1": 256, "fc2": 128}
_NEXT = {"conv3": "flatten", "fc1": "fc2", "fc2": "fc3"}


class DomainBatchNorm(nn.Module):
    """BatchNorm with one set of running statistics per domain and a shared scale and shift."""

    def __init__(self, num_features: int, dims: int = 2):
        super().__init__()
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.stats = nn.ModuleList([bn(num_features, affine=False) for _ in DOMAINS])
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.domain = 0  # index into DOMAINS, set through AdaptNet.domain()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.stats[self.domain]  # holds this domain's running statistics
        factor = 0.0
        if bn.training:
            bn.num_batches_tracked.add_(1)
            factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        return F.batch_norm(x, bn.running_mean, bn.running_var, self.weight, self.bias, bn.training, factor, bn.eps)


class AdaptNet(nn.Module):
    """``features`` (conv1 up to the block of ``split``) and ``head`` (the rest), sharing ``net``'s layers.

    ``net``: a CourseNet to build from (e.g. a pretrained one; a fresh one by default).
    ``split``: the last layer of the feature extractor: "conv3" (576-d features and a 3-layer head,
    as in Ganin et al.'s digit network: the domains differ in appearance, a low-level property),
    "fc1" (256-d) or "fc2" (128-d, a linear head).
    ``norm``: "domain" (DomainBatchNorm after every layer of the feature extractor), "batch"
    (ordinary BatchNorm, statistics shared by both domains) or None.
    """

    def __init__(self, num_classes: int = 10, net: CourseNet | None = None, split: str = "conv3",
                 norm: str | None = "domain"):
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
        if norm not in ("domain", "batch", None):
            raise ValueError(f"unknown norm {norm!r}; choose 'domain', 'batch' or None")
        net = net if net is not None else CourseNet(num_classes)
        if net.config["width"] != 1 or net.config["hidden"] != 256:
            raise ValueError(f"AdaptNet expects a CourseNet of width 1 and hidden 256, got {net.config}")
        bottom: OrderedDict[str, nn.Module] = OrderedDict()
        top: OrderedDict[str, nn.Module] = OrderedDict()
        part = bottom
        for name, module in net.named_children():
            if name == _NEXT[split]:
                part = top
            part[name] = module
            if part is bottom and norm is not None and name in _WIDTH:
                dims = 2 if name.startswith("conv") else 1
                part[f"bn_{name}"] = (DomainBatchNorm(_WIDTH[name], dims) if norm == "domain" else
                                      (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(_WIDTH[name]))
        if split == "conv3":  # the flattened conv output is the feature vector
            bottom["flatten"] = top.pop("flatten")
        self.features = nn.Sequential(bottom)
        self.head = nn.Sequential(top)
        self.split, self.norm = split, norm
        self.feature_dim = SPLITS[split]
        self.num_classes = net.fc3.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @contextmanager
    def domain(self, name: str) -> Iterator["AdaptNet"]:
        """Use the normalisation statistics of domain ``name`` ("source" or "target") inside the block."""
        if name not in DOMAINS:
            raise ValueError(f"unknown domain {name!r}; choose one of {DOMAINS}")
        bns = [m for m in self.modules() if isinstance(m, DomainBatchNorm)]
        before = [m.domain for m in bns]
        for m in bns:
            m.domain = DOMAINS.index(name)
        try:
            yield self
        finally:
            for m, d in zip(bns, before):
                m.domain = d


@torch.no_grad()
def adabn(model: AdaptNet, images: torch.Tensor, batch_size: int = 256) -> AdaptNet:
    """AdaBN (Li et al. 2016): recompute the *target* normalisation statistics of ``model`` from
    ``images`` (no labels, no gradient step). Changes ``model`` in place and returns it."""
    if model.norm != "domain":
        raise ValueError("adabn needs a model built with norm='domain'")
    stats = [m.stats[1] for m in model.modules() if isinstance(m, DomainBatchNorm)]
    for bn in stats:
        bn.reset_running_stats()
        bn.momentum = None  # a plain average over all the batches below
    was_training = model.training
    model.train()
    with model.domain("target"):
        for i in range(0, len(images), batch_size):
            model.features(images[i:i + batch_size])
    for bn in stats:
        bn.momentum = 0.1
    model.train(was_training)
    return model
