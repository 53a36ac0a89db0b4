"""Fine-tuning recipes built from ``surgery`` and ``train.fit``: a transfer plan per layer, and
gradual unfreezing.

A **plan** says what happens to each layer of the pretrained network::

    {"conv1": "frozen", "conv2": "frozen", "conv3": "trainable",
     "fc1": "removed", "fc2": "removed", "fc3": "removed"}

"removed" cuts the network below that layer and puts a new fully connected head on what is left
(``surgery.truncate`` + ``surgery.attach_head``); if nothing is removed, the last layer is replaced
by a new one sized for the target classes (``surgery.replace_head``), frozen or trainable as planned.

**Gradual unfreezing** (Howard & Ruder 2018, ULMFiT) trains the new head first, then unfreezes one
layer group more per stage, from the top down, each stage a call to :func:`tlcourse.train.fit`: the
random head settles before its gradients reach the pretrained layers.

:func:`fine_tune` puts it together (plan + learning rates per layer + schedule), and
``RECIPES`` names the ones lesson 04 compares (under Adam), ``SGD_RECIPES`` the same question under
plain SGD. ``python -m tlcourse.finetune --seeds 0 1 2`` runs both over seeds and stores the rows
(``tlcourse.stored``, ``data/results/lesson04-recipes.json``) that the lesson prints beside its live seed.
"""
from __future__ import annotations

import argparse
import time
from typing import Callable

import torch
from torch import nn

from tlcourse import surgery
from tlcourse.models import layer_names
from tlcourse.train import BestWeights, Data, History, fit

CHOICES = ("frozen", "trainable", "removed")


def check_plan(plan: dict[str, str], layers: list[str]) -> None:
    """Raise ``ValueError`` (with a sentence a learner can act on) if ``plan`` cannot be built."""
    unknown = [n for n in plan if n not in layers]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; this model has {layers}")
    missing = [n for n in layers if n not in plan]
    if missing:
        raise ValueError(f"say what happens to {missing}: one of {CHOICES}")
    bad = {n: c for n, c in plan.items() if c not in CHOICES}
    if bad:
        raise ValueError(f"unknown choice(s) {bad}; use one of {CHOICES}")
    removed = [n for n in layers if plan[n] == "removed"]
    if removed and removed[0] == layers[0]:
        raise ValueError(f"{layers[0]} is removed, so nothing is left for the new head to sit on: "
                         f"keep at least {layers[0]}")
    if removed:
        first = layers.index(removed[0])
        kept_above = [n for n in layers[first:] if plan[n] != "removed"]
        if kept_above:
            raise ValueError(f"{removed[0]} is removed but {', '.join(kept_above)} above it is kept: "
                             f"{kept_above[0]} needs {removed[0]}'s output. Removing cuts the network, "
                             f"so remove everything from {removed[0]} up (or keep {removed[0]})")
    if not removed and all(c == "frozen" for c in plan.values()):
        raise ValueError("nothing is trainable: every layer, even the new head, is frozen. Make at "
                         f"least {layers[-1]} (the new head) trainable")


def build_model(pretrained: nn.Sequential, plan: dict[str, str], num_classes: int, *,
                hidden: int | None = 128, seed: int = 0) -> nn.Sequential:
    """A new network for the target task from ``pretrained`` and a per-layer ``plan``.

    ``pretrained`` is not changed. The new head is initialised from ``seed``.
    """
    layers = layer_names(pretrained)
    check_plan(plan, layers)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    kept = [n for n in layers if plan[n] != "removed"]
    torch.manual_seed(seed)
    if len(kept) == len(layers):
        net = surgery.replace_head(pretrained, num_classes)
    else:
        net = surgery.attach_head(surgery.truncate(pretrained, after=kept[-1]), num_classes, hidden)
    surgery.unfreeze(net)
    surgery.freeze(net, [n for n in kept if plan[n] == "frozen"])
    return net


def plan_summary(plan: dict[str, str]) -> str:
    """One letter per layer (F frozen, T trainable, - removed), e.g. ``"FFFFFT"``."""
    return "".join({"frozen": "F", "trainable": "T", "removed": "-"}[c] for c in plan.values())


