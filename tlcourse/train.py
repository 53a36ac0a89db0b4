"""One training loop for the whole course: ``fit``, ``evaluate``, ``predict`` and ``embed``.

``fit`` is a plain PyTorch loop (shuffle, forward, loss, backward, step) with three additions a
lesson needs: a history of every epoch, early stopping on the validation split (the best weights
are restored at the end), and **cached frozen features**. If the bottom of an ``nn.Sequential``
model is frozen, its output never changes during training, so we run that prefix once over the
data and train only the top on the stored features. That is what makes "freeze everything and
train a new head" take seconds instead of minutes.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tlcourse.models import block_end_slice
from tlcourse.runtime import get_device, progress

Data = Any  # a DomainData (anything with .x and .y tensors) or an (x, y) tuple of tensors

# Modules that behave differently in train and eval mode: a prefix containing one is not cached.
_MODE_DEPENDENT = (nn.Dropout, nn.modules.batchnorm._BatchNorm)


def as_tensors(data: Data) -> tuple[Tensor, Tensor]:
    """``(x, y)`` from a DomainData-like object or a tuple."""
    if isinstance(data, (tuple, list)):
        x, y = data
    else:
        x, y = data.x, data.y
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    return x, y


@dataclass
class History:
    """What happened in a ``fit``: one dict per epoch, plus the epoch whose weights were kept."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    cached_layers: int = 0  # how many leading modules ran once instead of every step

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, float]]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, float]:
        return self.rows[i]

    def column(self, name: str) -> list[float]:
        return [row[name] for row in self.rows if name in row]

    @property
    def best(self) -> dict[str, float]:
        """The row of the kept epoch (the last one if there was no validation data)."""
        return self.rows[self.best_epoch - 1] if self.best_epoch else self.rows[-1]

    @property
    def seconds(self) -> float:
        return sum(self.column("seconds"))

    def plot(self, ax=None, label: str = ""):
        """Validation (or training) accuracy per epoch on ``ax``."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        key = "val_acc" if self.column("val_acc") else "train_acc"
        ax.plot(self.column("epoch"), self.column(key), marker="o", label=label or key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("_", " "))
        return ax


def frozen_prefix_length(model: nn.Module) -> int:
    """How many leading modules of a Sequential have no trainable parameter (and can be cached)."""
    if not isinstance(model, nn.Sequential):
        return 0
    n = 0
    for module in model:
        if isinstance(module, _MODE_DEPENDENT) or any(p.requires_grad for p in module.parameters()):
            break
        n += 1
    return n


@torch.no_grad()
def _run(module: nn.Module, x: Tensor, device: torch.device, batch_size: int = 1024) -> Tensor:
    """``module(x)`` in eval mode, in batches, on ``device``; returns a tensor on ``device``."""
    was_training = module.training
    module.eval()
    out = torch.cat([module(x[i:i + batch_size].to(device)) for i in range(0, len(x), batch_size)])
    module.train(was_training)
    return out


def _cached_run(prefix: nn.Module, x: Tensor, device: torch.device, cache: dict | None) -> Tensor:
    """``_run`` memoised on the prefix's modules, its weights' versions and the input tensor."""
    if cache is None:
        return _run(prefix, x, device)
    # A parameter's _version grows with every in-place update, so retrained weights miss the cache.
    key = (tuple(id(m) for m in prefix), tuple(p._version for p in prefix.parameters()),
           x.data_ptr(), tuple(x.shape))
    if key not in cache:  # keep x and the modules alive too, so their memory and ids cannot be reused
        cache[key] = (tuple(prefix), x, _run(prefix, x, device))
    return cache[key][-1]


def _make_schedule(opt: torch.optim.Optimizer, schedule: str, total_steps: int):
    """A per-step learning-rate multiplier: constant, or one cycle (linear warm-up, cosine decay)."""
    if schedule == "constant":
        factor = lambda step: 1.0  # noqa: E731
    elif schedule == "onecycle":
        warm = max(1, int(0.2 * total_steps))
        factor = lambda step: (step + 1) / warm if step < warm else \
            0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm)))  # noqa: E731
    else:
        raise ValueError(f"unknown schedule {schedule!r}; use 'constant' or 'onecycle'")
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _make_optimizer(model: nn.Module, lr: float | list[dict], optimizer: str,
                    weight_decay: float) -> torch.optim.Optimizer:
    """Adam or SGD over the trainable parameters; ``lr`` may be a list of parameter groups."""
    if isinstance(lr, (int, float)):
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": float(lr)}]
    else:  # parameter groups, e.g. from tlcourse.surgery.param_groups: keep only trainable ones
        groups = [dict(g, params=[p for p in g["params"] if p.requires_grad]) for g in lr]
        groups = [g for g in groups if g["params"]]
    if not groups or not groups[0]["params"]:
        raise ValueError("nothing to train: every parameter is frozen (requires_grad=False)")
    if optimizer == "adam":
        return torch.optim.Adam(groups, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(groups, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {optimizer!r}; use 'adam' or 'sgd'")


def fit(model: nn.Module, train: Data, val: Data | None = None, *, epochs: int = 5,
        lr: float | list[dict] = 1e-3, batch_size: int = 64, optimizer: str = "adam",
        schedule: str = "constant",
        weight_decay: float = 0.0, patience: int | None = None, seed: int = 0,
        device: str | torch.device | None = None, cache_frozen: bool = True,
        augment: Callable[[Tensor], Tensor] | None = None, show_progress: bool = True,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
        feature_cache: dict | None = None) -> History:
    """Train ``model`` on ``train`` with cross-entropy; return its :class:`History`.

    - ``lr``: one learning rate, or parameter groups with their own ``lr`` (layer-wise rates).
    - ``schedule``: ``"constant"``, or ``"onecycle"``: warm up over the first 20% of the steps,
      then a cosine decay to zero (fastai's default; it trains fast at a high peak rate).
    - ``val``: if given, accuracy is measured after every epoch, the best weights are restored at
      the end, and ``patience`` epochs without improvement stop training early.
    - ``cache_frozen``: run a frozen bottom of the network once instead of every step (ignored with
      ``augment``, which changes the inputs every step).
    - ``on_epoch``: called with each epoch's row (live plots in widgets use it).
    - ``feature_cache``: a dict kept between calls (FreezeLab keeps one), so the frozen prefix's
      outputs are computed once per dataset and reused by the next ``fit`` with the same prefix.
    """
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    x, y = as_tensors(train)
    if len(x) == 0:
        raise ValueError("the training set is empty")
    val_xy = as_tensors(val) if val is not None else None

    history = History()
    top: nn.Module = model
    k = frozen_prefix_length(model) if cache_frozen and augment is None else 0
    if isinstance(model, nn.Sequential) and k == len(model):
        raise ValueError("nothing to train: every layer is frozen")
    if k:  # cache on the caller's tensors (not on copies moved to the device), so the next fit hits
        prefix, top = model[:k], model[k:]
        x = _cached_run(prefix, x, device, feature_cache)
        if val_xy is not None:
            val_xy = (_cached_run(prefix, val_xy[0], device, feature_cache), val_xy[1])
        history.cached_layers = k
    x, y = x.to(device), y.to(device)
    if val_xy is not None:
        val_xy = tuple(t.to(device) for t in val_xy)

    opt = _make_optimizer(top, lr, optimizer, weight_decay)
    scheduler = _make_schedule(opt, schedule, epochs * math.ceil(len(x) / batch_size))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout masks
    best_acc, best_state, stale, steps = -1.0, None, 0, 0
    bar = progress(range(1, epochs + 1), desc="epochs", enabled=show_progress)
    for epoch in bar:
        start = time.perf_counter()
        top.train()
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for idx in torch.randperm(len(x), generator=generator).split(batch_size):
            idx = idx.to(device)
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb)
            logits = top(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            scheduler.step()
            total_loss += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
            steps += 1
        row = {"epoch": epoch, "steps": steps, "train_loss": total_loss.item() / len(x),
               "train_acc": correct.item() / len(x)}
        if val_xy is not None:
            row.update({f"val_{k_}": v for k_, v in evaluate(top, val_xy, device=device).items()})
        row["seconds"] = time.perf_counter() - start
        history.rows.append(row)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix({k_: round(v, 3) for k_, v in row.items() if k_.endswith(("acc", "loss"))})
        if on_epoch is not None:
            on_epoch(row)
        if val_xy is not None:
            if row["val_acc"] > best_acc:
                best_acc, stale, history.best_epoch = row["val_acc"], 0, epoch
                best_state = copy.deepcopy(top.state_dict())
            else:
                stale += 1
                if patience is not None and stale >= patience:
                    break
    if best_state is not None:
        top.load_state_dict(best_state)
    model.eval()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, data: Data, batch_size: int = 1024,
             device: str | torch.device | None = None) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on ``data``."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    x, y = as_tensors(data)
    logits = _run(model, x, device, batch_size)
    y = y.to(device)
    return {"loss": F.cross_entropy(logits, y).item(), "acc": (logits.argmax(1) == y).float().mean().item()}


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    """Logits of ``model`` for the images ``x`` (on the CPU)."""
    device = next(model.parameters()).device
    return _run(model, x, device, batch_size).cpu()


@torch.no_grad()
def embed(model: nn.Sequential, data: Data | Tensor, upto: str = "fc2", batch_size: int = 1024) -> Tensor:
    """Features of ``data`` after layer ``upto`` (and its ReLU/pool), flattened, on the CPU."""
    x = data if isinstance(data, Tensor) else as_tensors(data)[0]
    bottom = block_end_slice(model, upto)
    device = next(model.parameters()).device
    return _run(bottom, x, device, batch_size).flatten(1).cpu()
