"""Maximum mean discrepancy (Gretton et al. 2012) and its multi-kernel form used by DAN (Long et al. 2015).

With a kernel k, MMD^2(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y) for x, x' ~ P and y, y' ~ Q.
For a characteristic kernel such as the Gaussian, it is zero exactly when P = Q, so as a loss
on the features of a source and a target batch it pulls the two feature distributions together.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

#: Bandwidth multipliers of the multi-kernel MMD, around the median-heuristic bandwidth.
DEFAULT_SCALES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """The matrix exp(-||x_i - y_j||^2 / (2 sigma^2)), shape ``(len(x), len(y))``."""
    return torch.exp(-torch.cdist(x, y).pow(2) / (2 * sigma**2))


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The median heuristic: sigma = median distance between the pooled samples (no gradient)."""
    z = torch.cat([x, y]).detach()
    d = torch.cdist(z, z)
    return d[~torch.eye(len(z), dtype=torch.bool, device=z.device)].median().clamp_min(1e-6)


def mmd2(x: torch.Tensor, y: torch.Tensor, sigma: float | Sequence[float] | None = None,
         scales: Sequence[float] = (1.0,), unbiased: bool = True) -> torch.Tensor:
    """Squared MMD between samples ``x`` (m, d) and ``y`` (n, d) with a (sum of) Gaussian kernel(s).

    ``sigma``: one bandwidth, a list of them (multi-kernel: the kernels are averaged), or None for
    the median heuristic times each of ``scales`` (``scales=DEFAULT_SCALES`` gives the multi-kernel
    MMD of DAN with a fixed, equal weighting). ``unbiased`` drops the i = j terms of the within-sample
    averages: the estimate is then ~0 (and may be slightly negative) when P = Q, whereas the biased
    (V-statistic) estimate is always >= 0 but positive even for equal distributions.
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (m, d) and (n, d) with the same d, got {tuple(x.shape)}, {tuple(y.shape)}")
    m, n = len(x), len(y)
    if unbiased and min(m, n) < 2:
        raise ValueError("the unbiased estimate needs at least 2 samples on each side")
    if sigma is None:
        base = median_bandwidth(x, y)
        sigmas = [base * s for s in scales]
    else:
        sigmas = [sigma] if isinstance(sigma, (int, float)) or torch.is_tensor(sigma) else list(sigma)
    kxx = sum(gaussian_kernel(x, x, s) for s in sigmas) / len(sigmas)
    kyy = sum(gaussian_kernel(y, y, s) for s in sigmas) / len(sigmas)
    kxy = sum(gaussian_kernel(x, y, s) for s in sigmas) / len(sigmas)
    if unbiased:
        xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
        yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    else:
        xx, yy = kxx.mean(), kyy.mean()
    return xx + yy - 2 * kxy.mean()


class MMDLoss(nn.Module):
    """MMD^2 between a source and a target feature batch, as a loss (multi-kernel by default)."""

    def __init__(self, scales: Sequence[float] = DEFAULT_SCALES, unbiased: bool = True):
        super().__init__()
        self.scales = tuple(scales)
        self.unbiased = unbiased

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
        return mmd2(f_s, f_t, scales=self.scales, unbiased=self.unbiased)
