"""One training loop for every adaptation method in the course.

Each step takes a labelled source batch (x_s, y_s) and an unlabelled target batch x_t and minimises

    L = CE(h(g(x_s)), y_s)  +  w_p * A(g(x_s), g(x_t))

where g is the feature extractor, h the label head and A the pluggable alignment term: nothing
(source-only), DANN's domain-adversarial loss, MMD or CORAL. Instance weighting instead
re-weights the source cross-entropy and uses no target batch. ``w_p`` follows the DANN schedule
``trade_off * (2 / (1 + exp(-gamma p)) - 1)`` over the training progress p in [0, 1] (for DANN
it is the strength of the gradient reversal, so the discriminator itself always learns at full
rate). The learning rate is annealed as in Ganin & Lempitsky: mu_p = mu_0 / (1 + 10 p)^0.75.

With an :class:`AdaptNet` built with ``norm="domain"``, source and target batches go through the
network separately, each normalised with its own domain's statistics.

Model selection never looks at target labels: after each epoch the model is scored on the
*source validation* split and the best epoch's weights are restored. ``monitor`` data sets
(e.g. the target test split) are only evaluated for the learning curves and the final report.
Target labels are never read: only the images of ``target`` are used.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import get_device, progress, seed_everything
from .coral import CORALLoss
from .dann import DomainAdversarialLoss
from .discriminator import DomainDiscriminator
from .grl import dann_lambda
from .mmd import MMDLoss

METHODS: tuple[str, ...] = ("source-only", "dann", "mmd", "coral", "importance")
SELECTIONS: tuple[str, ...] = ("source-val", "last")


@dataclass
class AdaptHistory:
    """What happened during :func:`adapt`: one dict per epoch, and the epoch that was kept."""

    method: str
    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    selection: str = "source-val"
    #: the normalisation statistics to use on target data: "target" if training saw target images
    target_domain: str = "source"
    #: one dict per training step: progress p, weight, lr, loss_cls, loss_align, domain_acc
    steps: list[dict[str, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, key: str) -> list[float]:
        """One quantity over the epochs, e.g. ``history.column("source_val_acc")``."""
        return [row[key] for row in self.rows]

    def discriminator_accuracy(self, part: str) -> float:
        """The domain discriminator's mean accuracy on its training batches over the "first" or "last"
        tenth of the training steps (NaN for methods without a discriminator)."""
        if part not in ("first", "last"):
            raise ValueError(f"part must be 'first' or 'last', got {part!r}")
        n = max(1, len(self.steps) // 10)
        chunk = self.steps[:n] if part == "first" else self.steps[-n:]
        return sum(s["domain_acc"] for s in chunk) / len(chunk)

    @property
    def best(self) -> dict[str, float]:
        """The row of the kept epoch."""
        return self.rows[self.best_epoch - 1]


def _tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(x, y) from a DomainData, an (x, y) tuple or a bare tensor of images."""
    if torch.is_tensor(data):
        return data, None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "x"):
        return data.x, getattr(data, "y", None)
    raise TypeError(f"expected a DomainData, an (x, y) tuple or a tensor, got {type(data).__name__}")


def _images(data: Any) -> torch.Tensor:
    """Only the images of ``data``: used for the target domain, whose labels are never read."""
    if torch.is_tensor(data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0]
    if hasattr(data, "x"):
        return data.x
    raise TypeError(f"expected a DomainData, an (x, y) tuple or a tensor, got {type(data).__name__}")


def _in_domain(model: nn.Module, domain: str):
    """``model.domain(domain)`` for an AdaptNet, a do-nothing context for any other model."""
    return model.domain(domain) if hasattr(model, "domain") else contextlib.nullcontext()