def layer_lrs(model: nn.Module, preset: str | dict[str, float], top_lr: float = 1e-3,
              ratio: float = 100.0) -> dict[str, float]:
    """A learning rate per layer of ``model`` from a preset or a dict of group/layer rates.

    Presets: ``"2:4:6"`` (``surgery.PRESET_246``), ``"uniform"`` (``top_lr`` everywhere) and
    ``"discriminative"`` (``surgery.discriminative_lrs``: geometric from ``top_lr / ratio`` at the
    bottom to ``top_lr`` at the head). A dict may name groups (bottom/middle/top) or layers.
    """
    names = layer_names(model)
    if isinstance(preset, dict):
        per_layer = surgery.layer_rates(model, preset)
    elif preset == "2:4:6":
        return layer_lrs(model, surgery.PRESET_246)
    elif preset == "uniform":
        per_layer = {n: top_lr for n in names}
    elif preset == "discriminative":
        per_layer = surgery.discriminative_lrs(model, top_lr=top_lr, ratio=ratio)
    else:
        raise ValueError(f"unknown preset {preset!r}; use '2:4:6', 'uniform', 'discriminative' or a dict")
    return {n: per_layer[n] for n in names}


def trainable_groups(model: nn.Module) -> list[list[str]]:
    """The non-empty layer groups (bottom, middle, top) restricted to the layers that train."""
    trainable = set(surgery.trainable_layers(model))
    groups = [[n for n in g if n in trainable] for g in surgery.layer_groups(model).values()]
    return [g for g in groups if g]


def gradual_unfreeze(model: nn.Module, train: Data, val: Data | None = None, *,
                     groups: list[list[str]] | str | None = None, epochs_per_stage: int = 2,
                     lr: float | dict[str, float] = 1e-3,
                     on_epoch: Callable[[dict[str, float]], None] | None = None, **fit_kwargs) -> History:
    """Train the top group first, then unfreeze one more group per stage, from the top down.

    - ``groups``: bottom-to-top lists of layer names; ``None`` = ``surgery.layer_groups`` (bottom /
      middle / top: three stages), ``"layers"`` = one layer per stage. Layers in no group keep
      their current state (frozen ones stay frozen).
    - ``lr``: one rate, or rates per group/layer (``{"bottom": 1e-5, ...}``, see :func:`layer_lrs`).
    - Other keyword arguments go to every ``fit`` (``seed``, ``batch_size``, ``feature_cache``...).

    Returns one :class:`History` over all stages (rows carry ``stage``; ``epoch`` counts on). With
    ``val``, the best weights over all stages are restored at the end.
    """
    if groups is None:
        groups = [g for g in surgery.layer_groups(model).values() if g]
    elif groups == "layers":
        groups = [[n] for n in layer_names(model)]
    elif isinstance(groups, str):
        raise ValueError(f"groups must be None, 'layers' or a list of lists of layer names, got {groups!r}")
    if not groups:
        raise ValueError("no layer groups to unfreeze")
    if epochs_per_stage < 1:
        raise ValueError(f"epochs_per_stage must be at least 1, got {epochs_per_stage}")
    surgery.freeze(model, [n for g in groups for n in g])
    lrs = layer_lrs(model, lr) if isinstance(lr, dict) else None
    history, keep = History(), BestWeights(model)
    for stage, group in enumerate(reversed(groups), start=1):
        surgery.unfreeze(model, group)
        offset, steps = len(history), (history.rows[-1]["steps"] if history.rows else 0)

        def relay(row: dict[str, float]) -> None:
            row.update(stage=stage, epoch=row["epoch"] + offset, steps=row["steps"] + steps)
            if on_epoch is not None:
                on_epoch(row)

        part = fit(model, train, val, epochs=epochs_per_stage,
                   lr=surgery.param_groups(model, lrs) if lrs else lr, on_epoch=relay, **fit_kwargs)
        history.rows.extend(part.rows)
        history.cached_layers = max(history.cached_layers, part.cached_layers)
        if part.best_epoch is not None and keep.offer(part.best["val_acc"], offset + part.best_epoch):
            history.best_epoch = keep.epoch
    keep.restore()
    return history


