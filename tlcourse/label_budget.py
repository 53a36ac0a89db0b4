"""The label budget: are a few labelled target images a better investment than unlabelled alignment?

On the main shift of lessons 06 and 07 (printed digits -> digits on photos), target accuracy against the
number of labelled target images per class (the *budget*), for

- ``fine-tune``: the source-only model fine-tuned on those labelled target images alone;
- ``dann``: DANN with every unlabelled target image and no target label (the same at every budget);
- ``dann+labels``: seed 004's joint objective, L = L_s + lambda_t * L_t + the DANN term, trained from the
  start with the source, the unlabelled target images and the labelled ones;
- ``source+labels``: L = L_s + lambda_t * L_t without alignment (what the labels add without DANN).

At budget 0 no run is needed: fine-tuning on nothing is the source-only model, and the joint objectives
reduce to DANN and to source-only. The labelled images are drawn from the target *training* split,
nested (the 2 per class include the 1), and each run is scored once on the target test split.

    rows = run(LIVE_BUDGETS, seed=0, shift=shift, source_model=model, dann_acc=acc)  # the lesson's live run
    python -m tlcourse.label_budget --seeds 0 1 2           # the stored grid (data/results/label_budget.json)
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from . import stored
from .adapt.experiment import DEFAULTS, MAIN_SHIFT, RECIPES, Shift, load_shift
from .adapt.experiment import run as run_method
from .adapt.loop import accuracy, adapt
from .adapt.net import AdaptNet
from .i18n import tr
from .runtime import seed_everything

NAME = "label_budget"
METHODS: tuple[str, ...] = ("fine-tune", "dann", "dann+labels", "source+labels")
#: Labelled target images per class in the stored grid.
BUDGETS: tuple[int, ...] = (0, 1, 2, 5, 10, 20)
#: The lesson's live run: a few budgets, the cheap method plus one joint run.
LIVE_BUDGETS: tuple[int, ...] = (1, 5, 20)
#: ... and the one budget at which it trains the joint objective (a whole DANN run).
LIVE_JOINT_BUDGETS: tuple[int, ...] = (5,)
#: lambda_t, the weight of the labelled target images' cross-entropy in the joint objectives.
TARGET_WEIGHT = 1.0
#: Fine-tuning on the labelled images alone: SGD steps (about; whole passes), batch size, learning rate.
#: No validation set (it would cost more labels than the budget): the last step's weights are kept.
FINETUNE: dict[str, Any] = {"steps": 100, "batch_size": 16, "lr": 0.01}
COMMAND = "python -m tlcourse.label_budget --seeds 0 1 2"
#: How the plot and the verdicts name the methods.
LABELS: dict[str, str] = {"fine-tune": "fine-tuning on the labels alone", "dann": "DANN (no target label)",
                          "dann+labels": "DANN + labels (joint loss)",
                          "source+labels": "source + labels (joint loss, no alignment)"}


def labelled_subset(data: Any, per_class: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` labelled images of each class of ``data`` (DomainData or (x, y)), drawn with ``seed``.

    Nested: for one seed, the images of a smaller budget are among those of a larger one.
    """
    x, y = (data.x, data.y) if hasattr(data, "x") else data
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0:
        raise ValueError(f"per_class must be an integer >= 0, got {per_class!r}")
    counts = torch.bincount(y)
    if per_class > int(counts.min()):
        raise ValueError(f"per_class={per_class} but the smallest class has {int(counts.min())} images")
    g = torch.Generator().manual_seed(10_000 + seed)
    order = torch.randperm(len(y), generator=g)
    picked = torch.cat([order[y[order] == c][:per_class] for c in range(len(counts))])
    return x[picked], y[picked]


