"""The four fine-tuning strategies, and the experiment that compares them over target sizes.

Given a network pretrained on the source and a target task with ``num_classes`` classes:

- ``"a: new head"``   freeze everything, replace the last layer, train only it;
- ``"b: early + head"`` keep the layers up to ``cut`` (frozen), put a new fully connected head on top;
- ``"c: fine-tune all"`` start from the pretrained weights with a new last layer, train everything;
- ``"d: scratch"``    the same architecture from random weights: the baseline transfer must beat.

``compare`` trains each strategy on ``n`` images per class of the target for a fixed budget of
gradient steps and scores it on the target's test split, which is never used for any choice.

Three experiments are run over seeds once and stored (``tlcourse.stored``), for the lesson to print
beside its single live seed; regenerate them all with::

    OMP_NUM_THREADS=1 python -m tlcourse.four_cases --seeds 0 1 2

- ``four-cases``: every strategy x target x size x seed at the lesson's rate ``LR``, and at the other
  rates of ``RATES`` for the sizes ``SWEEP["rate_sizes"]``, with validation and test accuracy
  (:func:`sweep`). The rows at ``LR`` are the lesson's shared-rate table;
  :func:`best_rates` picks each strategy's rate on the validation split, :func:`at_rates` reads the rows
  of those rates;
- ``four-cases-speed``: validation accuracy after every epoch of (c) and (d) (:func:`speed`): how many
  steps each needs to reach a threshold, and how high each gets;
- ``four-cases-cut``: which pretrained layers to keep on a small, different target (:func:`cut_rows`):
  the early ones (the late ones re-initialised) or the late ones (the early ones re-initialised), over
  ``CUT["seeds"]`` (ten: the runs are cheap, and three seeds do not separate the two).
"""
from __future__ import annotations

import argparse
import math
import time
from typing import Iterable

import torch
from torch import nn

from tlcourse import domains, stored, surgery, zoo
from tlcourse.i18n import pad, tr
from tlcourse.models import CourseNet, count_parameters, layer_names
from tlcourse.runtime import progress, seed_everything
from tlcourse.train import evaluate, fit

STRATEGIES = ("a: new head", "b: early + head", "c: fine-tune all", "d: scratch")
#: The learning rates of the stored sweep (Adam); the lesson's live runs all use ``LR``.
RATES = (3e-4, 1e-3, 3e-3, 1e-2)
LR = 1e-3
#: The settings of the lesson's sweep, shared by the notebook, the stored results and the tests.
SWEEP = {"targets": ("letters", "photos"), "sizes": (5, 20, 100), "steps": 120, "test_per_class": 50,
         "val_per_class": 50, "rate_sizes": (5, 100)}
#: The "how fast" experiment: (c) against (d) on the similar target, validation after every epoch.
SPEED = {"target": "letters", "n_per_class": 50, "epochs": 15, "val_per_class": 50, "fraction": 0.95}
#: Seed 002's second case, measured: keep the early or the late pretrained layers on a small target.
CUTS = ("keep early, re-init late", "keep late, re-init early")
CUT = {"target": "photos", "sizes": (5, 20), "steps": 120, "test_per_class": 50, "seeds": tuple(range(10))}
COMMAND = "OMP_NUM_THREADS=1 python -m tlcourse.four_cases --seeds 0 1 2"


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


def build_cut(keep: str, pretrained: nn.Sequential, num_classes: int, split: str = "conv2") -> nn.Sequential:
    """Seed 002's choice, on the whole network: keep one end of it pretrained (frozen), re-initialise the other.

    ``"keep early, re-init late"``: the layers up to ``split`` stay pretrained and frozen, those above it
    (and a new head) start from random weights and train. ``"keep late, re-init early"``: the other way
    round: the layers up to ``split`` start from random weights and train *under* frozen pretrained late
    layers, which now receive inputs unlike any they were trained on.
    """
    if keep not in CUTS:
        raise ValueError(f"unknown choice {keep!r}; choose one of {CUTS}")
    net = surgery.replace_head(pretrained, num_classes)
    names = layer_names(net)
    early = names[: names.index(split) + 1]
    fresh = [n for n in names[:-1] if (n not in early) == (keep == CUTS[0])]
    for name in fresh:
        getattr(net, name).reset_parameters()
    kept = [n for n in names[:-1] if n not in fresh]
    return surgery.freeze(surgery.unfreeze(net), kept)


