"""Public tests and observations of lesson 01 (domains and tasks: measuring a shift)."""
from __future__ import annotations

import numpy as np
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import Message, tr


def _samples(rng: np.random.Generator, n: int, d: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian samples of ``n`` points in ``d`` dimensions, the second moved by ``shift`` in each."""
    return rng.normal(0, 1, (n, d)), rng.normal(shift, 1, (n, d))


@exercise("lesson01.held-out", hint="The classifier is scored on the very points it was fitted to: with "
          "many features and few points it separates anything, even two samples of one distribution. Score "
          "it on held-out points: sklearn.model_selection.cross_val_score(clf, x, d, cv=5).mean().")
def _held_out(a_distance) -> None:
    rng = np.random.default_rng(0)
    same = a_distance(*_samples(rng, 100, 60, 0.0))
    assert isinstance(same, (float, int)) and not isinstance(same, bool), (
        tr("return the proxy A-distance as a Python number, not {type}", type=type(same).__name__))
    assert same < 0.6, (
        tr("two samples of ONE distribution (100 points each, 60 features) get a proxy A-distance of {same:.2f}; "
           "they cannot really be told apart, so expect about 0. Is the classifier scored on points it trained on?",
           same=same))
    far = a_distance(*_samples(rng, 100, 60, 1.0))
    assert far > 1.5, tr("two clearly different samples (every feature moved by 1) get {far:.2f}; expect near 2. "
                         "Keep d_A = 2 * (1 - 2 * error) with the held-out error", far=far)


@exercise("lesson01.mean-blind", hint="Draw x and y with different spreads (e.g. y three times wider than "
          "x), then subtract from each sample its own mean (over the rows): the means are then equal, the "
          "distributions are not.")
def _mean_blind(same_mean_pair) -> None:
    from tlcourse.discrepancy import mmd2

    x, y = same_mean_pair(200, 3, 0)
    x, y = torch.as_tensor(np.asarray(x), dtype=torch.float64), torch.as_tensor(np.asarray(y), dtype=torch.float64)
    assert x.shape == (200, 3) and y.shape == (200, 3), (
        tr("return two samples of shape (n, d) = (200, 3), got {x_shape} and {y_shape}",
           x_shape=tuple(x.shape), y_shape=tuple(y.shape)))
    linear = float(((x.mean(0) - y.mean(0)) ** 2).sum() / (torch.cat([x, y]).var(0).sum() + 1e-12))
    assert linear < 1e-8, (
        tr("the linear-kernel MMD^2 (the squared distance of the two sample means) must be 0, it is {linear:.2g} "
           "times the data's variance: make the two sample means exactly equal", linear=linear))
    gaussian = float(mmd2(x, y))
    assert gaussian > 0.05, (
        tr("the Gaussian-kernel MMD^2 is only {gaussian:.3f}: the two samples look alike to it too. Make the "
           "distributions differ in something other than the mean (spread, shape)", gaussian=gaussian))


@exercise("lesson01.label-shift", hint="For each class c draw round(proportions[c] * n) of the indices "
          "where y == c, without replacement (np.random.default_rng(seed).choice(..., replace=False)).")
def _label_shift(label_shift_indices) -> None:
    y = torch.arange(4).repeat_interleave(50)  # 4 classes, 50 images each
    p = [0.5, 0.3, 0.2, 0.0]
    idx = label_shift_indices(y, p, 100, 0)
    idx = torch.as_tensor(np.asarray(idx)).long()
    assert idx.dim() == 1, tr("return a 1-d array of indices, got shape {shape}", shape=tuple(idx.shape))
    assert len(idx) == 100, tr("asked for n=100 images, got {n}", n=len(idx))
    assert idx.min() >= 0 and idx.max() < len(y), tr("the indices must point into y")
    assert len(torch.unique(idx)) == len(idx), tr("draw without replacement: an image may appear only once")
    counts = torch.bincount(y[idx], minlength=4).tolist()
    assert counts == [50, 30, 20, 0], (
        tr("with proportions {p} and n=100 expect class counts [50, 30, 20, 0], got {counts}", p=p, counts=counts))
    small = torch.as_tensor(np.asarray(label_shift_indices(y, [0.25] * 4, 20, 0))).long()
    again = torch.as_tensor(np.asarray(label_shift_indices(y, [0.25] * 4, 20, 0))).long()
    other = torch.as_tensor(np.asarray(label_shift_indices(y, [0.25] * 4, 20, 1))).long()
    assert sorted(small.tolist()) == sorted(again.tolist()), tr("the same seed must give the same sample")
    assert sorted(small.tolist()) != sorted(other.tolist()), tr(
        "pick the images at random with the seed, not the first ones")


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

def _held_out_rule(mine: dict, ref: dict) -> Message | None:
    if mine["type"] not in ("float", "int"):
        return Message("return the proxy A-distance as a Python number")
    if not mine["same distribution"] < 0.6:
        return Message("two samples of one distribution got a large proxy A-distance: score the domain "
                       "classifier on points it did not train on")
    if not mine["different distributions"] > 1.2:
        return Message("two clearly different samples got a small proxy A-distance: "
                       "keep d_A = 2 * (1 - 2 * error)")
    return None


@observe("lesson01.held-out", rule=_held_out_rule)
def _(seed, a_distance):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(100, 130)), int(rng.integers(80, 120))
    same = a_distance(*_samples(rng, n, d, 0.0))
    return {"same distribution": same, "type": type(same).__name__,
            "different distributions": a_distance(*_samples(rng, n, d, 1.0))}


def _mean_blind_rule(mine: dict, ref: dict) -> Message | None:
    from tlcourse.discrepancy import mmd2

    x, y = (np.asarray(mine[k], dtype=float) for k in ("x", "y"))
    shape = tuple(np.asarray(ref["x"]).shape)
    if x.shape != shape or y.shape != shape:
        return Message("return two samples of shape (n, d) for the n and d asked")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return Message("the samples must be finite numbers")
    pooled_var = np.concatenate([x, y]).var(0).sum()
    if ((x.mean(0) - y.mean(0)) ** 2).sum() > 1e-8 * (pooled_var + 1e-12):
        return Message("the two sample means differ: the linear-kernel MMD is not 0")
    if not float(mmd2(torch.as_tensor(x), torch.as_tensor(y))) > 0.05:
        return Message("the Gaussian-kernel MMD barely sees a difference: "
                       "make the distributions differ beyond the mean")
    return None


@observe("lesson01.mean-blind", rule=_mean_blind_rule)
def _(seed, same_mean_pair):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(100, 200)), int(rng.integers(2, 8))
    x, y = same_mean_pair(n, d, int(rng.integers(0, 1000)))
    return {"x": x, "y": y}


def _label_shift_rule(mine: dict, ref: dict) -> Message | None:
    y, want = np.asarray(ref["y"]), ref["counts"]
    picks = [np.asarray(mine[k]) for k in ("indices", "again", "other seed")]
    if any(p.ndim != 1 or p.dtype.kind not in "iu" for p in picks):
        return Message("return a 1-d array of integer indices")
    idx = picks[0]
    if len(idx) and (idx.min() < 0 or idx.max() >= len(y)):
        return Message("the indices must point into y")
    if len(set(idx.tolist())) != len(idx):
        return Message("draw without replacement: an image may appear only once")
    if np.bincount(y[idx], minlength=len(want)).tolist() != want:
        return Message("the class counts of your sample do not follow the proportions on the grader's "
                       "labels")
    if sorted(picks[1].tolist()) != sorted(idx.tolist()):
        return Message("the same seed must give the same sample")
    if sorted(picks[2].tolist()) == sorted(idx.tolist()):
        return Message("pick the images at random with the seed, not the first ones")
    return None


@observe("lesson01.label-shift", rule=_label_shift_rule)
def _(seed, label_shift_indices):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 7))
    y = torch.as_tensor(rng.permutation(np.repeat(np.arange(k), 40)))
    counts = rng.multinomial(60, np.full(k, 1 / k)).clip(max=40)
    n = int(counts.sum())
    proportions = (counts / n).tolist()
    return {"y": y, "counts": counts.tolist(), "indices": label_shift_indices(y, proportions, n, 3),
            "again": label_shift_indices(y, proportions, n, 3), "other seed": label_shift_indices(y, proportions, n, 4)}
