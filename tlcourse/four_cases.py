"""The four fine-tuning strategies, and the experiment that compares them over target sizes.

Given a network pretrained on the source and a target task with ``num_classes`` classes:

- ``"a: new head"``   freeze everything, replace the last layer, train only it;
- ``"b: early + head"`` keep the layers up to ``cut`` (frozen), put a new fully connected head on top;
- ``"c: fine-tune all"`` start from the pretrained weights with a new last layer, train everything;
- ``"d: scratch"``    the same architecture from random weights: the baseline transfer must beat.

``compare`` trains each strategy on ``n`` images per class of the target for a fixed budget of
gradient steps and scores it on the target's test split, which is never used for any choice.
"""
from __future__ import annotations

import math
import time
from typing import Iterable

from torch import nn

from tlcourse import domains, surgery, zoo
from tlcourse.models import CourseNet, count_parameters, layer_names
from tlcourse.runtime import progress, seed_everything
from tlcourse.train import evaluate, fit

STRATEGIES = ("a: new head", "b: early + head", "c: fine-tune all", "d: scratch")


def build(strategy: str, pretrained: nn.Sequential, num_classes: int, cut: str = "conv2") -> nn.Sequential:
    """The model a strategy starts from, with the right layers frozen."""
    if strategy == STRATEGIES[0]:
        net = surgery.replace_head(pretrained, num_classes)
        return surgery.unfreeze(surgery.freeze(net), layer_names(net)[-1])
    if strategy == STRATEGIES[1]:
        body = surgery.freeze(surgery.truncate(pretrained, cut))
        return surgery.attach_head(body, num_classes)
    if strategy == STRATEGIES[2]:
        return surgery.unfreeze(surgery.replace_head(pretrained, num_classes))
    if strategy == STRATEGIES[3]:
        return CourseNet(num_classes, **{k: v for k, v in pretrained.config.items() if k != "num_classes"})
    raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")


def train_one(strategy: str, target: str, n_per_class: int, seed: int = 0, steps: int = 300,
              lr: float = 1e-3, batch_size: int = 64, cut: str = "conv2",
              pretrained: nn.Sequential | None = None, test=None) -> dict:
    """Train one strategy on ``n_per_class`` target images for about ``steps`` steps; score on test."""
    pretrained = pretrained if pretrained is not None else zoo.load_pretrained()
    train = domains.load(target, "train", n_per_class=n_per_class, seed=seed)
    test = test if test is not None else domains.load(target, "test")
    seed_everything(seed)
    net = build(strategy, pretrained, len(train.classes), cut=cut)
    batch = min(batch_size, len(train))
    epochs = max(1, math.ceil(steps * batch / len(train)))
    curve: list[tuple[int, float]] = []
    start = time.perf_counter()
    fit(net, train, epochs=epochs, lr=lr, batch_size=batch, seed=seed, show_progress=False,
        on_epoch=lambda row: curve.append((row["steps"], row["train_acc"])))
    seconds = time.perf_counter() - start
    return {"strategy": strategy, "target": target, "n_per_class": n_per_class, "seed": seed,
            "test_acc": evaluate(net, test)["acc"], "seconds": seconds, "steps": curve[-1][0],
            "trainable": count_parameters(net, trainable_only=True)}


def compare(targets: Iterable[str], sizes: Iterable[int], seeds: Iterable[int] = (0,),
            strategies: Iterable[str] = STRATEGIES, steps: int = 300, test_per_class: int | None = 100,
            show_progress: bool = True) -> list[dict]:
    """Every strategy x target x size x seed; one result row each.

    Scores use ``test_per_class`` test images per class (a fixed subset; ``None`` = the whole split).
    """
    pretrained = zoo.load_pretrained()
    jobs = [(t, n, s, k) for t in targets for n in sizes for s in seeds for k in strategies]
    tests = {t: domains.load(t, "test", n_per_class=test_per_class) for t in {job[0] for job in jobs}}
    rows = []
    for target, n, seed, strategy in progress(jobs, desc="runs", enabled=show_progress):
        rows.append(train_one(strategy, target, n, seed, steps=steps, pretrained=pretrained, test=tests[target]))
    return rows


def val_curve(strategy: str, target: str, n_per_class: int, seed: int = 0, epochs: int = 6,
              lr: float = 1e-3, batch_size: int = 64) -> list[tuple[int, float]]:
    """(gradient steps so far, validation accuracy) after every epoch: how fast a strategy learns."""
    pretrained = zoo.load_pretrained()
    train = domains.load(target, "train", n_per_class=n_per_class, seed=seed)
    val = domains.load(target, "val", n_per_class=50)
    seed_everything(seed)
    net = build(strategy, pretrained, len(train.classes))
    history = fit(net, train, val, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, show_progress=False)
    return list(zip(history.column("steps"), history.column("val_acc")))


def steps_to_reach(curve: list[tuple[int, float]], accuracy: float) -> int | None:
    """The first step count at which ``curve`` reaches ``accuracy`` (None if it never does)."""
    return next((steps for steps, acc in curve if acc >= accuracy), None)


def mean_over_seeds(rows: list[dict], key: str = "test_acc") -> dict[tuple[str, int, str], float]:
    """(target, n_per_class, strategy) -> mean of ``key`` over seeds."""
    groups: dict[tuple[str, int, str], list[float]] = {}
    for r in rows:
        groups.setdefault((r["target"], r["n_per_class"], r["strategy"]), []).append(r[key])
    return {k: sum(v) / len(v) for k, v in groups.items()}


def winners(rows: list[dict]) -> dict[tuple[str, int], tuple[str, float, float]]:
    """(target, n_per_class) -> (winning strategy, its mean accuracy, margin over the runner-up)."""
    means = mean_over_seeds(rows)
    out = {}
    for target, n in sorted({(t, n) for t, n, _ in means}):
        ranked = sorted(((acc, s) for (t, m, s), acc in means.items() if (t, m) == (target, n)), reverse=True)
        best, second = ranked[0], ranked[1] if len(ranked) > 1 else (float("nan"), "")
        out[(target, n)] = (best[1], best[0], best[0] - second[0])
    return out


def plot_learning_curves(rows: list[dict], axes=None):
    """Test accuracy against images per class (log scale), one line per strategy, one panel per target."""
    import matplotlib.pyplot as plt

    means = mean_over_seeds(rows)
    targets = sorted({t for t, _, _ in means})
    if axes is None:
        _, axes = plt.subplots(1, len(targets), figsize=(5.5 * len(targets), 3.8), squeeze=False)
        axes = axes[0]
    for ax, target in zip(axes, targets):
        for strategy in STRATEGIES:
            pts = sorted((n, acc) for (t, n, s), acc in means.items() if t == target and s == strategy)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=strategy)
        ax.set(xscale="log", title=f"target: {target}", xlabel="training images per class",
               ylabel="test accuracy", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return axes


def table(rows: list[dict]) -> str:
    """A Markdown-like text table: mean test accuracy per strategy, by target and size."""
    means = mean_over_seeds(rows)
    keys = sorted({(t, n) for t, n, _ in means})
    lines = [f"{'target':<10} {'n/class':>7}  " + "  ".join(f"{s:>17}" for s in STRATEGIES)]
    for target, n in keys:
        cells = [means.get((target, n, s)) for s in STRATEGIES]
        lines.append(f"{target:<10} {n:>7}  " + "  ".join(f"{c:>17.3f}" if c is not None else f"{'-':>17}"
                                                         for c in cells))
    return "\n".join(lines)
