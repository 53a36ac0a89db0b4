"""How transferable is each layer? Yosinski et al.'s experiment (NeurIPS 2014) on the course network.

Split the 60 source classes into two halves A and B and train a base network on each (baseA, baseB).
Then, for a depth ``n`` (1..5: conv1 .. fc2), build a fresh network for task B whose first ``n`` layers
are copied from a base network and whose layers above are new and randomly initialised:

- ``BnB``  the first n layers of baseB, frozen: the top relearns on the very task the bottom came from;
- ``BnB+`` the same, but everything is fine-tuned;
- ``AnB``  the first n layers of baseA (trained on the *other* half), frozen;
- ``AnB+`` the same, fine-tuned.

All of them train on B's training images and are scored on B's test images. A drop of ``BnB`` below
baseB means the layers were *co-adapted* (the top cannot be relearnt alone); a drop of ``AnB`` below
``BnB`` means the copied features are *specific* to A. ``AnB+`` against baseB says whether transferred
features still help once everything is fine-tuned.

The full grid (both splits, n = 1..5, three seeds) is stored in ``data/transferability.json``;
regenerate it with::

    OMP_NUM_THREADS=1 python -m tlcourse.transferability --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from tlcourse import domains, surgery
from tlcourse.domains.glyphs import DIGITS, SOURCE_CLASSES
from tlcourse.i18n import tr
from tlcourse.models import CourseNet, LAYERS
from tlcourse.runtime import DATA_DIR, progress, seed_everything
from tlcourse.train import evaluate, fit

VARIANTS = ("BnB", "BnB+", "AnB", "AnB+")
#: How to halve the source classes: at random (per seed), or Latin script + digits vs Greek + symbols.
SPLITS = ("random", "dissimilar")
DEPTHS = (1, 2, 3, 4, 5)
RESULTS = DATA_DIR / "transferability.json"
#: The training recipe of the stored grid (base networks and every variant alike).
GRID = {"per_class": 200, "epochs": 5, "lr": 3e-3, "batch_size": 128, "test_per_class": 100}
COMMAND = "OMP_NUM_THREADS=1 python -m tlcourse.transferability --seeds 0 1 2"


def split_classes(split: str, seed: int = 0) -> tuple[list[str], list[str]]:
    """The class names of halves A and B of the source (``glyphs``) classes."""
    if split == "random":
        order = np.random.default_rng(seed).permutation(len(SOURCE_CLASSES))
        half = len(SOURCE_CLASSES) // 2
        return [SOURCE_CLASSES[i] for i in sorted(order[:half])], [SOURCE_CLASSES[i] for i in sorted(order[half:])]
    if split == "dissimilar":
        a = [c for c in SOURCE_CLASSES if c in DIGITS or "a" <= c <= "z"]
        return a, [c for c in SOURCE_CLASSES if c not in a]
    raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")


def restrict(data: domains.DomainData, classes: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of ``data`` whose class is in ``classes``, relabelled 0..len(classes)-1."""
    missing = [c for c in classes if c not in data.classes]
    if missing:
        raise ValueError(f"classes {missing} are not in {data.name!r}")
    new_label = torch.full((len(data.classes),), -1, dtype=torch.long)
    new_label[[data.classes.index(c) for c in classes]] = torch.arange(len(classes))
    keep = new_label[data.y] >= 0
    return data.x[keep], new_label[data.y[keep]]


def transfer(base: CourseNet, n: int, num_classes: int, fine_tune: bool, seed: int = 0) -> CourseNet:
    """A fresh network for ``num_classes`` classes whose first ``n`` layers are copies of ``base``'s,
    frozen unless ``fine_tune``; the layers above keep their random initialisation."""
    if not 0 <= n < len(LAYERS):
        raise ValueError(f"n must be in 0..{len(LAYERS) - 1} (the last layer is always new), got {n}")
    torch.manual_seed(seed)
    net = CourseNet(num_classes, **{k: v for k, v in base.config.items() if k != "num_classes"})
    for name in LAYERS[:n]:
        getattr(net, name).load_state_dict(copy.deepcopy(getattr(base, name).state_dict()))
    if n and not fine_tune:
        surgery.freeze(net, list(LAYERS[:n]))
    return net


