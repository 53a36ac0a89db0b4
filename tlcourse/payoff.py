"""Transfer's payoff on one plot: the pretrained course network against the same network trained from
scratch on a small target, as learning curves (test accuracy before training and after every epoch).

Torrey and Shavlik (2009) name three ways transfer can pay off on such curves. Here each is one number
read off a curve (:func:`benefits`):

- **higher start**: the accuracy before any target training (epoch 0);
- **steeper slope**: the accuracy gained per epoch over the first ``SLOPE_EPOCHS`` epochs; beside it,
  ``steepest`` (the largest gain per epoch over any ``SLOPE_EPOCHS`` consecutive epochs), because a
  curve that starts low has more room to climb later;
- **higher asymptote**: the mean accuracy of the last ``TAIL`` epochs.

The target is real handwritten digits with ``N_PER_CLASS`` labelled images per class. Its classes are
source classes (the glyphs include the printed digits), so the pretrained network is reused whole: its
head keeps only the ten digit outputs (:func:`keep_classes`). Both networks train with the same recipe
(every layer, Adam, same rate, batch and epochs); the test split is never used for any choice.

``python -m tlcourse.payoff --seeds 0 1 2`` stores the curves of several seeds (``stored``, name
``payoff``), which lesson 00 prints beside its live seed.
"""
from __future__ import annotations

import argparse
import copy

import numpy as np
import torch
from torch import nn

from tlcourse import domains, stored, zoo
from tlcourse.models import CourseNet
from tlcourse.runtime import seed_everything
from tlcourse.train import evaluate, fit

TARGET = "handwritten"
N_PER_CLASS = 5
EPOCHS = 30
LR = 1e-3
BATCH_SIZE = 10
SLOPE_EPOCHS = 3
TAIL = 5
NETWORKS = ("pretrained", "scratch")
NAME = "payoff"
COMMAND = "python -m tlcourse.payoff --seeds 0 1 2"


def keep_classes(model: nn.Sequential, model_classes: list[str], classes: list[str]) -> nn.Sequential:
    """A copy of ``model`` whose last layer keeps only the outputs of ``classes``, in that order."""
    missing = [c for c in classes if c not in model_classes]
    if missing:
        raise ValueError(f"the model has no output for {missing}; it knows {model_classes}")
    rows = [model_classes.index(c) for c in classes]
    new = copy.deepcopy(model)
    head = new.fc3
    new.fc3 = nn.Linear(head.in_features, len(classes))
    with torch.no_grad():
        new.fc3.weight.copy_(head.weight[rows])
        new.fc3.bias.copy_(head.bias[rows])
    new.num_classes = len(classes)
    return new


def learning_curve(model: nn.Module, train, test, *, epochs: int = EPOCHS, lr: float = LR,
                   batch_size: int = BATCH_SIZE, seed: int = 0) -> list[float]:
    """Test accuracy of ``model`` before training, then after each of ``epochs`` epochs on ``train``."""
    curve = [evaluate(model, test)["acc"]]
    fit(model, train, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, show_progress=False,
        on_epoch=lambda row: curve.append(evaluate(model, test)["acc"]))
    return curve


def run(seed: int = 0, *, target: str = TARGET, n_per_class: int = N_PER_CLASS, epochs: int = EPOCHS,
        pretrained: nn.Module | None = None) -> dict[str, list[float]]:
    """The learning curves of the pretrained and the scratch network on one seed's target sample."""
    pretrained = pretrained if pretrained is not None else zoo.load_pretrained()
    train = domains.load(target, "train", n_per_class=n_per_class, seed=seed)
    test = domains.load(target, "test")
    seed_everything(seed)
    scratch = CourseNet(len(train.classes))
    transferred = keep_classes(pretrained, pretrained.classes, train.classes)
    return {"pretrained": learning_curve(transferred, train, test, epochs=epochs, seed=seed),
            "scratch": learning_curve(scratch, train, test, epochs=epochs, seed=seed)}


def benefits(curve: list[float], slope_epochs: int = SLOPE_EPOCHS, tail: int = TAIL) -> dict[str, float]:
    """The three numbers of one curve: start, slope (early gain per epoch), asymptote; and the steepest."""
    c = np.asarray(curve, dtype=float)
    if len(c) < max(slope_epochs, tail) + 1:
        raise ValueError(f"a curve of {len(c) - 1} epochs is too short: need more than "
                         f"{max(slope_epochs, tail)} epochs")
    k = slope_epochs
    return {"start": float(c[0]), "slope": float((c[k] - c[0]) / k),
            "asymptote": float(c[-tail:].mean()), "steepest": float(((c[k:] - c[:-k]) / k).max())}