#: The fine-tuning recipes lesson 04 compares on one target (keyword arguments of :func:`fine_tune`).
RECIPES: dict[str, dict] = {
    "freeze all but the head (head 1e-2)": dict(plan="head", lrs="uniform", top_lr=1e-2),
    "fine-tune all, uniform 1e-3": dict(plan="all", lrs="uniform", top_lr=1e-3),
    "fine-tune all, 2:4:6": dict(plan="all", lrs="2:4:6"),
    "fine-tune all, geometric 1e-4..1e-2": dict(plan="all", lrs="discriminative", top_lr=1e-2, ratio=100),
    "gradual unfreezing, uniform 1e-3": dict(plan="all", lrs="uniform", top_lr=1e-3, schedule="gradual"),
}


#: The 2:4:6 comparison under plain SGD (momentum 0.9, ``train.make_optimizer``), the setting the rule comes
#: from. SGD moves a weight by rate x gradient (Adam by about the rate, whatever the gradient's size), so the
#: same number is not the same step. Rates: the rule's own 1e-6 / 1e-4 / 1e-2; its head-only twin at the
#: rule's head rate 1e-2; for fine-tuning everything at one rate, 3e-3: the best on average of 3e-3, 1e-2 (about
#: what ``lr_find(..., optimizer="sgd")`` suggests for the whole network here: 6e-3 to 8e-3 on seeds 0-2) and
#: 3e-2 over the stored seeds 0-2 (chosen on the validation set, so its margin is optimistic).
#: ``SGD_RATE_CHECKS`` (stored results only) are those other rates, and the head alone at 3e-2.
SGD_RECIPES: dict[str, dict] = {
    "freeze all but the head (head 1e-2)": dict(plan="head", lrs="uniform", top_lr=1e-2, optimizer="sgd"),
    "fine-tune all, uniform 3e-3": dict(plan="all", lrs="uniform", top_lr=3e-3, optimizer="sgd"),
    "fine-tune all, 2:4:6": dict(plan="all", lrs="2:4:6", optimizer="sgd"),
}
SGD_RATE_CHECKS: dict[str, dict] = {
    "freeze all but the head (head 3e-2)": dict(plan="head", lrs="uniform", top_lr=3e-2, optimizer="sgd"),
    "fine-tune all, uniform 1e-2": dict(plan="all", lrs="uniform", top_lr=1e-2, optimizer="sgd"),
    "fine-tune all, uniform 3e-2": dict(plan="all", lrs="uniform", top_lr=3e-2, optimizer="sgd"),
}


def weight_change(model: nn.Module, pretrained: nn.Module) -> dict[str, float]:
    """How far each pretrained layer of ``model`` moved from ``pretrained``: ||W - W0|| / ||W0|| of its weight.

    Layers ``model`` does not share with ``pretrained`` (a new or resized head) are left out.
    """
    out = {}
    for name in layer_names(model):
        old = getattr(pretrained, name, None)
        new = getattr(model, name)
        if old is not None and old.weight.shape == new.weight.shape:
            w0 = old.weight.detach().cpu()
            out[name] = float((new.weight.detach().cpu() - w0).norm() / w0.norm())
    return out