def train_one(strategy: str, target: str, n_per_class: int, seed: int = 0, steps: int = 300,
              lr: float = LR, batch_size: int = 64, cut: str = "conv2",
              pretrained: nn.Sequential | None = None, test=None, val=None) -> dict:
    """Train one strategy (or one of ``CUTS``) on ``n_per_class`` target images for about ``steps``
    steps; score on ``test`` (and ``val`` if given: the split choices are made on)."""
    pretrained = pretrained if pretrained is not None else zoo.load_pretrained()
    train = domains.load(target, "train", n_per_class=n_per_class, seed=seed)
    test = test if test is not None else domains.load(target, "test")
    seed_everything(seed)
    net = (build_cut(strategy, pretrained, len(train.classes), split=cut) if strategy in CUTS
           else build(strategy, pretrained, len(train.classes), cut=cut))
    batch = min(batch_size, len(train))
    epochs = max(1, math.ceil(steps * batch / len(train)))
    curve: list[tuple[int, float]] = []
    start = time.perf_counter()
    fit(net, train, epochs=epochs, lr=lr, batch_size=batch, seed=seed, show_progress=False,
        on_epoch=lambda row: curve.append((row["steps"], row["train_acc"])))
    seconds = time.perf_counter() - start
    row = {"strategy": strategy, "target": target, "n_per_class": n_per_class, "seed": seed, "lr": lr,
           "test_acc": evaluate(net, test)["acc"], "seconds": seconds, "steps": curve[-1][0],
           "trainable": count_parameters(net, trainable_only=True)}
    if val is not None:
        row["val_acc"] = evaluate(net, val)["acc"]
    return row


def compare(targets: Iterable[str], sizes: Iterable[int], seeds: Iterable[int] = (0,),
            strategies: Iterable[str] = STRATEGIES, steps: int = 300, test_per_class: int | None = 100,
            show_progress: bool = True, rates: Iterable[float] = (LR,),
            val_per_class: int | None = None) -> list[dict]:
    """Every strategy x target x size x seed (x learning rate); one result row each.

    Scores use ``test_per_class`` test images per class (a fixed subset; ``None`` = the whole split);
    with ``val_per_class``, rows also carry ``val_acc`` on that many validation images per class.
    """
    pretrained = zoo.load_pretrained()
    jobs = [(t, n, s, k, lr) for t in targets for n in sizes for s in seeds for k in strategies for lr in rates]
    names = {job[0] for job in jobs}
    tests = {t: domains.load(t, "test", n_per_class=test_per_class) for t in names}
    vals = {t: domains.load(t, "val", n_per_class=val_per_class) if val_per_class else None for t in names}
    rows = []
    for target, n, seed, strategy, lr in progress(jobs, desc=tr("runs"), enabled=show_progress):
        rows.append(train_one(strategy, target, n, seed, steps=steps, lr=lr, pretrained=pretrained,
                              test=tests[target], val=vals[target]))
    return rows


def sweep(seeds: Iterable[int], rate: float = LR, show_progress: bool = True) -> list[dict]:
    """The lesson's comparison (``SWEEP``) at one learning rate, with validation accuracy: every size
    at the lesson's rate ``LR``, the sizes of ``SWEEP["rate_sizes"]`` at the other rates of ``RATES``."""
    sizes = SWEEP["sizes"] if math.isclose(rate, LR) else SWEEP["rate_sizes"]
    return compare(SWEEP["targets"], sizes, seeds, steps=SWEEP["steps"], rates=[rate],
                   test_per_class=SWEEP["test_per_class"], val_per_class=SWEEP["val_per_class"],
                   show_progress=show_progress)


