"""The experiment of lessons 06 and 07: one shift, one call per method, the same settings everywhere.

The notebooks and ``tests/test_adapt_claims.py`` call these functions with the same defaults, so the
claims the tests check over three seeds are the runs the lessons show with one.

    shift = load_shift(**MAIN_SHIFT, seed=0)      # digits-printed -> digits-on-photos
    source_only = run("source-only", shift)        # trained on printed digits only
    dann = run("dann", shift)                      # + unlabelled target images
    oracle = run("oracle", shift)                  # trained on *labelled* target images: the ceiling
    dann.target_acc, source_only.target_acc, oracle.target_acc

Which labels each run sees: source-only, DANN, MMD, CORAL and importance weighting see source labels
(and all but source-only see target *images*); they are selected on the source validation split.
Only the oracle sees target labels (its training and validation splits). The target test split is
scored after each epoch for the learning curves and once at the end for the report, never for selection.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from .. import domains
from ..runtime import seed_everything
from .importance import effective_sample_size, importance_weights
from .loop import AdaptHistory, accuracy, adapt, features
from .net import AdaptNet, adabn

SOURCE = "digits-printed"
#: The main shift of lessons 06 and 07 (``load_shift(**MAIN_SHIFT)``).
MAIN_SHIFT: dict[str, Any] = {"target": "digits-on-photos", "strength": 0.7}
#: The constant reversal strength of lesson 06's stability experiment ("too large").
LARGE_LAMBDA = 3.0
#: Training images per class in each domain (source and target) unless load_shift is told otherwise.
N_PER_CLASS = 300
#: Settings shared by every method (SGD with momentum and the annealed learning rate of the loop).
DEFAULTS: dict[str, Any] = {"epochs": 3, "batch_size": 16, "lr": 0.01}
#: Each method's own settings on top of DEFAULTS (the weight of its alignment term, ...).
RECIPES: dict[str, dict[str, Any]] = {
    "source-only": {},
    "oracle": {},
    "dann": {"trade_off": 0.3},
    "mmd": {"trade_off": 1.0},
    "coral": {"trade_off": 1.0},
    "importance": {"clip": 10.0},
    "adabn": {},
}


@dataclass
class Shift:
    """A labelled source and a target domain, split for adaptation."""

    name: str
    source: domains.DomainData       # labelled: training
    source_val: domains.DomainData   # labelled: model selection of every method but the oracle
    target: domains.DomainData       # images for training (labels used by the oracle only)
    target_val: domains.DomainData   # the oracle's model selection only
    target_test: domains.DomainData  # the final report only

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {len(getattr(self, k))}" for k in
                          ("source", "source_val", "target", "target_val", "target_test"))
        return f"Shift({self.name!r}: {sizes})"


@dataclass
class Run:
    """One trained model, its history and its final scores."""

    method: str
    model: AdaptNet
    history: AdaptHistory
    source_val_acc: float
    target_acc: float  # on the target test split, measured once after training
    info: dict[str, Any]


def load_shift(target: str = "digits-on-photos", n_per_class: int = N_PER_CLASS, seed: int = 0,
               val_per_class: int = 50, **options: Any) -> Shift:
    """``digits-printed`` -> ``target`` with ``n_per_class`` training images per class on each side.

    For ``handwritten`` (about 108 training images per class) the whole target training split is used
    when ``n_per_class`` asks for more. ``options`` go to the target domain (e.g. ``strength``).
    """
    source = domains.load(SOURCE, "train", n_per_class=n_per_class, seed=seed)
    source_val = domains.load(SOURCE, "val", n_per_class=val_per_class, seed=seed)
    full = domains.load(target, "train", **options)
    available = int(torch.bincount(full.y).min())
    # a different seed: target images are not the blended copies of the source images
    tgt = domains.load(target, "train", n_per_class=n_per_class, seed=seed + 1000, **options) \
        if n_per_class < available else full
    val_full = domains.load(target, "val", **options)
    tgt_val = domains.load(target, "val", n_per_class=val_per_class, seed=seed, **options) \
        if val_per_class < int(torch.bincount(val_full.y).min()) else val_full
    return Shift(f"{SOURCE} -> {target}", source, source_val, tgt, tgt_val,
                 domains.load(target, "test", **options))


def run(method: str, shift: Shift, seed: int = 0, source_model: AdaptNet | None = None,
        monitor: bool = True, show_progress: bool = True, norm: str = "domain", **overrides: Any) -> Run:
    """Train one ``method`` ("source-only", "dann", "mmd", "coral", "importance", "adabn" or "oracle") on ``shift``.

    ``overrides`` replace DEFAULTS/RECIPES entries (e.g. ``trade_off=5, schedule="constant"``).
    "importance" weighs the source images by a domain classifier trained on ``source_model``'s
    features (a source-only run). "adabn" trains nothing: it copies ``source_model`` and gives it
    target normalisation statistics computed from the target images (normalisation alone, no
    alignment loss). ``monitor`` records the target test accuracy after every epoch, for the
    learning curves only: model selection never looks at it. ``show_progress`` draws a bar over the
    epochs (``TLCOURSE_PROGRESS=0`` silences every bar). ``norm``: the network's BatchNorm, "domain" (one set
    of statistics per domain, the default) or "batch" (one set shared by both domains; lesson 06's ablation).
    """
    if method not in RECIPES:
        raise ValueError(f"unknown method {method!r}; choose one of {list(RECIPES)}")
    if method in ("importance", "adabn") and source_model is None:
        raise ValueError(f"method {method!r} needs source_model= (a source-only run's model)")
    if method == "adabn":
        model = adabn(copy.deepcopy(source_model), shift.target.x)
        history = AdaptHistory(method="adabn", target_domain="target")
        return Run(method, model, history, accuracy(model, shift.source_val),
                   accuracy(model, shift.target_test, "target"), {})
    settings = {**DEFAULTS, **RECIPES[method], **overrides}
    info: dict[str, Any] = {}
    seed_everything(seed)
    model = AdaptNet(len(shift.source.classes), norm=norm)
    mon = {"target_test": shift.target_test} if monitor else None
    if method == "oracle":
        history = adapt(model, shift.target, None, shift.target_val, method="source-only", seed=seed,
                        monitor=mon, show_progress=show_progress, desc="oracle", **settings)
    else:
        if method == "importance":
            clip = settings.pop("clip")
            # the source-only model has only source statistics: both domains are seen through them
            w = importance_weights(features(source_model, shift.source), features(source_model, shift.target),
                                   clip=clip)
            info.update(weights=w, ess=effective_sample_size(w))
            settings["source_weights"] = w
        history = adapt(model, shift.source, shift.target.x, shift.source_val, method=method, seed=seed,
                        monitor=mon, show_progress=show_progress, **settings)
    return Run(method, model, history, accuracy(model, shift.source_val),
               accuracy(model, shift.target_test, history.target_domain), info)


def gap_closed(source_only: float, adapted: float, oracle: float) -> float:
    """The fraction of the source-only -> oracle gap an adapted model closes (1 = as good as the oracle)."""
    if oracle <= source_only:
        raise ValueError(f"the oracle ({oracle:.3f}) must beat source-only ({source_only:.3f}) for a gap to close")
    return (adapted - source_only) / (oracle - source_only)