def fine_tune(source_model: AdaptNet, labelled: tuple[torch.Tensor, torch.Tensor], seed: int = 0,
              steps: int = FINETUNE["steps"], batch_size: int = FINETUNE["batch_size"],
              lr: float = FINETUNE["lr"], show_progress: bool = False) -> tuple[AdaptNet, str]:
    """A copy of ``source_model`` trained on ``labelled`` alone (every layer, SGD as in ``adapt``, the last
    step's weights); returns it and the domain whose statistics to score it with."""
    model = copy.deepcopy(source_model)
    n = len(labelled[1])
    batch = min(batch_size, n)
    epochs = max(1, math.ceil(steps / math.ceil(n / batch)))
    history = adapt(model, labelled, None, None, method="source-only", epochs=epochs, batch_size=batch, lr=lr,
                    select="last", seed=seed, show_progress=show_progress, desc="fine-tune")
    return model, history.target_domain


def joint(shift: Shift, labelled: tuple[torch.Tensor, torch.Tensor], align: bool, seed: int = 0,
          target_weight: float = TARGET_WEIGHT, show_progress: bool = False) -> tuple[AdaptNet, str]:
    """Seed 004's joint objective, trained from scratch as the lesson's DANN (``align=True``) or source-only
    run, with the labelled target images' cross-entropy added; returns the model and its scoring domain."""
    method = "dann" if align else "source-only"
    settings = {**DEFAULTS, **RECIPES[method]}
    seed_everything(seed)
    model = AdaptNet(len(shift.source.classes))
    history = adapt(model, shift.source, shift.target.x, shift.source_val, method=method, seed=seed,
                    target_labelled=labelled, target_weight=target_weight, show_progress=show_progress,
                    desc=f"{method}+labels", **settings)
    return model, history.target_domain


