"""MMD as an alignment loss: the multi-kernel form used by DAN (Long et al. 2015).

MMD^2 (:func:`tlcourse.discrepancy.mmd2`) is zero exactly when two distributions are equal, so as a
loss on the features of a source and a target batch it pulls the two feature distributions together.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..discrepancy import gaussian_kernel, median_bandwidth, mmd2

__all__ = ["DEFAULT_SCALES", "MMDLoss", "gaussian_kernel", "median_bandwidth", "mmd2"]

#: Bandwidth multipliers of the multi-kernel MMD, around the median-heuristic bandwidth.
DEFAULT_SCALES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


class MMDLoss(nn.Module):
    """MMD^2 between a source and a target feature batch as an aligner (multi-kernel by default):
    ``aligner(f_s, f_t, weight)`` -> ``weight`` times MMD^2."""

    def __init__(self, scales: Sequence[float] = DEFAULT_SCALES, unbiased: bool = True):
        super().__init__()
        self.scales = tuple(scales)
        self.unbiased = unbiased

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        return weight * mmd2(f_s, f_t, scales=self.scales, unbiased=self.unbiased)