def fine_tune(pretrained: nn.Sequential, train: Data, val: Data | None = None, *,
              plan: str | dict[str, str] = "all", lrs: str | dict[str, float] = "uniform",
              top_lr: float = 1e-3, ratio: float = 100.0, schedule: str = "all at once",
              epochs: int = 10, seed: int = 0, **fit_kwargs) -> tuple[nn.Sequential, History]:
    """A new model for ``train``'s classes from ``pretrained``, trained one way; returns it and its history.

    - ``plan``: ``"all"`` (every layer trains), ``"head"`` (only the new head) or a per-layer dict;
    - ``lrs``, ``top_lr``, ``ratio``: learning rates per layer, see :func:`layer_lrs`;
    - ``schedule``: ``"all at once"`` or ``"gradual"`` (:func:`gradual_unfreeze` over the layer
      groups, ``epochs`` split evenly between the stages).
    """
    layers = layer_names(pretrained)
    if isinstance(plan, str):
        if plan not in ("all", "head"):
            raise ValueError(f"plan must be 'all', 'head' or a dict layer -> {CHOICES}, got {plan!r}")
        plan = {n: "trainable" if plan == "all" or n == layers[-1] else "frozen" for n in layers}
    num_classes = len(train.classes) if hasattr(train, "classes") else int(train[1].max()) + 1
    model = build_model(pretrained, plan, num_classes, seed=seed)
    rates = layer_lrs(model, lrs, top_lr=top_lr, ratio=ratio)
    if schedule == "gradual":
        stages = trainable_groups(model)
        history = gradual_unfreeze(model, train, val, groups=stages, lr=rates, seed=seed,
                                   epochs_per_stage=max(1, epochs // len(stages)), **fit_kwargs)
    elif schedule == "all at once":
        history = fit(model, train, val, epochs=epochs, lr=surgery.param_groups(model, rates), seed=seed,
                      **fit_kwargs)
    else:
        raise ValueError(f"schedule must be 'all at once' or 'gradual', got {schedule!r}")
    return model, history


def compare(pretrained: nn.Sequential, train: Data, val: Data, test: Data | None = None, *,
            recipes: dict[str, dict] = RECIPES, epochs: int = 9, seed: int = 0, **fit_kwargs) -> list[dict]:
    """One row per recipe: best val acc, test acc (if ``test``), seconds, trainable parameters and how far
    each pretrained layer moved (``change <layer>``, :func:`weight_change`)."""
    from tlcourse.models import count_parameters
    from tlcourse.train import evaluate

    rows = []
    for name, how in recipes.items():
        start = time.perf_counter()
        model, history = fine_tune(pretrained, train, val, epochs=epochs, seed=seed, **{**fit_kwargs, **how})
        row = {"optimizer": how.get("optimizer", "adam"), "strategy": name, "seed": seed,
               "val acc": history.best["val_acc"],
               "test acc": evaluate(model, test)["acc"] if test is not None else None,
               "seconds": time.perf_counter() - start,
               "trainable": count_parameters(model, trainable_only=True)}
        row.update({f"change {n}": v for n, v in weight_change(model, pretrained).items()})
        rows.append(row)
    return rows


#: Lesson 04's setting: the similar target, small data (what the notebook's parameters default to).
LESSON04 = dict(target="letters", n_per_class=10, val_per_class=20, test_per_class=50, epochs=9)


def lesson04_data(seed: int, data_seed: int = 0, **setting) -> tuple:
    """Lesson 04's (train, val, test): training images drawn with ``seed``, val and test with ``data_seed``
    (the notebook's ``seed`` parameter: fixed while the extra seeds vary)."""
    from tlcourse import domains

    s = {**LESSON04, **setting}
    return (domains.load(s["target"], "train", n_per_class=s["n_per_class"], seed=seed),
            domains.load(s["target"], "val", n_per_class=s["val_per_class"], seed=data_seed),
            domains.load(s["target"], "test", n_per_class=s["test_per_class"], seed=data_seed))


def lesson04_rows(seed: int, recipes: list[dict[str, dict]] | None = None) -> list[dict]:
    """The rows of ``lesson04-recipes`` for one seed: each dict of recipes in turn (default: Adam's
    ``RECIPES``, ``SGD_RECIPES``, ``SGD_RATE_CHECKS``; names repeat across optimizers, so they stay apart)."""
    from tlcourse import zoo

    pretrained = zoo.load_pretrained()
    train, val, test = lesson04_data(seed)
    return [row for group in (recipes or [RECIPES, SGD_RECIPES, SGD_RATE_CHECKS])
            for row in compare(pretrained, train, val, test, recipes=group, epochs=LESSON04["epochs"], seed=seed,
                               show_progress=False)]


def main(argv: list[str] | None = None) -> None:
    """``python -m tlcourse.finetune --seeds 0 1 2``: lesson 04's comparison over seeds, stored."""
    from tlcourse import stored

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        rows += lesson04_rows(seed)
        print(f"seed {seed}: done", flush=True)
    command = "python -m tlcourse.finetune --seeds " + " ".join(map(str, args.seeds))
    print(stored.save("lesson04-recipes", rows, command=command, threads=torch.get_num_threads(), **LESSON04))


if __name__ == "__main__":
    main()
