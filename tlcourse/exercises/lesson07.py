"""Public tests and observations of lesson 07 (feature- and instance-based transfer)."""
from __future__ import annotations

import math

import numpy as np
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import tr


def _reference_mmd2(x, y, sigma):
    k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * sigma**2))
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return ((kxx.sum() - kxx.trace()) / (m * (m - 1)) + (kyy.sum() - kyy.trace()) / (n * (n - 1))
            - 2 * k(x, y).mean())


@exercise("lesson07.mmd", hint="k(a, b) = exp(-||a - b||^2 / (2 sigma^2)) for all pairs "
          "(torch.cdist); leave out the diagonal of k(x, x) and k(y, y) for the unbiased estimate.")
def _mmd(mmd2_gaussian) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(7, 3, generator=g), torch.randn(5, 3, generator=g) + 0.5
    got = mmd2_gaussian(x, y, 1.5)
    assert torch.is_tensor(got) and got.dim() == 0, tr("return a 0-d tensor")
    want = _reference_mmd2(x, y, 1.5)
    biased = (torch.exp(-torch.cdist(x, x) ** 2 / 4.5).mean() + torch.exp(-torch.cdist(y, y) ** 2 / 4.5).mean()
              - 2 * torch.exp(-torch.cdist(x, y) ** 2 / 4.5).mean())
    if torch.isclose(got, biased, atol=1e-5):
        raise AssertionError(tr("you computed the biased estimate: leave out the i = j terms"))
    assert torch.isclose(got, want, atol=1e-5), tr("expected {want:.5f}, got {got:.5f}",
                                                   want=want.item(), got=got.item())
    a, b = torch.randn(400, 2, generator=g), torch.randn(400, 2, generator=g)
    assert abs(mmd2_gaussian(a, b, 1.0).item()) < 0.01, tr("two samples of one distribution should give ~0")


@exercise("lesson07.weights", hint="odds = p / (1 - p); multiply by n_source / n_target; "
          "clip with torch.clamp(max=clip); divide by the mean.")
def _weights(weights_from_probs) -> None:
    p = torch.tensor([0.5, 0.2, 0.8, 0.99])
    got = torch.as_tensor(weights_from_probs(p, 4, 2, 1000.0), dtype=torch.float64)
    assert got.shape == (4,), tr("one weight per source sample: expected shape (4,), got {shape}",
                                 shape=tuple(got.shape))
    raw = (p / (1 - p)).double() * 2
    assert torch.allclose(got, raw / raw.mean(), rtol=1e-4), (
        tr("expected {want}, got {got}", want=[round(v, 3) for v in (raw / raw.mean()).tolist()],
           got=[round(v, 3) for v in got.tolist()]))
    clipped = torch.as_tensor(weights_from_probs(p, 4, 2, 3.0), dtype=torch.float64)
    want = raw.clamp(max=3.0)
    assert torch.allclose(clipped, want / want.mean(), rtol=1e-4), tr(
        "clip the weights first, then normalise to mean 1")
    assert math.isclose(float(clipped.mean()), 1.0, rel_tol=1e-5), tr("the weights should average to 1")


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

@observe("lesson07.mmd", rtol=1e-4, atol=1e-6)
def _(seed, mmd2_gaussian):
    g = torch.Generator().manual_seed(seed)
    d = int(torch.randint(2, 6, (1,), generator=g))
    x, y = torch.randn(25, d, generator=g), torch.randn(18, d, generator=g) + torch.rand(d, generator=g)
    sigma = 0.5 + 2 * float(torch.rand(1, generator=g))
    return {"two samples": mmd2_gaussian(x, y, sigma), "shifted further": mmd2_gaussian(x, y + 1, sigma)}


@observe("lesson07.weights", rtol=1e-4, atol=1e-7)
def _(seed, weights_from_probs):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(9, generator=g, dtype=torch.float64) * 0.98 + 0.01
    n_source, n_target = int(torch.randint(50, 500, (1,), generator=g)), int(torch.randint(50, 500, (1,), generator=g))
    return {"no clipping": weights_from_probs(p, n_source, n_target, 1e9),
            "clipped": weights_from_probs(p, n_source, n_target, 2.0),
            "all clipped": weights_from_probs(p, n_source, n_target, 1e-3)}


# ---- Choose with evidence: is importance weighting worth trying on this pair of domains? ---------------------

def _pairs(seed: int, n_source: int = 300, n_target: int = 200) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    """Pairs of feature samples drawn from ``seed``, each (source, target, overlapping?): two overlapping
    (the target's mean moved by at most 0.3 standard deviations in all), two disjoint (moved by 3.5 to 5)."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for overlap in (True, False, True, False):
        d = int(torch.randint(3, 9, (1,), generator=g))
        direction = torch.randn(d, generator=g)
        distance = float(torch.rand(1, generator=g)) * (0.3 if overlap else 1.5) + (0.0 if overlap else 3.5)
        source = torch.randn(n_source, d, generator=g) * 2 + 1
        target = torch.randn(n_target, d, generator=g) * 2 + 1 + 2 * distance * direction / direction.norm()
        pairs.append((source, target, overlap))
    order = torch.randperm(len(pairs), generator=g).tolist()
    return [pairs[i] for i in order]


@exercise("lesson07.choose", hint="w = importance_weights(f_source, f_target); the weights are worth using when "
          "effective_sample_size(w) keeps a good part of len(f_source) (say a third or more); return a bool.")
def _choose(worth_reweighting) -> None:
    for source, target, overlap in _pairs(0):
        got = worth_reweighting(source, target)
        assert isinstance(got, (bool, np.bool_)), tr("return True or False, got {type}", type=type(got).__name__)
        if overlap:
            assert got, tr("on two overlapping samples (the target is a slightly moved copy of the source) "
                           "importance weighting is worth trying: the weights keep most of the sample")
        else:
            assert not got, tr("on two samples that barely overlap, a few source examples would carry all the "
                               "weight: look at the effective sample size of the weights")


@observe("lesson07.choose")
def _(seed, worth_reweighting):
    return {"decisions": [bool(worth_reweighting(s, t)) for s, t, _ in _pairs(seed)]}
