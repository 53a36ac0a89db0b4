"""The capstone's unseen targets: a domain generated from an instructor-chosen variant and seed.

    >>> from tlcourse import capstone
    >>> task = capstone.make_task("rotated-handwriting", seed=0)
    >>> task.labelled, task.unlabelled.shape, task.val        # few labels, more images without
    >>> test = capstone.test_split("rotated-handwriting", 0)  # only for the final report

Each variant is built from the course's domains; the seed draws its details (an angle, a blend
strength, which classes) and how many labelled images per class the learner gets. A
:class:`Task` holds no test images, so a procedure handed a task (``recommend(task)``) cannot peek.

The four strategies of lesson 03 were trained on the grading tasks (variants at seeds the notebook never
shows), over 3 seeds; ``data/answer_keys/capstone_reference.json`` stores their validation and test
accuracies, so grading judges a recommendation without retraining. Grading kernels do not see that folder
(``grading.isolation.ANSWER_KEYS``): only the judge, in the grader's process, reads it. Regenerate it with::

    OMP_NUM_THREADS=1 python -m tlcourse.capstone --seeds 0 1 2

How ``recommend(task) -> (choice, val_acc)`` is judged (:func:`judge_recommendation`): on each of
``GRADED_PER_RUN`` grading tasks drawn per grading run (:func:`grading_tasks`), every reported validation
accuracy lies within ``VAL_SLACK`` of the range of the reference's runs of that strategy (it was measured,
not typed), the choice is the best of the reported ones, and it reaches ``NEAR_BEST`` of the best strategy's
mean test accuracy. A fixed answer cannot carry measurements that fit tasks it never looked at.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tlcourse import domains, four_cases, zoo
from tlcourse.domains import DomainData, shifted
from tlcourse.domains.glyphs import LETTERS
from tlcourse.i18n import Message
from tlcourse.runtime import DATA_DIR, progress, seed_everything
from tlcourse.train import evaluate, fit
from tlcourse.transferability import restrict

VARIANTS = {
    "rotated-handwriting": "real handwritten digits, all turned by one angle (25-65 degrees)",
    "handwriting-on-textures": "real handwritten digits blended onto photo patches (MNIST-M style)",
    "held-out-letters": "10 printed capitals, a glyph family held out of the source",
    "shapes": "10 procedurally drawn shapes: a different task that shares strokes",
}
LABELLED_PER_CLASS = (5, 10, 20)
UNLABELLED_PER_CLASS, VAL_PER_CLASS, TEST_PER_CLASS = 50, 15, 30
#: The training budget of a strategy on a task (the reference and the lesson use it alike).
STEPS, LR, BATCH = 150, 1e-3, 32
#: The answer key: read only by the judge, in the grader's process (grading kernels do not see the folder).
REFERENCE = DATA_DIR / "answer_keys" / "capstone_reference.json"
#: The (variant, seed) pairs graded on: no notebook shows them (the lesson uses seed 0).
GRADING_TASKS = tuple((v, s) for v in VARIANTS for s in (1, 2))
COMMAND = "OMP_NUM_THREADS=1 python -m tlcourse.capstone --seeds 0 1 2"
#: Grading: tasks drawn per run (all must pass); the share of the best mean test accuracy a choice needs;
#: how far a reported validation accuracy may lie outside the reference runs' range for that strategy.
GRADED_PER_RUN, NEAR_BEST, VAL_SLACK = 2, 0.95, 0.02


@dataclass(frozen=True)
class Task:
    """A target to transfer to: few labelled images, more unlabelled ones, a labelled validation split."""

    variant: str
    seed: int
    details: str
    labelled: DomainData
    unlabelled: torch.Tensor
    val: DomainData

    @property
    def classes(self) -> list[str]:
        return self.labelled.classes

    @property
    def n_labelled(self) -> int:
        """Labelled images per class."""
        return len(self.labelled) // len(self.classes)

    def __repr__(self) -> str:
        return (f"Task({self.variant!r}, seed={self.seed}: {self.details}; {len(self.classes)} classes, "
                f"{self.n_labelled} labelled + {len(self.unlabelled) // len(self.classes)} unlabelled "
                f"images per class, {len(self.val)} validation images)")


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Images (N, 1, H, W) turned by ``degrees`` about their centre; the corners stay dark."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])
    grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def _on_textures(x: torch.Tensor, split: str, strength: float, seed: int) -> torch.Tensor:
    digits = (x[:, 0] * 255 + 0.5).to(torch.uint8).numpy()
    blended = shifted.on_photos(digits, split, strength, np.random.default_rng([seed, domains.SPLITS.index(split)]))
    return torch.from_numpy(blended).float().div(255).unsqueeze(1)


def _recipe(variant: str, seed: int):
    """(domain name, classes kept, image transform(x, split), words) of a variant at ``seed``."""
    rng = np.random.default_rng([seed, 9])
    if variant == "rotated-handwriting":
        angle = float(rng.uniform(25, 65))
        return "handwritten", None, lambda x, split: rotate(x, angle), f"turned by {angle:.0f} degrees"
    if variant == "handwriting-on-textures":
        strength = float(rng.uniform(0.6, 1.0))
        return ("handwritten", None, lambda x, split: _on_textures(x, split, strength, seed),
                f"blended at strength {strength:.2f}")
    if variant == "held-out-letters":
        kept = sorted(rng.choice(LETTERS, 10, replace=False).tolist())
        return "letters", kept, lambda x, split: x, f"capitals {''.join(kept)}"
    if variant == "shapes":
        return "shapes", None, lambda x, split: x, "all 10 shapes"
    raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")


def _split(variant: str, seed: int, split: str, per_class: int, sample_seed: int) -> DomainData:
    name, kept, transform, _ = _recipe(variant, seed)
    data = domains.load(name, split, n_per_class=per_class, seed=sample_seed)
    classes = kept or data.classes
    x, y = restrict(data, classes)
    return DomainData(transform(x, split), y, list(classes), f"capstone:{variant}", split, {"seed": seed})


def make_task(variant: str, seed: int = 0) -> Task:
    """The task of ``variant`` at ``seed``: what a learner (or ``recommend``) may use."""
    _, _, _, details = _recipe(variant, seed)
    n = int(np.random.default_rng([seed, 7]).choice(LABELLED_PER_CLASS))
    pool = _split(variant, seed, "train", n + UNLABELLED_PER_CLASS, sample_seed=seed)
    labelled = torch.cat([torch.nonzero(pool.y == c)[:n, 0] for c in range(len(pool.classes))]).sort().values
    rest = torch.ones(len(pool), dtype=torch.bool)
    rest[labelled] = False
    train = DomainData(pool.x[labelled], pool.y[labelled], pool.classes, pool.name, "train", pool.options)
    val = _split(variant, seed, "val", VAL_PER_CLASS, sample_seed=seed)
    return Task(variant, seed, details, train, pool.x[rest], val)


def test_split(variant: str, seed: int = 0) -> DomainData:
    """The test images of a task: score final models on them, never choose anything with them."""
    return _split(variant, seed, "test", TEST_PER_CLASS, sample_seed=0)


def train_strategy(task: Task, strategy: str, seed: int = 0, steps: int = STEPS, lr: float = LR,
                   pretrained: nn.Sequential | None = None) -> nn.Sequential:
    """One of lesson 03's strategies trained on the task's labelled images for about ``steps`` steps."""
    pretrained = pretrained if pretrained is not None else zoo.load_pretrained()
    seed_everything(seed)
    net = four_cases.build(strategy, pretrained, len(task.classes))
    batch = min(BATCH, len(task.labelled))
    fit(net, task.labelled, epochs=max(1, math.ceil(steps * batch / len(task.labelled))), lr=lr,
        batch_size=batch, seed=seed, show_progress=False)
    return net


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval for the mean of a few runs (e.g. one per seed)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        raise ValueError(f"an interval needs at least 2 values, got {len(v)}")
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def reference(tasks=GRADING_TASKS, seeds=(0, 1, 2), show_progress: bool = True) -> list[dict]:
    """Validation and test accuracy of every strategy on every task, over ``seeds``: one row per run."""
    pretrained = zoo.load_pretrained()
    rows = []
    for variant, task_seed in progress(tasks, desc="tasks", enabled=show_progress):
        task, test = make_task(variant, task_seed), test_split(variant, task_seed)
        for strategy in four_cases.STRATEGIES:
            for seed in seeds:
                net = train_strategy(task, strategy, seed, pretrained=pretrained)
                rows.append({"variant": variant, "task_seed": task_seed, "strategy": strategy, "seed": seed,
                             "val_acc": round(evaluate(net, task.val)["acc"], 4),
                             "test_acc": round(evaluate(net, test)["acc"], 4)})
    return rows


def load_reference(path: Path = REFERENCE) -> list[dict]:
    """The stored reference rows (see :func:`reference`)."""
    try:
        return json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError) as err:
        raise FileNotFoundError(f"cannot read {path} ({err}); regenerate it with `{COMMAND}`") from None


def strategy_means(variant: str, seed: int, rows: list[dict] | None = None) -> dict[str, float]:
    """Strategy -> mean reference test accuracy on the task (variant, seed)."""
    rows = load_reference() if rows is None else rows
    accs: dict[str, list[float]] = {}
    for r in rows:
        if (r["variant"], r["task_seed"]) == (variant, seed):
            accs.setdefault(r["strategy"], []).append(r["test_acc"])
    if not accs:
        raise KeyError(f"no reference for ({variant!r}, {seed}); stored tasks: {sorted(GRADING_TASKS)}")
    return {s: float(np.mean(a)) for s, a in accs.items()}


def score_choice(variant: str, seed: int, choice: str, rows: list[dict] | None = None) -> float:
    """How close ``choice`` comes to the best strategy on (variant, seed): its mean reference accuracy
    divided by the best one's (1.0 = the best; an unknown strategy scores 0)."""
    means = strategy_means(variant, seed, rows)
    return means.get(choice, 0.0) / max(means.values())


