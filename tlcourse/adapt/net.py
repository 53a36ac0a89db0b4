"""The network the adaptation lessons train: CourseNet's layers split into a feature extractor
and a label head, with BatchNorm after every hidden layer.

Why BatchNorm here (the other lessons' CourseNet has none): adversarial training pushes on the
features from two sides at once. Without normalisation their scale drifts (the feature extractor
can fool a discriminator just by shrinking or blowing up activations), the reversed gradient
grows with it, and training oscillates; with BatchNorm the feature scale is fixed and the
discriminator must find real differences. Source and target images go through the network in one
concatenated batch, so the normalisation statistics are those of the mixture of both domains.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..models import CourseNet

_BN = {"conv1": 16, "conv2": 32, "conv3": 64, "fc1": 256, "fc2": 128}
SPLITS_NEXT = {"fc1": "fc2", "fc2": "fc3"}


#: Where the network can be split, and the width of the features there.
SPLITS: dict[str, int] = {"conv3": 576, "fc1": 256, "fc2": 128}


class AdaptNet(nn.Module):
    """``features`` (conv1 up to the block of ``split``) and ``head`` (the rest), sharing ``net``'s layers.

    ``net``: a CourseNet to build from (e.g. a pretrained one; a fresh one by default).
    ``batch_norm``: insert BatchNorm after conv1..fc2, before each ReLU.
    ``split``: the last layer of the feature extractor: "conv3" (576-d features, a 3-layer head,
    as in Ganin et al.'s digit network), "fc1" (256-d) or "fc2" (128-d, a linear head).
    """

    def __init__(self, num_classes: int = 10, batch_norm: bool = True, net: CourseNet | None = None,
                 split: str = "fc2"):
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
        net = net if net is not None else CourseNet(num_classes)
        if net.config["width"] != 1 or net.config["hidden"] != 256:
            raise ValueError("AdaptNet expects a CourseNet of width 1 and hidden 256, "
                             f"got {net.config}")
        bottom: OrderedDict[str, nn.Module] = OrderedDict()
        top: OrderedDict[str, nn.Module] = OrderedDict()
        part = bottom
        for name, module in net.named_children():
            if name == ("flatten" if split == "conv3" else SPLITS_NEXT[split]):
                part = top
            part[name] = module
            if batch_norm and name in _BN:
                bn = nn.BatchNorm2d if name.startswith("conv") else nn.BatchNorm1d
                part[f"bn_{name}"] = bn(_BN[name])
        if split == "conv3":  # the flattened conv output is the feature vector
            bottom["flatten"] = top.pop("flatten")
        self.features = nn.Sequential(bottom)
        self.head = nn.Sequential(top)
        self.split = split
        self.feature_dim = SPLITS[split]
        self.num_classes = net.fc3.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
