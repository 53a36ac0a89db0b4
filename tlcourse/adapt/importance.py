"""Instance weighting: re-weight source samples so that the source looks like the target.

Under covariate shift (p(y|x) shared, p(x) different) the target risk is a weighted source risk,
E_t[loss] = E_s[w(x) loss] with w(x) = p_t(x) / p_s(x). We never need the densities: a classifier
trained to tell target (1) from source (0) gives, by Bayes' rule,

    p_t(x) / p_s(x) = [p(t|x) / p(s|x)] * [n_s / n_t]

(the odds, corrected for the two sample sizes). The weights are only as good as the overlap of
the domains: where the target has mass the source never had, no weighting can help, and a few
huge weights make training noisy, hence clipping and the effective sample size below.
"""
from __future__ import annotations

import numpy as np
import torch


def _numpy(a: np.ndarray | torch.Tensor) -> np.ndarray:
    a = a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a)
    return a.reshape(len(a), -1).astype(np.float64)


def domain_classifier(source: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor, C: float = 1.0):
    """A logistic-regression domain classifier (standardised inputs; target = 1), fitted."""
    from ..probe import logistic_regression

    xs, xt = _numpy(source), _numpy(target)
    x = np.concatenate([xs, xt])
    d = np.concatenate([np.zeros(len(xs)), np.ones(len(xt))])
    return logistic_regression(C, max_iter=2000).fit(x, d)


def importance_weights(source: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor,
                       clip: float | None = 10.0, C: float = 1.0, classifier=None) -> torch.Tensor:
    """Weights w(x_s) ~ p_t(x_s) / p_s(x_s) for every source sample, from a domain classifier's odds.

    ``source`` (m, ...) and ``target`` (n, ...) are inputs or features (flattened per sample).
    ``classifier``: any fitted scikit-learn classifier with ``predict_proba`` whose class 1 is the
    target; by default a logistic regression (its log-odds are linear, exact for Gaussians with a
    shared covariance) is fitted here with regularisation ``C``. The weights are clipped to at most
    ``clip`` (None: no clipping) and then divided by their mean, so they average to 1.
    """
    if clip is not None and clip <= 0:
        raise ValueError(f"clip must be positive or None, got {clip}")
    xs, xt = _numpy(source), _numpy(target)
    clf = classifier if classifier is not None else domain_classifier(xs, xt, C=C)
    p_t = np.clip(clf.predict_proba(xs)[:, 1], 1e-12, 1 - 1e-12)
    w = p_t / (1 - p_t) * (len(xs) / len(xt))
    if clip is not None:
        w = np.minimum(w, clip)
    return torch.as_tensor(w / w.mean(), dtype=torch.float32)


def effective_sample_size(w: np.ndarray | torch.Tensor) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: how many equally weighted samples the
    weighted sample is worth (= len(w) for uniform weights, ~1 when one weight dominates)."""
    w = torch.as_tensor(w, dtype=torch.float64)
    return float(w.sum() ** 2 / (w**2).sum())


def covariate_shift_demo(seed: int = 0, n: int = 400, clip: float = 20.0) -> dict:
    """Shimodaira's 1-D example: y = -x + x^3 + noise, source x ~ N(0.5, 0.5^2), target x ~ N(0, 0.3^2).

    A line (the wrong model) is fitted to the source by least squares, once unweighted and once with
    importance weights from a domain classifier. Returns the samples, the weights, each fit's
    coefficients (slope, intercept) and its mean squared error on the target (whose labels are used
    for nothing but that score).
    """
    rng = np.random.default_rng(seed)
    xs = rng.normal(0.5, 0.5, n)
    ys = -xs + xs**3 + rng.normal(0, 0.1, n)
    xt = rng.normal(0.0, 0.3, n)
    yt = -xt + xt**3 + rng.normal(0, 0.1, n)
    w = importance_weights(xs[:, None], xt[:, None], clip=clip).numpy()
    fits, mse = {}, {}
    for name, weights in (("unweighted", np.ones_like(xs)), ("weighted", w)):
        a = np.stack([xs, np.ones_like(xs)], 1) * np.sqrt(weights)[:, None]
        fits[name] = np.linalg.lstsq(a, ys * np.sqrt(weights), rcond=None)[0]
        mse[name] = float(np.mean((np.polyval(fits[name], xt) - yt) ** 2))
    return {"xs": xs, "ys": ys, "xt": xt, "yt": yt, "weights": w, "fits": fits, "mse": mse}
