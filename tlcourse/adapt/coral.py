"""Deep CORAL (Sun & Saenko 2016): align the second-order statistics of source and target features.

loss = ||C_s - C_t||_F^2 / (4 d^2), with C the d x d feature covariance of each batch. It is
cheap (no kernel, no discriminator) and differentiable, but it only sees covariances: two
domains whose features differ by a mere shift of the mean look identical to it.
"""
from __future__ import annotations

import torch
from torch import nn


def covariance(f: torch.Tensor) -> torch.Tensor:
    """The (d, d) sample covariance of the rows of ``f`` (n, d), normalised by n - 1."""
    if f.dim() != 2 or len(f) < 2:
        raise ValueError(f"need an (n, d) batch with n >= 2, got {tuple(f.shape)}")
    centred = f - f.mean(0, keepdim=True)
    return centred.T @ centred / (len(f) - 1)


def coral_loss(f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
    """||C_s - C_t||_F^2 / (4 d^2) between source features (m, d) and target features (n, d)."""
    if f_s.shape[1] != f_t.shape[1]:
        raise ValueError(f"source and target features must have the same width, got {f_s.shape[1]} and {f_t.shape[1]}")
    d = f_s.shape[1]
    return (covariance(f_s) - covariance(f_t)).pow(2).sum() / (4 * d * d)


class CORALLoss(nn.Module):
    """:func:`coral_loss` as an aligner: ``aligner(f_s, f_t, weight)`` -> ``weight`` times the loss."""

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        return weight * coral_loss(f_s, f_t)