def best_rates(rows: list[dict]) -> dict[tuple[str, int, str], float]:
    """(target, n_per_class, strategy) -> the learning rate with the highest mean *validation* accuracy
    over seeds (ties: the smaller rate). The test split plays no part in the choice."""
    groups: dict[tuple[str, int, str, float], list[float]] = {}
    for r in rows:
        groups.setdefault((r["target"], r["n_per_class"], r["strategy"], r["lr"]), []).append(r["val_acc"])
    best: dict[tuple[str, int, str], tuple[float, float]] = {}
    for (t, n, s, lr), accs in sorted(groups.items()):
        score = sum(accs) / len(accs)
        if (t, n, s) not in best or score > best[(t, n, s)][0]:
            best[(t, n, s)] = (score, lr)
    return {k: lr for k, (_, lr) in best.items()}


def at_rates(rows: list[dict], rates: float | dict[tuple[str, int, str], float]) -> list[dict]:
    """The rows trained at one shared rate, or at each strategy's own rate (a :func:`best_rates` dict:
    then only the (target, size, strategy) groups it names)."""
    if isinstance(rates, dict):
        return [r for r in rows if (key := (r["target"], r["n_per_class"], r["strategy"])) in rates
                and math.isclose(r["lr"], rates[key])]
    return [r for r in rows if math.isclose(r["lr"], rates)]


def speed(seeds: Iterable[int], strategies: Iterable[str] = (STRATEGIES[2], STRATEGIES[3]),
          show_progress: bool = True) -> list[dict]:
    """Validation accuracy after every epoch (``SPEED``), one row per (strategy, seed, epoch)."""
    jobs = [(s, k) for s in seeds for k in strategies]
    rows = []
    for seed, strategy in progress(jobs, desc=tr("curves"), enabled=show_progress):
        curve = val_curve(strategy, SPEED["target"], SPEED["n_per_class"], seed=seed, epochs=SPEED["epochs"],
                          val_per_class=SPEED["val_per_class"])
        rows += [{"strategy": strategy, "seed": seed, "epoch": i + 1, "steps": steps, "val_acc": acc}
                 for i, (steps, acc) in enumerate(curve)]
    return rows


def time_to_threshold(rows: list[dict], fraction: float = SPEED["fraction"]) -> list[dict]:
    """Per seed of :func:`speed` rows: each strategy's ceiling (best validation accuracy), a threshold
    (``fraction`` of the *lower* ceiling, so that both reach it) and the steps each needs to reach it."""
    out = []
    for seed in sorted({r["seed"] for r in rows}):
        curves = {}
        for r in rows:
            if r["seed"] == seed:
                curves.setdefault(r["strategy"], []).append((r["steps"], r["val_acc"]))
        ceilings = {s: max(a for _, a in c) for s, c in curves.items()}
        threshold = fraction * min(ceilings.values())
        for s, c in curves.items():
            out.append({"seed": seed, "strategy": s, "ceiling": ceilings[s], "threshold": threshold,
                        "steps_to_threshold": steps_to_reach(sorted(c), threshold)})
    return out


def cut_rows(seeds: Iterable[int], show_progress: bool = True) -> list[dict]:
    """Seed 002's case measured (``CUT``): keep the early or the late pretrained layers, per size and seed."""
    return compare([CUT["target"]], CUT["sizes"], seeds, strategies=CUTS, steps=CUT["steps"],
                   test_per_class=CUT["test_per_class"], show_progress=show_progress)


