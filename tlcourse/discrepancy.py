"""Maximum mean discrepancy (Gretton et al. 2012): how far apart two samples' distributions are.

With a kernel k, MMD^2(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y) for x, x' ~ P and y, y' ~ Q.
For a characteristic kernel such as the Gaussian it is zero exactly when P = Q. Lesson 01 uses it to
measure a shift; lesson 07 uses it as a loss that pulls two feature distributions together
(:class:`tlcourse.adapt.MMDLoss`). Both call :func:`mmd2`.
"""
from __future__ import annotations

from typing import Sequence

import torch


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """The matrix exp(-||x_i - y_j||^2 / (2 sigma^2)), shape ``(len(x), len(y))``."""
    return torch.exp(-torch.cdist(x, y).pow(2) / (2 * sigma**2))


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The median heuristic: sigma = median distance between the pooled samples (no gradient)."""
    z = torch.cat([x, y]).detach()
    return _median_off_diagonal(torch.cdist(z, z))


def _median_off_diagonal(d: torch.Tensor) -> torch.Tensor:
    return d[~torch.eye(len(d), dtype=torch.bool, device=d.device)].median().clamp_min(1e-6)


def mmd2(x: torch.Tensor, y: torch.Tensor, sigma: float | Sequence[float] | None = None,
         scales: Sequence[float] = (1.0,), unbiased: bool = True) -> torch.Tensor:
    """Squared MMD between samples ``x`` (m, d) and ``y`` (n, d) with a (sum of) Gaussian kernel(s).

    ``sigma``: one bandwidth, a list of them (multi-kernel: the kernels are averaged), or None for
    the median heuristic times each of ``scales`` (``scales=DEFAULT_SCALES`` of
    :mod:`tlcourse.adapt.mmd` gives the multi-kernel MMD of DAN with a fixed, equal weighting).
    ``unbiased`` drops the i = j terms of the within-sample averages: the estimate is then ~0 (and
    may be slightly negative) when P = Q, whereas the biased (V-statistic) estimate is always >= 0
    but positive even for equal distributions. All kernels come from one matrix of pairwise
    distances between the pooled samples.
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (m, d) and (n, d) with the same d, got {tuple(x.shape)}, {tuple(y.shape)}")
    m, n = len(x), len(y)
    if unbiased and min(m, n) < 2:
        raise ValueError("the unbiased estimate needs at least 2 samples on each side")
    d = torch.cdist(torch.cat([x, y]), torch.cat([x, y]))
    if sigma is None:
        base = _median_off_diagonal(d.detach())
        sigmas = [base * s for s in scales]
    else:
        sigmas = [sigma] if isinstance(sigma, (int, float)) or torch.is_tensor(sigma) else list(sigma)
    d2 = d.pow(2)
    k = sum(torch.exp(-d2 / (2 * s**2)) for s in sigmas) / len(sigmas)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    if unbiased:
        xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
        yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    else:
        xx, yy = kxx.mean(), kyy.mean()
    return xx + yy - 2 * kxy.mean()
