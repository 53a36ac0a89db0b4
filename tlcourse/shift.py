"""Measuring a domain shift: how far apart are two domains' inputs, seen through some features?

Two measures, each computed from a sample of either domain (lesson 01):

- **MMD** (Gretton et al. 2012): the distance between the two samples' mean embeddings under a
  Gaussian kernel, bandwidth by the median heuristic. About 0 for the same distribution, larger
  the more the distributions differ (at most 2 with this kernel).
- **Proxy A-distance** (Ben-David et al. 2007, 2010): train a classifier to tell the domains
  apart; if its held-out error is ``err``, ``d_A = 2 (1 - 2 err)``. Indistinguishable domains give
  err ~ 0.5 and d_A ~ 0 (slightly negative by chance), perfectly separable ones err = 0, d_A = 2.

Both look at inputs only (P(X)): they see covariate shift, barely see label shift, and are blind
to concept shift (the same inputs with a different labelling), which lesson 01 also shows.

    >>> from tlcourse import shift, zoo
    >>> net = zoo.load_pretrained()
    >>> rows = shift.rank_pairs([("glyphs", "letters"), ("glyphs", "photos")], model=net)
    >>> print(shift.format_table(rows))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from tlcourse.discrepancy import mmd2
from tlcourse.domains import DomainData
from tlcourse.i18n import display_width, pad, tr

Sample = Any  # a DomainData, a domain name (str), or a tensor of images (N, 1, 28, 28) or features (N, d)


def proxy_a_distance(error: float) -> float:
    """Ben-David's proxy A-distance ``2 (1 - 2 error)`` from a domain classifier's held-out error."""
    if not 0 <= error <= 1:
        raise ValueError(f"an error rate is in [0, 1], got {error}")
    return 2 * (1 - 2 * error)


def _load(sample: Sample, split: str) -> DomainData | Tensor:
    if isinstance(sample, str):
        from tlcourse import domains

        return domains.load(sample, split)
    return sample


def label(sample: Sample) -> str:
    """A short name for a sample: the domain's name and options (e.g. ``digits-on-photos(strength=0.5)``)."""
    if isinstance(sample, str):
        return sample
    if isinstance(sample, DomainData):
        opts = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sample.options.items())
        return f"{sample.name}({opts})" if opts else sample.name
    return f"tensor{tuple(sample.shape)}"


def features(sample: Sample, model: nn.Module | None = None, upto: str = "fc2", n: int | None = None,
             seed: int = 0, split: str = "val") -> Tensor:
    """(n, d) float features of ``n`` random examples of ``sample`` (all of them if ``n`` is None).

    With a ``model`` (a CourseNet), the features after layer ``upto``; without one, the raw pixels.
    A domain name is loaded with ``split`` ("val" by default: the test split is kept for results).
    """
    data = _load(sample, split)
    x = data.x if isinstance(data, DomainData) else torch.as_tensor(data)
    if n is not None:
        if n < 2:
            raise ValueError(f"n must be at least 2, got {n}")
        g = torch.Generator().manual_seed(seed)
        x = x[torch.randperm(len(x), generator=g)[: min(n, len(x))]]
    if model is not None and x.dim() == 4:
        from tlcourse.train import embed

        return embed(model, x, upto=upto).float()
    return x.flatten(1).float()


def mmd(source: Tensor, target: Tensor, sigma: float | None = None) -> float:
    """Unbiased squared MMD between two samples of features (m, d) and (n, d), Gaussian kernel.

    ``sigma``: the kernel's bandwidth; None uses the median heuristic (the median distance between
    all pooled points), which makes the number comparable across feature spaces of any scale.
    """
    return float(mmd2(source.float(), target.float(), sigma=sigma))