def val_curve(strategy: str, target: str, n_per_class: int, seed: int = 0, epochs: int = 6,
              lr: float = LR, batch_size: int = 64, val_per_class: int = 50) -> list[tuple[int, float]]:
    """(gradient steps so far, validation accuracy) after every epoch: how fast a strategy learns."""
    pretrained = zoo.load_pretrained()
    train = domains.load(target, "train", n_per_class=n_per_class, seed=seed)
    val = domains.load(target, "val", n_per_class=val_per_class)
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
        ax.set(xscale="log", title=tr("target: {target}", target=target), xlabel=tr("training images per class"),
               ylabel=tr("test accuracy"), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return axes


def table(rows: list[dict]) -> str:
    """A Markdown-like text table: mean test accuracy per strategy, by target and size."""
    means = mean_over_seeds(rows)
    keys = sorted({(t, n) for t, n, _ in means})
    lines = [f"{pad(tr('target'), 10, '<')} {pad(tr('n/class'), 7)}  " + "  ".join(f"{s:>17}" for s in STRATEGIES)]
    for target, n in keys:
        cells = [means.get((target, n, s)) for s in STRATEGIES]
        lines.append(f"{target:<10} {n:>7}  " + "  ".join(f"{c:>17.3f}" if c is not None else f"{'-':>17}"
                                                         for c in cells))
    return "\n".join(lines)


def intervals(rows: list[dict], key: str = "test_acc") -> dict[tuple[str, int, str], tuple[float, float]]:
    """(target, n_per_class, strategy) -> (mean over seeds, half-width of its 95% t-interval)."""
    groups: dict[tuple[str, int, str], list[float]] = {}
    for r in rows:
        groups.setdefault((r["target"], r["n_per_class"], r["strategy"]), []).append(r[key])
    return {k: stored.interval(v) for k, v in groups.items()}


def interval_table(rows: list[dict], key: str = "test_acc") -> str:
    """Mean ± 95% half-width over seeds per strategy, by target and size (``nan`` with one seed)."""
    ci = intervals(rows, key)
    strategies = [s for s in (*STRATEGIES, *CUTS) if any(k[2] == s for k in ci)]
    lines = [f"{pad(tr('target'), 8, '<')} {pad(tr('n/class'), 7)}  " + "  ".join(f"{s:>24}" for s in strategies)]
    for target, n in sorted({(t, n) for t, n, _ in ci}):
        cells = [f"{ci[(target, n, s)][0]:.3f} ± {ci[(target, n, s)][1]:.3f}" if (target, n, s) in ci else "-"
                 for s in strategies]
        lines.append(f"{target:<8} {n:>7}  " + "  ".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def choose_with_evidence(rows: list[dict], target: str, n: int) -> str:
    """The strategy with the best mean test accuracy if its 95% interval lies wholly above the runner-up's,
    else ``"tie"`` (the reference answer of exercise 3.3)."""
    ci = {s: v for (t, m, s), v in intervals(rows).items() if (t, m) == (target, n)}
    (m1, h1, best), (m2, h2, _) = sorted(((m, h, s) for s, (m, h) in ci.items()), reverse=True)[:2]
    return best if m1 - h1 > m2 + h2 else "tie"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Lesson 03's stored multi-seed results.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cut-seeds", type=int, nargs="+", default=list(CUT["seeds"]),
                        help="seeds of the keep-early/keep-late runs (cheap, and 3 seeds do not separate them)")
    parser.add_argument("--only", choices=("sweep", "speed", "cut"), nargs="+", default=["sweep", "speed", "cut"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = COMMAND if args.seeds == [0, 1, 2] else f"{COMMAND.rsplit('--seeds', 1)[0]}--seeds {' '.join(map(str, args.seeds))}"
    if "sweep" in args.only:  # the lesson's rate first, saved after every rate (a long run keeps its part)
        rows: list[dict] = []
        for rate in sorted(RATES, key=lambda r: r != LR):
            rows += sweep(args.seeds, rate)
            print("saved", stored.save("four-cases", rows, command=command, seeds=args.seeds, rates=list(RATES),
                                       lr=LR, **SWEEP))
    if "speed" in args.only:
        print("saved", stored.save("four-cases-speed", speed(args.seeds), command=command, seeds=args.seeds,
                                   lr=LR, **SPEED))
    if "cut" in args.only:
        print("saved", stored.save("four-cases-cut", cut_rows(args.cut_seeds), command=command,
                                   lr=LR, split="conv2", **dict(CUT, seeds=args.cut_seeds)))


if __name__ == "__main__":
    main()