def rows_of(curves: dict[str, list[float]], seed: int) -> list[dict]:
    """One stored row per network: its benefits and its curve."""
    return [{"seed": seed, "network": name, **benefits(curves[name]), "curve": curves[name]} for name in NETWORKS]


def plot(curves: dict[str, list[float]], ax=None, title: str = ""):
    """Both learning curves, each of the three benefits marked and labelled with its numbers."""
    import matplotlib.pyplot as plt

    from tlcourse.i18n import tr

    ax = ax if ax is not None else plt.subplots(figsize=(8, 4.5))[1]
    b = {name: benefits(curves[name]) for name in NETWORKS}
    colors = {"pretrained": "tab:blue", "scratch": "tab:orange"}
    for name in NETWORKS:
        ax.plot(range(len(curves[name])), curves[name], marker="o", ms=3, color=colors[name],
                label=tr("{name} network", name=name))
    last, k = len(curves["scratch"]) - 1, SLOPE_EPOCHS
    # 1. start: the gap at epoch 0
    ax.annotate("", xy=(0, b["pretrained"]["start"]), xytext=(0, b["scratch"]["start"]),
                arrowprops=dict(arrowstyle="<->", color="black"))
    ax.text(0.4, (b["pretrained"]["start"] + b["scratch"]["start"]) / 2,
            tr("1. higher start") + f"\n{b['scratch']['start']:.0%} -> {b['pretrained']['start']:.0%}", va="center")
    # 2. slope: the early gain per epoch, a straight segment over the first k epochs
    for name in NETWORKS:
        s = b[name]
        ax.plot([0, k], [s["start"], s["start"] + k * s["slope"]], color=colors[name], lw=4, alpha=0.35)
    mid = b["pretrained"]["start"] + k / 2 * b["pretrained"]["slope"]
    ax.annotate(tr("2. steeper slope, epochs 0-{k}:", k=k) + f"\n{100 * b['scratch']['slope']:+.1f} -> "
                f"{100 * b['pretrained']['slope']:+.1f} " + tr("points per epoch"), xy=(k / 2, mid), xytext=(7, 0.25),
                va="top", arrowprops=dict(arrowstyle="->", color="gray"))
    # 3. asymptote: the mean of the last epochs
    for name in NETWORKS:
        ax.hlines(b[name]["asymptote"], last - TAIL + 1, last, color=colors[name], ls="--", lw=2)
    ax.annotate("", xy=(last + 0.5, b["pretrained"]["asymptote"]), xytext=(last + 0.5, b["scratch"]["asymptote"]),
                arrowprops=dict(arrowstyle="<->", color="black"))
    ax.text(last - 0.5, min(b[n]["asymptote"] for n in NETWORKS) - 0.12,
            tr("3. higher asymptote (last {n} epochs)", n=TAIL) + f"\n{b['scratch']['asymptote']:.0%} -> "
            f"{b['pretrained']['asymptote']:.0%}", ha="right", va="top")
    ax.set(xlabel=tr("epoch (0 = before any target training)"), ylabel=tr("test accuracy"), ylim=(0, 1.02),
           xlim=(-0.5, last + 1.5), title=title or tr("Pretrained vs scratch, learning curves"))
    ax.legend(loc="lower right")
    return ax


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    pretrained = zoo.load_pretrained()
    rows = []
    for seed in args.seeds:
        rows += rows_of(run(seed, pretrained=pretrained), seed)
        print(f"seed {seed}: " + "; ".join(f"{r['network']} start {r['start']:.3f} slope {r['slope']:.3f} "
                                           f"asymptote {r['asymptote']:.3f}" for r in rows[-2:]))
    path = stored.save(NAME, rows, command=COMMAND, target=TARGET, n_per_class=N_PER_CLASS, epochs=EPOCHS,
                       lr=LR, batch_size=BATCH_SIZE, slope_epochs=SLOPE_EPOCHS, tail=TAIL)
    print(f"stored {len(rows)} rows in {path}")


if __name__ == "__main__":
    main()