def run(split: str = "random", seed: int = 0, depths: Iterable[int] = DEPTHS,
        variants: Iterable[str] = VARIANTS, per_class: int = GRID["per_class"], epochs: int = GRID["epochs"],
        lr: float = GRID["lr"], batch_size: int = GRID["batch_size"],
        test_per_class: int = GRID["test_per_class"], show_progress: bool = True) -> list[dict]:
    """One seed of the experiment: a row per network (``baseB`` is the row with ``n = 0``).

    Each row: ``split``, ``seed``, ``variant``, ``n``, ``test_acc`` (on B's test images), ``seconds``.
    Only the base networks the chosen variants need are trained (baseB always, as the reference).
    """
    variants, depths = list(variants), list(depths)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {VARIANTS}")
    classes_a, classes_b = split_classes(split, seed)
    images = domains.load("glyphs", "train", n_per_class=per_class, seed=seed)
    data = {"A": restrict(images, classes_a), "B": restrict(images, classes_b)}
    test_b = restrict(domains.load("glyphs", "test", n_per_class=test_per_class), classes_b)

    def train(net: CourseNet, half: str) -> float:
        """Train ``net`` on one half's images; return the seconds it took."""
        start = time.perf_counter()
        fit(net, data[half], epochs=epochs, lr=lr, batch_size=batch_size, schedule="onecycle", seed=seed,
            show_progress=False)
        return round(time.perf_counter() - start, 2)

    def row(net: CourseNet, variant: str, n: int, seconds: float) -> dict:
        return {"split": split, "seed": seed, "variant": variant, "n": n,
                "test_acc": round(evaluate(net, test_b)["acc"], 4), "seconds": seconds}

    seed_everything(seed)
    bases = {"B": CourseNet(len(classes_b))}
    if any(v.startswith("A") for v in variants):
        bases["A"] = CourseNet(len(classes_a))
    seconds = {half: train(net, half) for half, net in bases.items()}
    rows = [row(bases["B"], "baseB", 0, seconds["B"])]
    jobs = [(v, n) for n in depths for v in variants]
    for variant, n in progress(jobs, desc=tr("{split} split, seed {seed}", split=split, seed=seed),
                                 enabled=show_progress):
        net = transfer(bases[variant[0]], n, len(classes_b), fine_tune=variant.endswith("+"), seed=seed + 1)
        rows.append(row(net, variant, n, train(net, "B")))
    return rows


def mean_accuracy(rows: list[dict]) -> dict[tuple[str, str, int], float]:
    """(split, variant, n) -> mean test accuracy over the seeds present."""
    groups: dict[tuple[str, str, int], list[float]] = {}
    for r in rows:
        groups.setdefault((r["split"], r["variant"], r["n"]), []).append(r["test_acc"])
    return {k: float(np.mean(v)) for k, v in groups.items()}


def relative_to_base(rows: list[dict]) -> dict[tuple[str, str, int], float]:
    """(split, variant, n) -> mean over seeds of (accuracy - the same seed's baseB accuracy)."""
    base = {(r["split"], r["seed"]): r["test_acc"] for r in rows if r["variant"] == "baseB"}
    diffs = [dict(r, test_acc=r["test_acc"] - base[(r["split"], r["seed"])]) for r in rows
             if r["variant"] != "baseB"]
    return mean_accuracy(diffs)


