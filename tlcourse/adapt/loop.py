"""Every adaptation method in the course as one training step of :func:`tlcourse.train.train_epochs`.

Adaptation uses the course's one training scaffold (batching, history, keeping the best weights,
evaluation); only the step differs from ``fit``. Each step takes a labelled source batch (x_s, y_s) and an unlabelled target batch x_t and minimises

    L = CE(h(g(x_s)), y_s)  +  w_p * A(g(x_s), g(x_t))

where g is the feature extractor, h the label head and A the pluggable *aligner*: nothing
(source-only), DANN's domain-adversarial loss, MMD or CORAL. Every aligner has one signature,
``aligner(f_s, f_t, weight) -> the term to add`` (as TLlib composes its losses). Instance weighting instead
re-weights the source cross-entropy and uses no target batch. ``w_p`` follows the DANN schedule
``trade_off * (2 / (1 + exp(-gamma p)) - 1)`` over the training progress p in [0, 1] (for DANN
it is the strength of the gradient reversal, so the discriminator itself always learns at full
rate). The learning rate is annealed as in Ganin & Lempitsky: mu_p = mu_0 / (1 + 10 p)^0.75.

With an :class:`AdaptNet` built with ``norm="domain"``, source and target batches go through the
network separately, each normalised with its own domain's statistics.

A few *labelled* target images (``target_labelled=(x, y)``) add seed 004's joint objective: each step also
draws a batch of them and adds ``target_weight`` times their cross-entropy,

    L = L_s + lambda_t * L_t  (+ w_p * A(g(x_s), g(x_t)) when a method aligns)

The labelled batch goes through the network with the target images (target statistics); the aligner
still sees only the unlabelled target batch, the same size as the source batch.

Model selection never looks at target labels: after each epoch the model is scored on the
*source validation* split and the best epoch's weights are restored. ``monitor`` data sets
(e.g. the target test split) are only evaluated for the learning curves and the final report.
The labels of ``target`` are never read: only its images are used; the only target labels training
sees are those of ``target_labelled``, and selection never sees any.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import get_device, seed_everything
from ..train import History, as_tensors, embed, evaluate, images, make_optimizer, train_epochs
from .coral import CORALLoss
from .dann import DomainAdversarialLoss
from .discriminator import DomainDiscriminator
from .grl import dann_lambda
from .mmd import MMDLoss

METHODS: tuple[str, ...] = ("source-only", "dann", "mmd", "coral", "importance")
SELECTIONS: tuple[str, ...] = ("source-val", "last")


@dataclass
class AdaptHistory(History):
    """A :class:`tlcourse.train.History` of :func:`adapt`, with what adaptation adds: the method, how the
    epoch was selected, and the domain whose normalisation statistics to use on target data."""

    method: str = ""
    selection: str = "source-val"
    #: "target" if training saw target images, else "source"
    target_domain: str = "source"

    def discriminator_accuracy(self, part: str) -> float:
        """The domain discriminator's mean accuracy on its training batches over the "first" or "last"
        tenth of the training steps (NaN for methods without a discriminator)."""
        if part not in ("first", "last"):
            raise ValueError(f"part must be 'first' or 'last', got {part!r}")
        n = max(1, len(self.steps) // 10)
        chunk = self.steps[:n] if part == "first" else self.steps[-n:]
        return sum(s["domain_acc"] for s in chunk) / len(chunk)


def _in_domain(model: nn.Module, domain: str):
    """``model.domain(domain)`` for an AdaptNet, a do-nothing context for any other model."""
    return model.domain(domain) if hasattr(model, "domain") else contextlib.nullcontext()


def accuracy(model: nn.Module, data: Any, domain: str = "source") -> float:
    """Classification accuracy of ``model`` (eval mode, ``domain``'s normalisation statistics) on ``data``."""
    with _in_domain(model, domain):
        return evaluate(model, as_tensors(data))["acc"]


def features(model: nn.Module, data: Any, domain: str = "source") -> torch.Tensor:
    """``model.features`` of every image of ``data`` (eval mode, ``domain``'s statistics), on the CPU."""
    with _in_domain(model, domain):
        return embed(model.features, data, upto=None)


def make_aligner(method: str, feature_dim: int, hidden: int = 256, depth: int = 2) -> nn.Module | None:
    """The aligner of ``method`` (None for source-only and instance weighting)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if method == "dann":
        return DomainAdversarialLoss(DomainDiscriminator(feature_dim, hidden=hidden, depth=depth))
    return {"mmd": MMDLoss(), "coral": CORALLoss()}.get(method)


class TargetBatches:
    """Unlabelled target batches drawn alongside the source batches: a shuffled pass over the target
    images, reshuffled whenever the next batch would run past its end."""

    def __init__(self, x: torch.Tensor, generator: torch.Generator):
        self.x, self.generator = x, generator
        self.order, self.pos = torch.randperm(len(x), generator=generator), 0

    def next(self, size: int) -> torch.Tensor:
        if self.pos + size > len(self.x):
            self.order, self.pos = torch.randperm(len(self.x), generator=self.generator), 0
        batch = self.x[self.order[self.pos:self.pos + size]]
        self.pos += size
        return batch


def source_and_target_features(model: nn.Module, x_s: torch.Tensor,
                               x_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """g(x_s), g(x_t): each domain through its own normalisation statistics for an AdaptNet built with
    ``norm="domain"``, else one batch (shared BatchNorm statistics)."""
    if getattr(model, "norm", None) == "domain":
        with model.domain("source"):
            f_s = model.features(x_s)
        with model.domain("target"):
            f_t = model.features(x_t)
        return f_s, f_t
    f = model.features(torch.cat([x_s, x_t]))
    return f[: len(x_s)], f[len(x_s):]


def _labelled_target(data: Any, weight: float | None, xs: torch.Tensor,
                     num_classes: int | None) -> tuple[torch.Tensor | None, torch.Tensor | None, float]:
    """Check ``adapt``'s ``target_labelled``/``target_weight``; return (x, y, lambda_t) or (None, None, 0)."""
    if data is None:
        if weight is not None:
            raise ValueError("target_weight weighs the loss on target_labelled: pass target_labelled=(x, y) too")
        return None, None, 0.0
    if torch.is_tensor(data):
        raise ValueError("target_labelled must be labelled: a DomainData or an (images, labels) pair, not a tensor "
                         "(unlabelled target images go to target=)")
    try:
        x, y = as_tensors(data)
    except (TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"target_labelled must be a DomainData or an (images, labels) pair: {err}") from None
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if len(x) == 0:
        raise ValueError("target_labelled holds no images: pass None for no labelled target data")
    if tuple(x.shape[1:]) != tuple(xs.shape[1:]):
        raise ValueError(f"target_labelled images have shape {tuple(x.shape[1:])}, the source images "
                         f"{tuple(xs.shape[1:])}: they must match")
    if y.dtype.is_floating_point or y.dim() != 1:
        raise ValueError(f"target_labelled labels must be a 1-D integer tensor of class indices, got {y.dtype} "
                         f"of shape {tuple(y.shape)}")
    if num_classes is not None and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"target_labelled labels must lie in 0..{num_classes - 1} (the model's classes), "
                         f"got {int(y.min())}..{int(y.max())}")
    weight = 1.0 if weight is None else float(weight)
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"target_weight must be a finite number >= 0, got {weight}")
    return x, y.long(), weight


