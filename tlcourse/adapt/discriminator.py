"""The domain discriminator: a small MLP that guesses whether a feature vector came from the
source (label 0) or the target domain (label 1)."""
from __future__ import annotations

import torch
from torch import nn


class DomainDiscriminator(nn.Sequential):
    """``in_features -> hidden -> ... -> 1`` logit, with ReLU (and BatchNorm) between layers.

    The discriminator has to be strong enough to find every difference the features still
    carry (too weak, and "fooling" it is easy while the domains stay apart), yet not so
    strong that it wins outright and its reversed gradient becomes large and noisy. One or
    two hidden layers of a few hundred units is the usual choice (Ganin et al. 2016 use
    1024-1024 on ImageNet features and 100 on digits).
    """

    def __init__(self, in_features: int, hidden: int = 256, depth: int = 2, batch_norm: bool = True):
        if in_features < 1 or hidden < 1 or depth < 1:
            raise ValueError(f"in_features, hidden and depth must be >= 1, got {in_features}, {hidden}, {depth}")
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden)]
            if batch_norm:
                layers += [nn.BatchNorm1d(hidden)]
            layers += [nn.ReLU()]
            width = hidden
        layers += [nn.Linear(width, 1)]
        super().__init__(*layers)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Logits of "this came from the target domain", shape ``(N,)``."""
        return super().forward(f).squeeze(1)
