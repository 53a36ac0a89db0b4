"""DANN, the domain-adversarial neural network (Ganin & Lempitsky 2015; Ganin et al. 2016).

A feature extractor G_f feeds two heads: the label classifier G_y (trained on labelled source
images) and, through a gradient reversal layer, the domain discriminator G_d (trained on
source *and* unlabelled target images). With one backward pass of

    L = L_y(G_y(G_f(x_s)), y_s) + L_d(G_d(GRL(G_f(x))), d)

G_d minimises the domain loss L_d, while G_f receives -lambda times its gradient, i.e. it
*maximises* L_d: it learns features that predict the label and hide the domain. This is the
GAN game with the feature extractor as the generator.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .discriminator import DomainDiscriminator
from .grl import grad_reverse


class DomainAdversarialLoss(nn.Module):
    """The domain term of DANN, to add to the source classification loss.

    ``loss = dann(f_s, f_t, weight)`` reverses the features' gradient with strength ``weight`` (the
    paper's lambda_p) and returns the discriminator's binary cross-entropy (source = 0, target = 1),
    unscaled: the discriminator itself always learns at full rate. It has the signature of every
    aligner in :mod:`tlcourse.adapt` (``aligner(f_s, f_t, weight)`` -> the term to add to the
    classification loss). After each call, ``.domain_acc`` holds the discriminator's accuracy on that
    batch as a 0-d tensor (read it with ``float()`` when you log): near 0.5 (chance) means the
    features no longer give the domain away.
    """

    def __init__(self, discriminator: DomainDiscriminator | nn.Module):
        super().__init__()
        self.discriminator = discriminator
        self.domain_acc = torch.tensor(float("nan"))

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        f = grad_reverse(torch.cat([f_s, f_t]), weight)
        d = torch.cat([torch.zeros(len(f_s)), torch.ones(len(f_t))]).to(f.device)
        logits = self.discriminator(f)
        self.domain_acc = ((logits.detach() > 0).float() == d).float().mean()  # no .item(): no sync per step
        # Weight both domains equally, whatever the batch sizes.
        per_sample = F.binary_cross_entropy_with_logits(logits, d, reduction="none")
        return 0.5 * (per_sample[: len(f_s)].mean() + per_sample[len(f_s):].mean())