def grading_tasks(seed: int) -> list[tuple[str, int]]:
    """The ``GRADED_PER_RUN`` different (variant, seed) pairs a grading run with ``seed`` checks ``recommend`` on."""
    picked = np.random.default_rng(seed).choice(len(GRADING_TASKS), GRADED_PER_RUN, replace=False)
    return [GRADING_TASKS[i] for i in sorted(picked)]


def val_ranges(variant: str, seed: int, rows: list[dict] | None = None) -> dict[str, tuple[float, float]]:
    """Strategy -> (lowest, highest) validation accuracy of the reference's runs on the task (variant, seed)."""
    rows = load_reference() if rows is None else rows
    accs: dict[str, list[float]] = {}
    for r in rows:
        if (r["variant"], r["task_seed"]) == (variant, seed):
            accs.setdefault(r["strategy"], []).append(r["val_acc"])
    if not accs:
        raise KeyError(f"no reference for ({variant!r}, {seed}); stored tasks: {sorted(GRADING_TASKS)}")
    return {s: (min(a), max(a)) for s, a in accs.items()}


def judge_recommendation(variant: str, seed: int, choice, val_acc,
                         rows: list[dict] | None = None) -> Message | None:
    """Why ``recommend``'s answer ``(choice, val_acc)`` on the grading task (variant, seed) fails, or None.

    ``val_acc`` is the list of validation accuracies in the order of ``four_cases.STRATEGIES``. The reason
    names no reference number."""
    strategies = four_cases.STRATEGIES
    try:
        measured = [float(v) for v in val_acc]
    except (TypeError, ValueError):
        measured = []
    if len(measured) != len(strategies) or not all(0.0 <= v <= 1.0 for v in measured):
        return Message("recommend must return (choice, val_acc) with val_acc a dict of the validation accuracy "
                       "you measured for each of the {n} strategies", n=len(strategies))
    ranges = val_ranges(variant, seed, rows)
    off = [s for s, v in zip(strategies, measured) if not ranges[s][0] - VAL_SLACK <= v <= ranges[s][1] + VAL_SLACK]
    if off:
        return Message("the validation accuracies you report for {strategies} are not what training them on this "
                       "task gives: measure each strategy (capstone.train_strategy, then task.val)",
                       strategies=", ".join(map(repr, off)))
    if choice not in strategies or measured[strategies.index(choice)] < max(measured):
        return Message("your choice {choice!r} is not the strategy with the best validation accuracy you measured",
                       choice=choice)
    if score_choice(variant, seed, choice, rows) < NEAR_BEST:
        return Message("your choice {choice!r} falls short of {near:.0%} of the best strategy's test accuracy on "
                       "this task", choice=choice, near=NEAR_BEST)
    return None