@torch.no_grad()
def accuracy(model: nn.Module, data: Any, domain: str = "source", batch_size: int = 1024) -> float:
    """Classification accuracy of ``model`` (eval mode, ``domain``'s normalisation statistics) on ``data``."""
    x, y = _tensors(data)
    if y is None:
        raise ValueError("accuracy needs labelled data")
    model.eval()
    device = next(model.parameters()).device
    with _in_domain(model, domain):
        correct = sum((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum().item()
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


@torch.no_grad()
def features(model: nn.Module, data: Any, domain: str = "source", batch_size: int = 1024) -> torch.Tensor:
    """``model.features`` of every image of ``data`` (eval mode, ``domain``'s statistics), on the CPU."""
    x = _images(data)
    model.eval()
    device = next(model.parameters()).device
    with _in_domain(model, domain):
        return torch.cat([model.features(x[i:i + batch_size].to(device)).cpu()
                          for i in range(0, len(x), batch_size)])


def make_aligner(method: str, feature_dim: int, hidden: int = 256, depth: int = 2) -> nn.Module | None:
    """The alignment term of ``method`` (None for source-only and instance weighting)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if method == "dann":
        return DomainAdversarialLoss(DomainDiscriminator(feature_dim, hidden=hidden, depth=depth))
    return {"mmd": MMDLoss(), "coral": CORALLoss()}.get(method)


def adapt(model: nn.Module, source: Any, target: Any = None, source_val: Any = None, *,
          method: str = "dann", epochs: int = 10, batch_size: int = 64, lr: float = 0.01,
          momentum: float = 0.9, weight_decay: float = 5e-4, anneal_lr: bool = True,
          trade_off: float = 1.0, schedule: str = "dann", gamma: float = 10.0,
          aligner: nn.Module | None = None, source_weights: torch.Tensor | None = None,
          monitor: dict[str, Any] | None = None, select: str = "source-val", seed: int = 0,
          device: str | torch.device | None = None, show_progress: bool = True, desc: str = "") -> AdaptHistory:
    """Train ``model`` (an :class:`AdaptNet`: ``.features`` + ``.head``) with ``method``; return its history.

    ``source``/``source_val``: labelled source data (DomainData or (x, y)); ``target``: target
    images (labels, if present, are ignored). ``schedule``: "dann" (ramp the alignment weight up
    with 2/(1+exp(-gamma p))-1) or "constant". ``aligner``: a custom alignment module
    ``A(f_s, f_t) -> loss`` instead of the method's default. ``source_weights``: one weight per
    source sample, required by ``method="importance"``. ``select``: "source-val" (restore the
    epoch with the best source-validation accuracy; ties go to the later epoch, whose features
    have been aligned longer) or "last". Optimiser: SGD with momentum, annealed learning rate.
    ``desc`` labels the progress bar (default: ``method``).
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
    xs, ys = _tensors(source)
    if ys is None:
        raise ValueError("the source data must be labelled")
    aligner = aligner if aligner is not None else make_aligner(method, model.feature_dim)
    uses_target = aligner is not None
    if uses_target and target is None:
        raise ValueError(f"method {method!r} needs target images")
    xt = _images(target) if uses_target else None  # target labels are never read
    if method == "importance":
        if source_weights is None or len(source_weights) != len(xs):
            raise ValueError("method='importance' needs source_weights, one per source sample "
                             "(see tlcourse.adapt.importance_weights)")
        weights = torch.as_tensor(source_weights, dtype=torch.float32)
    else:
        weights = None

    gen = seed_everything(seed)
    device = get_device(device)
    model.to(device)
    if aligner is not None:
        aligner.to(device)
    params = list(model.parameters()) + (list(aligner.parameters()) if aligner is not None else [])
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(xs) / batch_size)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: (1 + 10 * step / total) ** -0.75 if anneal_lr else 1.0)

    history = AdaptHistory(method=method, selection=select, target_domain="target" if uses_target else "source")
    best_score, best_state, step = -1.0, None, 0
    t_order = torch.randperm(len(xt), generator=gen) if uses_target else None
    t_pos = 0
    for epoch in progress(range(1, epochs + 1), desc=desc or method, enabled=show_progress):
        model.train()
        if aligner is not None:
            aligner.train()
        sums = {"loss_cls": 0.0, "loss_align": 0.0}
        order = torch.randperm(len(xs), generator=gen)
        for i in range(0, len(xs), batch_size):
            idx = order[i:i + batch_size]
            x_s, y_s = xs[idx].to(device), ys[idx].to(device)
            p = step / total
            w_p = trade_off * (dann_lambda(p, gamma) if schedule == "dann" else 1.0) if uses_target else 0.0
            if uses_target:
                if t_pos + len(idx) > len(xt):  # a fresh pass over the target images
                    t_order, t_pos = torch.randperm(len(xt), generator=gen), 0
                x_t = xt[t_order[t_pos:t_pos + len(idx)]].to(device)
                t_pos += len(idx)
                if getattr(model, "norm", None) == "domain":  # each domain normalised by its own statistics
                    with model.domain("source"):
                        f_s = model.features(x_s)
                    with model.domain("target"):
                        f_t = model.features(x_t)
                else:  # one batch: shared BatchNorm statistics
                    f = model.features(torch.cat([x_s, x_t]))
                    f_s, f_t = f[: len(idx)], f[len(idx):]
                if isinstance(aligner, DomainAdversarialLoss):
                    align = aligner(f_s, f_t, lambd=w_p)     # w_p scales the reversed gradient
                else:
                    align = w_p * aligner(f_s, f_t)
            else:
                with _in_domain(model, "source"):
                    f_s = model.features(x_s)
                align = torch.zeros((), device=device)
            ce = F.cross_entropy(model.head(f_s), y_s, reduction="none")
            loss_cls = (ce * weights[idx].to(device)).mean() if weights is not None else ce.mean()
            lr_now = opt.param_groups[0]["lr"]
            opt.zero_grad(set_to_none=True)
            (loss_cls + align).backward()
            opt.step()
            sched.step()
            step += 1
            sums["loss_cls"] += loss_cls.item()
            sums["loss_align"] += align.item()
            history.steps.append({"p": p, "weight": w_p, "lr": lr_now,
                                  "loss_cls": loss_cls.item(), "loss_align": align.item(),
                                  "domain_acc": getattr(aligner, "domain_acc", float("nan"))})
        dacc = [s["domain_acc"] for s in history.steps[-steps_per_epoch:]]
        row = {"epoch": epoch, "lr": lr_now, "weight": w_p, "domain_acc": sum(dacc) / len(dacc),
               **{k: v / steps_per_epoch for k, v in sums.items()}}
        if source_val is not None:
            row["source_val_acc"] = accuracy(model, source_val)
        for name, data in (monitor or {}).items():  # learning curves only, never selection
            row[f"{name}_acc"] = accuracy(model, data, history.target_domain)
        history.rows.append(row)
        score = row["source_val_acc"] if select == "source-val" else epoch
        if score >= best_score:
            best_score, history.best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return history