def findings(rows: list[dict], tol: float = 0.01) -> list[dict]:
    """Yosinski et al.'s findings tested on ``rows`` (means over seeds, accuracy differences ``> tol``).

    Each: ``{"claim", "split", "holds", "evidence"}``, the evidence a sentence with the measured numbers.
    """
    acc = mean_accuracy(rows)
    out = []
    splits = [s for s in SPLITS if (s, "baseB", 0) in acc]
    for s in splits:
        base = acc[(s, "baseB", 0)]
        middle = [n for n in (2, 3, 4) if (s, "BnB", n) in acc]
        if middle:
            n_min = min(middle, key=lambda n: acc[(s, "BnB", n)])
            dip = acc[(s, "BnB", n_min)] - base
            out.append({"claim": tr("co-adaptation: frozen BnB dips below baseB in the middle (n = 2..4)"), "split": s,
                        "holds": dip < -tol,
                        "evidence": tr("lowest there is n={n}: BnB {acc:.3f} vs baseB {base:.3f}", n=n_min,
                                       acc=acc[(s, "BnB", n_min)], base=base)})
        if (s, "AnB", 5) in acc and (s, "BnB", 5) in acc:
            gap = acc[(s, "AnB", 5)] - acc[(s, "BnB", 5)]
            out.append({"claim": tr("specificity: at n=5 frozen features from A do worse than from B"), "split": s,
                        "holds": gap < -tol,
                        "evidence": tr("AnB {a:.3f} vs BnB {b:.3f} ({gap:+.3f})", a=acc[(s, "AnB", 5)],
                                       b=acc[(s, "BnB", 5)], gap=gap)})
        if (s, "AnB", 1) in acc and (s, "AnB", 5) in acc:
            fall = acc[(s, "AnB", 5)] - acc[(s, "AnB", 1)]
            out.append({"claim": tr("AnB falls as more frozen layers come from A"), "split": s, "holds": fall < -tol,
                        "evidence": f"AnB n=1 {acc[(s, 'AnB', 1)]:.3f} -> n=5 {acc[(s, 'AnB', 5)]:.3f}"})
        plus = [n for n in DEPTHS if (s, "AnB+", n) in acc]
        if plus:
            worst = min(plus, key=lambda n: acc[(s, "AnB+", n)])
            out.append({"claim": tr("fine-tuned transfer AnB+ is at least as good as baseB at every depth"), "split": s,
                        "holds": acc[(s, "AnB+", worst)] >= base - tol,
                        "evidence": tr("lowest AnB+ is at n={n}: {acc:.3f} vs baseB {base:.3f}", n=worst,
                                       acc=acc[(s, "AnB+", worst)], base=base)})
        both = [n for n in DEPTHS if (s, "AnB+", n) in acc and (s, "BnB+", n) in acc]
        if both:
            boost = float(np.mean([acc[(s, "AnB+", n)] - acc[(s, "BnB+", n)] for n in both]))
            out.append({"claim": tr("transfer boost: AnB+ beats BnB+ (the same training, features from the other "
                                    "half)"),
                        "split": s, "holds": boost > 0,
                        "evidence": tr("AnB+ - BnB+ averages {boost:+.3f} over n = {first}..{last}", boost=boost,
                                       first=both[0], last=both[-1])})
    if all((s, v, 5) in acc for s in SPLITS for v in ("AnB", "BnB")):
        gaps = {s: acc[(s, "AnB", 5)] - acc[(s, "BnB", 5)] for s in SPLITS}
        out.append({"claim": tr("dissimilar halves transfer worse than random halves (AnB - BnB at n=5)"),
                    "split": "both", "holds": gaps["dissimilar"] < gaps["random"] - tol,
                    "evidence": tr("dissimilar {dissimilar:+.3f} vs random {random:+.3f}",
                                   dissimilar=gaps["dissimilar"], random=gaps["random"])})
    return out