@functools.lru_cache(maxsize=1)
def _pretrained() -> nn.Sequential:
    return zoo.load_pretrained()  # four_cases.build copies it: never changed


_MEASURED: dict[tuple, float] = {}


def validation_accuracy(task: Task, strategy: str, seed: int = 0, lr: float = LR, steps: int = STEPS) -> float:
    """Validation accuracy of ``strategy`` trained on ``task`` (:func:`train_strategy`). Remembered in this
    process: asking again for the same task, strategy and settings costs nothing."""
    key = (task.variant, task.seed, float(task.labelled.x.sum()), float(task.val.x.sum()), strategy, seed, lr, steps)
    if key not in _MEASURED:
        net = train_strategy(task, strategy, seed, steps=steps, lr=lr, pretrained=_pretrained())
        _MEASURED[key] = evaluate(net, task.val)["acc"]
    return _MEASURED[key]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train every strategy on the capstone's grading tasks "
                                     f"and write the answer key {REFERENCE}.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = reference(seeds=tuple(args.seeds))
    report = {"name": "capstone_reference", "command": COMMAND, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "torch": torch.__version__,
              "meta": {"steps": STEPS, "lr": LR, "batch_size": BATCH, "tasks": [list(t) for t in GRADING_TASKS],
                       "seconds": round(time.perf_counter() - start)},
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    for variant, seed in GRADING_TASKS:
        means = strategy_means(variant, seed, rows)
        print(f"{variant:<24} seed {seed}: " + "  ".join(f"{s[0]} {a:.3f}" for s, a in means.items()))
    print(f"wrote {args.out} in {report['meta']['seconds']} s")


if __name__ == "__main__":
    main()
