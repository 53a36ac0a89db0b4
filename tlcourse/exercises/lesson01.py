"""Public tests and observations of lesson 01 (domains and tasks: measuring a shift)."""
from __future__ import annotations

import numpy as np
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe


@exercise("lesson01.a-distance", hint="d_A = 2 * (1 - 2 * error): 0 when the classifier guesses "
          "(error 0.5), 2 when it never errs.")
def _a_distance(proxy_a_distance) -> None:
    got = proxy_a_distance(0.1)
    assert isinstance(got, (float, int)) and not isinstance(got, bool), (
        f"return a Python number, not {type(got).__name__}")
    assert abs(got - 1.6) < 1e-9, f"with error 0.1 expect 2 * (1 - 2 * 0.1) = 1.6, got {got}" + (
        " (you used 1 - error where the formula has 1 - 2 * error)" if abs(got - 1.8) < 1e-9 else "")
    got = proxy_a_distance(0.5)
    assert abs(got) < 1e-9, (
        f"a classifier at chance (error 0.5) cannot tell the domains apart: expect 0, got {got}")
    assert abs(proxy_a_distance(0.0) - 2) < 1e-9, (
        "a perfect domain classifier (error 0) means fully separated domains: "
        f"expect 2, got {proxy_a_distance(0.0)}")
    assert abs(proxy_a_distance(0.25) - 1.0) < 1e-9, "with error 0.25 expect 1.0"


@exercise("lesson01.linear-mmd", hint="Average each sample over its rows (dim=0), subtract the two "
          "mean vectors and return the squared Euclidean norm of the difference.")
def _linear_mmd(linear_mmd2) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    got = linear_mmd2(x, x.clone())
    assert torch.is_tensor(got) or isinstance(got, float), (
        f"return a tensor or a float, got {type(got).__name__}")
    got = torch.as_tensor(got, dtype=torch.float64)
    assert got.dim() == 0, f"return one number (a 0-d tensor or a float), got shape {tuple(got.shape)}"
    assert abs(float(got)) < 1e-12, f"two identical samples have MMD 0, got {float(got):.4g}"
    c = torch.tensor([1.0, -2.0, 0.0, 0.5, 0.0], dtype=torch.float64)
    got = float(linear_mmd2(x, x + c))
    want = float((c ** 2).sum())  # 5.25
    assert abs(got - float(c.norm())) > 1e-6, "square the norm of the difference of the means"
    assert abs(got - want) < 1e-8, (
        f"shifting every point by c = {c.tolist()} should give ||c||^2 = {want}, got {got:.4f}")
    y = torch.randn(25, 5, generator=g, dtype=torch.float64) * 3 + 1
    want = float(((x.mean(0) - y.mean(0)) ** 2).sum())
    got = float(linear_mmd2(x, y))
    assert abs(got - want) < 1e-8, (
        f"for samples of different sizes (40 and 25 rows) expect {want:.4f}, got {got:.4f}; "
        "take the mean over the rows (dim=0), one mean vector per sample")


@exercise("lesson01.label-shift", hint="For each class c draw round(proportions[c] * n) of the indices "
          "where y == c, without replacement (np.random.default_rng(seed).choice(..., replace=False)).")
def _label_shift(label_shift_indices) -> None:
    y = torch.arange(4).repeat_interleave(50)  # 4 classes, 50 images each
    p = [0.5, 0.3, 0.2, 0.0]
    idx = label_shift_indices(y, p, 100, 0)
    idx = torch.as_tensor(np.asarray(idx)).long()
    assert idx.dim() == 1, f"return a 1-d array of indices, got shape {tuple(idx.shape)}"
    assert len(idx) == 100, f"asked for n=100 images, got {len(idx)}"
    assert idx.min() >= 0 and idx.max() < len(y), "the indices must point into y"
    assert len(torch.unique(idx)) == len(idx), "draw without replacement: an image may appear only once"
    counts = torch.bincount(y[idx], minlength=4).tolist()
    assert counts == [50, 30, 20, 0], (
        f"with proportions {p} and n=100 expect class counts [50, 30, 20, 0], got {counts}")
    small = torch.as_tensor(np.asarray(label_shift_indices(y, [0.25] * 4, 20, 0))).long()
    again = torch.as_tensor(np.asarray(label_shift_indices(y, [0.25] * 4, 20, 0))).long()
    other = torch.as_tensor(np.asarray(label_shift_indices(y, [0.25] * 4, 20, 1))).long()
    assert sorted(small.tolist()) == sorted(again.tolist()), "the same seed must give the same sample"
    assert sorted(small.tolist()) != sorted(other.tolist()), "pick the images at random with the seed, not the first ones"


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

@observe("lesson01.a-distance")
def _(seed, proxy_a_distance):
    errors = [0.0, 0.5, 1.0, *np.random.default_rng(seed).uniform(0, 1, 5).tolist()]
    return {f"error {e:.3f}": proxy_a_distance(e) for e in errors}


@observe("lesson01.linear-mmd", rtol=1e-4, atol=1e-6)
def _(seed, linear_mmd2):
    g = torch.Generator().manual_seed(seed)
    d = int(torch.randint(2, 9, (1,), generator=g))
    x, y = torch.randn(30, d, generator=g), torch.randn(45, d, generator=g) * 2 + torch.randn(d, generator=g)
    return {"different samples": linear_mmd2(x, y), "same sample": linear_mmd2(x, x.clone())}


def _label_shift_rule(mine: dict, ref: dict) -> str | None:
    y, want = np.asarray(ref["y"]), ref["counts"]
    picks = [np.asarray(mine[k]) for k in ("indices", "again", "other seed")]
    if any(p.ndim != 1 or p.dtype.kind not in "iu" for p in picks):
        return "return a 1-d array of integer indices"
    idx = picks[0]
    if len(idx) and (idx.min() < 0 or idx.max() >= len(y)):
        return "the indices must point into y"
    if len(set(idx.tolist())) != len(idx):
        return "draw without replacement: an image may appear only once"
    if np.bincount(y[idx], minlength=len(want)).tolist() != want:
        return "the class counts of your sample do not follow the proportions on the grader's labels"
    if sorted(picks[1].tolist()) != sorted(idx.tolist()):
        return "the same seed must give the same sample"
    if sorted(picks[2].tolist()) == sorted(idx.tolist()):
        return "pick the images at random with the seed, not the first ones"
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