def run(budgets: Sequence[int] = LIVE_BUDGETS, seed: int = 0, methods: Sequence[str] = METHODS[:3], *,
        joint_budgets: Sequence[int] | None = LIVE_JOINT_BUDGETS, shift: Shift | None = None,
        source_model: AdaptNet | None = None, dann_acc: float | None = None,
        show_progress: bool = False) -> list[dict]:
    """Target test accuracy of each of ``methods`` at each budget (labelled target images per class).

    The joint objectives ("dann+labels", "source+labels") train a whole network per budget: they run only
    at ``joint_budgets`` (None: at every budget). ``shift``, ``source_model`` (a source-only run's model)
    and ``dann_acc`` (a DANN run's target accuracy) reuse what a lesson has already trained; missing ones
    are trained here with the lesson's settings. Returns rows ``{"seed", "budget", "method", "target_acc"}``.
    The defaults are the lesson's live run (seconds when the lesson passes its own models).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown methods {unknown}; choose among {METHODS}")
    budgets = _budgets(budgets)
    joint_budgets = set(budgets if joint_budgets is None else _budgets(joint_budgets))
    shift = shift if shift is not None else load_shift(**MAIN_SHIFT, seed=seed)
    needs_source = "fine-tune" in methods or ("source+labels" in methods and 0 in budgets)
    if source_model is None and needs_source:
        source_model = run_method("source-only", shift, seed=seed, monitor=False, show_progress=show_progress).model
    needs_dann = "dann" in methods or ("dann+labels" in methods and 0 in budgets)
    if dann_acc is None and needs_dann:
        dann_acc = run_method("dann", shift, seed=seed, monitor=False, show_progress=show_progress).target_acc
    source_acc = accuracy(source_model, shift.target_test) if needs_source else math.nan

    rows = []
    for budget in budgets:
        labelled = labelled_subset(shift.target, budget, seed) if budget else None
        for method in methods:
            if method in ("dann+labels", "source+labels") and budget not in joint_budgets:
                continue
            if method == "dann":
                acc = dann_acc
            elif budget == 0:  # no labels: fine-tuning on nothing, the joint objectives without L_t
                acc = dann_acc if method == "dann+labels" else source_acc
            elif method == "fine-tune":
                acc = _score(fine_tune(source_model, labelled, seed, show_progress=show_progress), shift)
            else:
                acc = _score(joint(shift, labelled, method == "dann+labels", seed, show_progress=show_progress),
                             shift)
            rows.append({"seed": seed, "budget": budget, "method": method, "target_acc": float(acc)})
    return rows


def _score(trained: tuple[AdaptNet, str], shift: Shift) -> float:
    model, domain = trained
    return accuracy(model, shift.target_test, domain)


def _budgets(budgets: Iterable[int]) -> list[int]:
    budgets = list(budgets)
    if not budgets or any(isinstance(b, bool) or not isinstance(b, int) or b < 0 for b in budgets):
        raise ValueError(f"budgets are integers >= 0 (labelled target images per class), got {budgets}")
    return budgets


# ------------------------------------------------------------------------------------ reading the rows
def summary(rows: Iterable[dict]) -> list[dict]:
    """Per (method, budget): n, mean, std, min, max and 95% half-width of the target accuracy."""
    return stored.summarize(sorted(rows, key=lambda r: (METHODS.index(r["method"]), r["budget"])),
                            ["method", "budget"], "target_acc")


def differences(rows: Iterable[dict], a: str, b: str) -> list[dict]:
    """Per budget where both were run: ``a``'s accuracy minus ``b``'s on the same seed; its mean, how many
    seeds ``a`` wins and how many seeds there are. ``b`` may be "dann" (one value per seed, every budget)."""
    rows = list(rows)
    acc = {(r["method"], r["budget"], r["seed"]): r["target_acc"] for r in rows}
    out = []
    for budget in sorted({r["budget"] for r in rows if r["method"] == a}):
        diffs = [acc[(a, budget, s)] - acc[(b, budget, s)] for (m, bb, s) in acc
                 if m == a and bb == budget and (b, budget, s) in acc]
        if diffs:
            out.append({"budget": budget, "mean": sum(diffs) / len(diffs), "wins": sum(d > 0 for d in diffs),
                        "n": len(diffs), "min": min(diffs), "max": max(diffs)})
    return out


def first_budget(rows: Iterable[dict], a: str, b: str, every_seed: bool = False) -> int | None:
    """The smallest budget from which on ``a`` beats ``b`` on average (``every_seed``: on every seed) at that
    budget and at every larger one measured; None if there is none."""
    diffs = differences(rows, a, b)
    wins = [d["wins"] == d["n"] if every_seed else d["mean"] > 0 for d in diffs]
    first = None
    for d, won in zip(reversed(diffs), reversed(wins)):
        if not won:
            break
        first = d["budget"]
    return first


def verdicts(rows: Iterable[dict], small: int = 5) -> list[str]:
    """Sentences about the rows, each computed from them: from which budget each way of using the labels beats
    DANN, and whether DANN plus labels beats the labels without DANN at small budgets (<= ``small`` per class)."""
    rows = list(rows)
    methods = {r["method"] for r in rows}
    seeds = len({r["seed"] for r in rows})
    top = max(r["budget"] for r in rows)
    out = []
    for method in ("fine-tune", "source+labels", "dann+labels"):
        if not {method, "dann"} <= methods:
            continue
        b, be = first_budget(rows, method, "dann"), first_budget(rows, method, "dann", every_seed=True)
        label = tr(LABELS[method])
        if b is None:
            sentence = tr("{label} does not beat DANN on average from any budget on (up to {top} per class).",
                          label=label, top=top)
        else:
            sentence = tr("{label} beats DANN on average from {b} labelled image per class on, " if b == 1 else
                          "{label} beats DANN on average from {b} labelled images per class on, ", label=label, b=b) + (
                tr("and on every one of the {seeds} seeds from {be} on.", seeds=seeds, be=be) if be is not None else
                tr("but not on every one of the {seeds} seeds from any budget on.", seeds=seeds))
        out.append(sentence[0].upper() + sentence[1:])
    for a, b in (("dann+labels", "fine-tune"), ("dann+labels", "source+labels"), ("dann+labels", "dann")):
        if not {a, b} <= methods:
            continue
        diffs = [d for d in differences(rows, a, b) if 0 < d["budget"] <= small]
        if not diffs:
            continue
        wins, n = sum(d["wins"] for d in diffs), sum(d["n"] for d in diffs)
        always = all(d["mean"] > 0 for d in diffs)
        never = all(d["mean"] <= 0 for d in diffs)
        verdict = tr("beats") if always else tr("does not beat") if never else tr("beats only at some budgets")
        per = ", ".join(f"{d['budget']}: {d['mean']:+.1%}" for d in diffs)
        out.append(tr("DANN + labels {verdict} {label} on average at the small budgets (per class: {per}); it "
                      "wins {wins} of {n} seed-budget pairs.", verdict=verdict, label=tr(LABELS[b]), per=per,
                      wins=wins, n=n))
    return out


def plot(rows: Iterable[dict], live: Iterable[dict] = (), ax=None, title: str = ""):
    """Mean target accuracy against the budget, one line per method with its 95% interval (error bars; DANN
    as a band), and ``live`` rows (one seed, e.g. the lesson's own run) as open markers."""
    import matplotlib.pyplot as plt

    rows, live = list(rows), list(live)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    budgets = sorted({r["budget"] for r in rows + live})
    pos = {b: i for i, b in enumerate(budgets)}
    colors = dict(zip(METHODS, ("tab:orange", "tab:blue", "tab:green", "tab:gray")))
    seeds = len({r["seed"] for r in rows})
    by_method: dict[str, list[dict]] = {}
    for s in summary(rows):
        by_method.setdefault(s["method"], []).append(s)
    for method, group in by_method.items():
        half = [0.0 if math.isnan(g["ci95"]) else g["ci95"] for g in group]
        if method == "dann":
            mean, h = group[0]["mean"], half[0]
            ax.axhspan(mean - h, mean + h, color=colors[method], alpha=0.15)
            ax.axhline(mean, color=colors[method], label=tr(LABELS[method]))
            continue
        ax.errorbar([pos[g["budget"]] for g in group], [g["mean"] for g in group], yerr=half, marker="o",
                    capsize=3, color=colors[method], label=tr(LABELS[method]))
    for method in METHODS:
        mine = [r for r in live if r["method"] == method]
        if mine:
            ax.scatter([pos[r["budget"]] for r in mine], [r["target_acc"] for r in mine], s=60,
                       facecolors="none", edgecolors=colors[method], zorder=3)
    if live:
        ax.scatter([], [], s=60, facecolors="none", edgecolors="k", label=tr("this lesson's run"))
    ax.set_xticks(range(len(budgets)), [str(b) for b in budgets])
    low, high = ax.get_ylim()
    ax.set_ylim(low, min(high, 1.005))  # a 3-seed t-interval can reach past 100%
    ax.set(xlabel=tr("labelled target images per class"), ylabel=tr("target test accuracy"),
           title=title or tr("The label budget (mean of {seeds} seeds, 95% intervals)", seeds=seeds))
    ax.legend(fontsize=8, loc="lower right")
    return ax


# ------------------------------------------------------------------------------------ the stored grid
def grid(seed: int, budgets: Sequence[int] = BUDGETS) -> list[dict]:
    """Every method at every budget for one seed, on one thread (the stored rows' setting)."""
    torch.set_num_threads(1)
    return run(budgets, seed, METHODS, joint_budgets=None)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tlcourse.label_budget", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--workers", type=int, default=1, help="seeds trained in parallel (one thread each)")
    args = parser.parse_args(argv)
    if args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial
        import multiprocessing as mp

        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
            parts = list(pool.map(partial(grid, budgets=args.budgets), args.seeds))
    else:
        parts = [grid(seed, args.budgets) for seed in args.seeds]
    rows = [r for part in parts for r in part]
    seeds = " ".join(map(str, args.seeds))
    command = COMMAND if (args.seeds, args.budgets) == ([0, 1, 2], list(BUDGETS)) else \
        f"python -m tlcourse.label_budget --seeds {seeds} --budgets {' '.join(map(str, args.budgets))}"
    path = stored.save(NAME, rows, command=command, threads=1, target_weight=TARGET_WEIGHT, finetune=FINETUNE,
                       shift=MAIN_SHIFT, settings={**DEFAULTS, "dann": RECIPES["dann"]})
    print(stored.table(summary(rows)))
    for sentence in verdicts(rows):
        print("-", sentence)
    print(f"stored {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