def domain_classifier_accuracy(source: Tensor, target: Tensor, folds: int = 5, seed: int = 0,
                               C: float = 1.0) -> float:
    """Cross-validated accuracy of a logistic regression telling ``source`` (0) from ``target`` (1).

    The inputs are standardised; each fold is held out once, so every number is a held-out one.
    With equal sample sizes chance is 0.5.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    from tlcourse.probe import logistic_regression

    x = torch.cat([source, target]).double().numpy()
    d = np.r_[np.zeros(len(source)), np.ones(len(target))]
    if min(len(source), len(target)) < folds:
        raise ValueError(f"each domain needs at least folds={folds} examples")
    clf = logistic_regression(C)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    with threadpool_limits(1):  # small problems: BLAS threads only fight each other (10x slower)
        return float(cross_val_score(clf, x, d, cv=cv).mean())


@dataclass
class ShiftMeasure:
    """The two measures of one pair of domains, on ``n`` examples of each."""

    source: str
    target: str
    mmd: float
    domain_acc: float
    n: int

    @property
    def a_distance(self) -> float:
        """The proxy A-distance 2 (1 - 2 err) of the domain classifier (err = 1 - domain_acc)."""
        return proxy_a_distance(1 - self.domain_acc)


def measure(source: Sample, target: Sample, model: nn.Module | None = None, upto: str = "fc2",
            n: int = 300, seed: int = 0, split: str = "val", folds: int = 5) -> ShiftMeasure:
    """MMD and domain-classifier accuracy (hence proxy A-distance) between two domains.

    ``n`` random examples of each (chosen with ``seed``) are embedded by ``model`` up to ``upto``
    (raw pixels without a model); the smaller domain caps ``n`` so both sides stay equal.
    """
    a, b = _load(source, split), _load(target, split)
    n = min(n, len(a), len(b))
    fa = features(a, model, upto, n, seed)
    fb = features(b, model, upto, n, seed + 1)
    return ShiftMeasure(label(source), label(target), mmd(fa, fb),
                        domain_classifier_accuracy(fa, fb, folds=folds, seed=seed), n)


def rank_pairs(pairs: Sequence[tuple[Sample, Sample]], model: nn.Module | None = None, upto: str = "fc2",
               n: int = 300, seed: int = 0, by: str = "mmd", split: str = "val") -> list[ShiftMeasure]:
    """Measure every (source, target) pair and return them sorted from nearest to farthest ``by``
    ``"mmd"`` or ``"a_distance"``."""
    if by not in ("mmd", "a_distance"):
        raise ValueError(f"by must be 'mmd' or 'a_distance', got {by!r}")
    rows = [measure(s, t, model, upto, n, seed, split) for s, t in pairs]
    return sorted(rows, key=lambda r: getattr(r, by))


def format_table(rows: Sequence[ShiftMeasure]) -> str:
    """A plain-text table of measured pairs, numbers rounded."""
    heads = [tr("pair"), "MMD^2", tr("domain acc"), tr("proxy A-dist")]  # in the learner's language
    width = max([len(f"{r.source} -> {r.target}") for r in rows] + [display_width(heads[0])])
    w = [width] + [max(n, display_width(h)) for n, h in zip((6, 10, 12), heads[1:])]
    lines = ["  ".join([pad(heads[0], width, "<")] + [pad(h, n) for h, n in zip(heads[1:], w[1:])])]
    lines += [f"{r.source + ' -> ' + r.target:<{width}}  {r.mmd:{w[1]}.3f}  {r.domain_acc:{w[2]}.3f}  "
              f"{r.a_distance:{w[3]}.2f}" for r in rows]
    return "\n".join(lines)


def class_histogram(y: Tensor | np.ndarray, num_classes: int) -> np.ndarray:
    """The fraction of each class among the labels ``y`` (sums to 1): an estimate of P(Y)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes).astype(float)
    if len(counts) > num_classes:
        raise ValueError(f"labels go up to {len(counts) - 1} but num_classes={num_classes}")
    return counts / max(counts.sum(), 1)


def label_shift(data: DomainData, proportions: Sequence[float], n: int | None = None,
                seed: int = 0) -> DomainData:
    """A resample of ``data`` whose classes appear in the given ``proportions`` (label shift).

    Every image keeps its label, so P(X | Y) is unchanged and only P(Y) moves. Images are drawn
    without replacement; ``n`` (default: as many as the rarest needed class allows) is the size.
    """
    p = np.asarray(proportions, dtype=float)
    if p.shape != (data.num_classes,) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"proportions must be {data.num_classes} non-negative numbers, not all zero")
    p = p / p.sum()
    y = data.y.numpy()
    available = np.bincount(y, minlength=data.num_classes)
    largest = int(min(available[c] / p[c] for c in np.flatnonzero(p)))
    n = largest if n is None else n
    if not 1 <= n <= largest:
        raise ValueError(f"n={n} is impossible: with these proportions {data.name} {data.split} "
                         f"allows at most {largest} images")
    counts = np.floor(p * n).astype(int)  # largest remainders get the leftover images
    counts[np.argsort(-(p * n - counts))[: n - counts.sum()]] += 1
    counts = np.minimum(counts, available)
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                                   for c, k in enumerate(counts) if k]))
    idx = torch.from_numpy(keep)
    return DomainData(data.x[idx], data.y[idx], list(data.classes), data.name, data.split,
                      dict(data.options, label_shift=True))


__all__ = ["ShiftMeasure", "class_histogram", "domain_classifier_accuracy", "features", "format_table",
           "label", "label_shift", "measure", "mmd", "proxy_a_distance", "rank_pairs"]
