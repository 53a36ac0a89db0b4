"""The gradient reversal layer (GRL) of Ganin & Lempitsky (2015).

Forward it is the identity; backward it multiplies the incoming gradient by ``-lambda``.
Put it between a feature extractor and a domain discriminator: the discriminator still
learns to tell the domains apart, while the features below receive the *opposite* of
its gradient and learn to make the domains indistinguishable. One backward pass, no
alternating GAN updates.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class GradientReverse(torch.autograd.Function):
    """y = x forward; dL/dx = -lambda * dL/dy backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambd: float) -> torch.Tensor:
        ctx.lambd = float(lambd)
        return x.view_as(x)  # a new tensor node, so autograd calls our backward

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lambd * grad_output, None  # no gradient for lambda itself


def grad_reverse(x: torch.Tensor, lambd: float = 1.0) -> torch.Tensor:
    """Identity on ``x`` whose gradient is multiplied by ``-lambd``."""
    return GradientReverse.apply(x, lambd)


def dann_lambda(p: float, gamma: float = 10.0) -> float:
    """The DANN schedule 2 / (1 + exp(-gamma p)) - 1, rising from 0 at p=0 to ~1 at p=1.

    ``p`` is the training progress in [0, 1]. Early on the features are still random and the
    discriminator's gradient is noise, so the reversal starts weak and ramps up.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"training progress p must be in [0, 1], got {p}")
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


class GradientReverseLayer(nn.Module):
    """A GRL as a module; set ``.lambd`` during training (e.g. to ``dann_lambda(p)``)."""

    def __init__(self, lambd: float = 1.0):
        super().__init__()
        self.lambd = lambd

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lambd)

    def extra_repr(self) -> str:
        return f"lambd={self.lambd:.3g}"