def table(rows: list[dict]) -> str:
    """Mean test accuracy per variant (rows) and depth n (columns), one block per split."""
    means = mean_accuracy(rows)
    lines = []
    for split in sorted({r["split"] for r in rows}, key=SPLITS.index):
        seeds = sorted({r["seed"] for r in rows if r["split"] == split})
        depths = sorted({r["n"] for r in rows if r["split"] == split and r["n"] > 0})
        lines.append(tr("{split} split, {n} seed(s); baseB = {base:.3f}", split=split, n=len(seeds),
                        base=means[(split, "baseB", 0)]))
        lines.append(f"{'':>6} " + " ".join(f"{'n=' + str(n):>6}" for n in depths))
        for v in VARIANTS:
            cells = [means.get((split, v, n)) for n in depths]
            if any(c is not None for c in cells):
                lines.append(f"{v:>6} " + " ".join(f"{c:6.3f}" if c is not None else f"{'-':>6}" for c in cells))
        lines.append("")
    return "\n".join(lines).rstrip()


#: Yosinski et al.'s colours: dark/light blue for BnB/BnB+, dark/light red for AnB/AnB+.
COLORS = {"BnB": "#1f3fbf", "BnB+": "#7fa8ff", "AnB": "#b01010", "AnB+": "#ff8080"}


def plot(rows: list[dict], split: str = "random", ax=None, title: str | None = None):
    """Yosinski et al.'s Figure 2 for one split: every network as a dot (baseB at n = 0 as white
    circles), and a line through each variant's mean over seeds."""
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["split"] == split]
    if not rows:
        raise ValueError(f"no rows for the {split!r} split")
    ax = ax or plt.subplots(figsize=(7, 4.2))[1]
    means = mean_accuracy(rows)
    offsets = dict(zip(VARIANTS, (-0.15, -0.05, 0.05, 0.15)))
    base = [r["test_acc"] for r in rows if r["variant"] == "baseB"]
    ax.scatter([0] * len(base), base, s=45, facecolor="white", edgecolor="black", zorder=3, label="baseB")
    ax.axhline(float(np.mean(base)), color="grey", ls=":", lw=1)
    for v in VARIANTS:
        mine = [r for r in rows if r["variant"] == v]
        if not mine:
            continue
        ax.scatter([r["n"] + offsets[v] for r in mine], [r["test_acc"] for r in mine], s=14,
                   color=COLORS[v], alpha=0.6)
        depths = sorted({r["n"] for r in mine})
        ax.plot(depths, [means[(split, v, n)] for n in depths], color=COLORS[v], marker="o", lw=2, label=v)
    seeds = len({r["seed"] for r in rows})
    ax.set(xlabel=tr("layer n at which the network is chopped and retrained"),
           ylabel=tr("test accuracy on B"), xticks=range(0, len(LAYERS)),
           xticklabels=["0\n" + tr("(base)")] + [f"{n}\n{LAYERS[n - 1]}" for n in range(1, len(LAYERS))],
           title=title or tr("Transferability of each layer ({split} split, {seeds} seeds)" if seeds > 1 else
                             "Transferability of each layer ({split} split, {seeds} seed)", split=split, seeds=seeds))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return ax


def load_results(path: Path = RESULTS) -> dict:
    """The stored grid: ``{"settings", "command", "rows", ...}``; a clear message if it is missing."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f"cannot read the stored results {path} ({err}); regenerate them with "
                                f"`{COMMAND}`") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Yosinski et al.'s transferability grid and store it.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    start, rows = time.perf_counter(), []
    for split in args.splits:
        for seed in args.seeds:  # the file is rewritten after each seed: a long run can be watched
            rows += run(split, seed, show_progress=False)
            report = {"command": COMMAND, "settings": GRID, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "seconds": round(time.perf_counter() - start),
                      "rows": rows}
            args.out.write_text(json.dumps(report, indent=1) + "\n")
            print(f"{split} split, seed {seed} done after {report['seconds']} s", flush=True)
    print(table(rows))
    print(f"wrote {args.out} in {report['seconds']} s")


if __name__ == "__main__":
    main()