def adapt(model: nn.Module, source: Any, target: Any = None, source_val: Any = None, *,
          method: str = "dann", epochs: int = 10, batch_size: int = 64, lr: float = 0.01,
          momentum: float = 0.9, weight_decay: float = 5e-4, anneal_lr: bool = True,
          trade_off: float = 1.0, schedule: str = "dann", gamma: float = 10.0,
          aligner: nn.Module | None = None, source_weights: torch.Tensor | None = None,
          monitor: dict[str, Any] | None = None, select: str = "source-val", seed: int = 0,
          target_labelled: Any = None, target_weight: float | None = None,
          device: str | torch.device | None = None, show_progress: bool = True, desc: str = "") -> AdaptHistory:
    """Train ``model`` (an :class:`AdaptNet`: ``.features`` + ``.head``) with ``method``; return its history.

    ``source``/``source_val``: labelled source data (DomainData or (x, y)); ``target``: target
    images (labels, if present, are ignored). ``schedule``: "dann" (ramp the alignment weight up
    with 2/(1+exp(-gamma p))-1) or "constant". ``aligner``: a custom aligner
    ``A(f_s, f_t, weight) -> loss`` instead of the method's default. ``source_weights``: one weight per
    source sample, required by ``method="importance"``. ``select``: "source-val" (restore the
    epoch with the best source-validation accuracy; ties go to the later epoch, whose features
    have been aligned longer) or "last". Optimiser: SGD with momentum, annealed learning rate.
    ``desc`` labels the progress bar (default: ``method``). Every step is logged in ``history.steps``.
    ``target_labelled``: a few labelled target images (DomainData or (x, y)) whose cross-entropy, times
    ``target_weight`` (lambda_t, default 1), joins the loss: seed 004's L = L_s + lambda_t * L_t (plus the
    method's alignment term); works with every method, "source-only" included.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if select not in SELECTIONS:
        raise ValueError(f"unknown selection {select!r}; choose one of {SELECTIONS}")
    if schedule not in ("dann", "constant"):
        raise ValueError(f"unknown schedule {schedule!r}; choose 'dann' or 'constant'")
    if select == "source-val" and source_val is None:
        raise ValueError("select='source-val' needs source_val (or use select='last')")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    if torch.is_tensor(source):
        raise ValueError("the source data must be labelled")
    xs, ys = as_tensors(source)
    aligner = aligner if aligner is not None else make_aligner(method, model.feature_dim)
    if aligner is not None and target is None:
        raise ValueError(f"method {method!r} needs target images")
    weights = None
    if method == "importance":
        if source_weights is None or len(source_weights) != len(xs):
            raise ValueError("method='importance' needs source_weights, one per source sample "
                             "(see tlcourse.adapt.importance_weights)")
        weights = torch.as_tensor(source_weights, dtype=torch.float32)
    xl, yl, target_weight = _labelled_target(target_labelled, target_weight, xs, getattr(model, "num_classes", None))

    gen = seed_everything(seed)
    device = get_device(device)
    trained = nn.ModuleList([model, aligner]) if aligner is not None else model
    trained.to(device)
    opt = make_optimizer(trained, lr, "sgd", weight_decay, momentum)
    total = epochs * math.ceil(len(xs) / batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: (1 + 10 * step / total) ** -0.75 if anneal_lr else 1.0)
    target_batches = TargetBatches(images(target), gen) if aligner is not None else None  # labels never read
    labelled = TargetBatches(torch.arange(len(xl)), gen) if xl is not None else None  # draws indices
    target_domain = "target" if aligner is not None or xl is not None else "source"

    def step(idx: torch.Tensor, p: float) -> tuple[torch.Tensor, dict[str, Any]]:
        x_s, y_s = xs[idx].to(device), ys[idx].to(device)
        if labelled is not None:
            j = labelled.next(min(batch_size, len(xl)))
            x_l, y_l = xl[j].to(device), yl[j].to(device)
        if aligner is None and labelled is None:
            with _in_domain(model, "source"):
                f_s = model.features(x_s)
            weight, align = 0.0, torch.zeros((), device=device)
        elif aligner is None:
            f_s, f_l = source_and_target_features(model, x_s, x_l)
            weight, align = 0.0, torch.zeros((), device=device)
        else:
            x_t = target_batches.next(len(idx)).to(device)
            if labelled is not None:  # one pass through the target statistics; the aligner sees x_t only
                f_s, f_t = source_and_target_features(model, x_s, torch.cat([x_t, x_l]))
                f_t, f_l = f_t[:len(x_t)], f_t[len(x_t):]
            else:
                f_s, f_t = source_and_target_features(model, x_s, x_t)
            weight = trade_off * (dann_lambda(p, gamma) if schedule == "dann" else 1.0)
            align = aligner(f_s, f_t, weight)  # DANN: weight scales the reversed gradient
        ce = F.cross_entropy(model.head(f_s), y_s, reduction="none")
        loss_cls = (ce * weights[idx].to(device)).mean() if weights is not None else ce.mean()
        stats = {"weight": weight, "loss_cls": loss_cls.detach(), "loss_align": align.detach(),
                 "domain_acc": getattr(aligner, "domain_acc", float("nan"))}
        if labelled is None:
            return loss_cls + align, stats
        loss_target = F.cross_entropy(model.head(f_l), y_l)
        stats["loss_target"] = loss_target.detach()
        return loss_cls + target_weight * loss_target + align, stats

    def validate() -> dict[str, float]:
        row = {"source_val_acc": accuracy(model, source_val)} if source_val is not None else {}
        for name, data in (monitor or {}).items():  # learning curves only, never selection
            row[f"{name}_acc"] = accuracy(model, data, target_domain)
        return row

    run = train_epochs(trained, step, len(xs), optimizer=opt, scheduler=sched, epochs=epochs,
                       batch_size=batch_size, generator=gen, validate=validate,
                       select="source_val_acc" if select == "source-val" else None, later_ties=True,
                       log_steps=True, desc=desc or method, show_progress=show_progress)
    return AdaptHistory(rows=run.rows, steps=run.steps, best_epoch=run.best_epoch or len(run.rows),
                        method=method, selection=select, target_domain=target_domain)
