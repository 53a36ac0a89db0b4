"""One training scaffold for the whole course: ``fit``, ``evaluate``, ``predict`` and ``embed``.

Every training run in the course is the same plain PyTorch loop (shuffle, forward, loss, backward,
step), written once in :func:`train_epochs`. What differs between runs is only the *step*: what a
mini-batch's loss is. ``fit`` passes a cross-entropy step; domain adaptation
(:func:`tlcourse.adapt.adapt`) passes a step that adds an alignment term; gradual unfreezing calls
``fit`` once per stage. The scaffold adds what a lesson needs around the loop: a :class:`History` of
every epoch, early stopping, and restoring the best epoch's weights (:class:`BestWeights`).

**Cached frozen features.** If the bottom of an ``nn.Sequential`` is frozen, its output never changes
during training, so ``fit`` runs that prefix once over the data and trains only the top on the stored
features. A :class:`FeatureCache` kept between calls remembers those features by what decides them
(the layers, their weights and the images), so the next run with the same frozen layers skips them.
That is what makes "freeze everything and train a new head" take seconds instead of minutes.
"""
from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tlcourse.i18n import tr
from tlcourse.models import block_end_slice
from tlcourse.runtime import get_device, progress

Data = Any  # a DomainData (anything with .x and .y tensors) or an (x, y) tuple of tensors
#: A training step: (indices of the batch, training progress p in [0, 1)) -> (loss to minimise,
#: statistics of the batch to log: scalar means, detached).
Step = Callable[[Tensor, float], "tuple[Tensor, dict[str, Tensor | float]]"]

# Modules that behave differently in train and eval mode: a prefix containing one is not cached.
_MODE_DEPENDENT = (nn.Dropout, nn.modules.batchnorm._BatchNorm)


def as_tensors(data: Data) -> tuple[Tensor, Tensor]:
    """``(x, y)`` from a DomainData-like object or a tuple."""
    if isinstance(data, (tuple, list)):
        x, y = data
    else:
        x, y = data.x, data.y
    if len(x) != len(y):
        raise ValueError(tr("x has {x} rows but y has {y}", x=len(x), y=len(y)))
    return x, y


def images(data: Data | Tensor) -> Tensor:
    """Only the images of ``data`` (a tensor, an ``(x, y)`` tuple or a DomainData): labels are not read."""
    if torch.is_tensor(data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0]
    if hasattr(data, "x"):
        return data.x
    raise TypeError(tr("expected a DomainData, an (x, y) tuple or a tensor, got {type}", type=type(data).__name__))


@dataclass
class History:
    """What happened in a training run: one dict per epoch, plus the epoch whose weights were kept."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    cached_layers: int = 0  # how many leading modules ran once instead of every step
    #: one dict per training step (only when the run was asked to log steps)
    steps: list[dict[str, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, float]]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, float]:
        return self.rows[i]

    def column(self, name: str) -> list[float]:
        """One quantity over the epochs, e.g. ``history.column("val_acc")``."""
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
        ax.plot(self.column("epoch"), self.column(key), marker="o", label=label or tr(key))
        ax.set_xlabel(tr("epoch"))
        ax.set_ylabel(tr(key.replace("_", " ")))
        return ax


class BestWeights:
    """A copy of ``module``'s weights from its best-scoring epoch so far, to restore at the end.

    ``later_ties``: on equal scores keep the later epoch (its features have trained longer)."""

    def __init__(self, module: nn.Module, later_ties: bool = False):
        self.module, self.later_ties = module, later_ties
        self.score, self.epoch, self.state = -math.inf, None, None

    def offer(self, score: float, epoch: int) -> bool:
        """Keep the weights if ``score`` beats the best so far; say whether it did."""
        if score > self.score or (self.later_ties and score == self.score):
            self.score, self.epoch, self.state = score, epoch, copy.deepcopy(self.module.state_dict())
            return True
        return False

    def restore(self) -> None:
        if self.state is not None:
            self.module.load_state_dict(self.state)


def train_epochs(model: nn.Module, step: Step, n: int, *, optimizer: torch.optim.Optimizer, epochs: int,
                 batch_size: int, generator: torch.Generator, scheduler=None,
                 validate: Callable[[], dict[str, float]] | None = None, select: str | None = None,
                 later_ties: bool = False, patience: int | None = None,
                 on_epoch: Callable[[dict[str, float]], None] | None = None, log_steps: bool = False,
                 max_steps: int | None = None, desc: str = "epochs", show_progress: bool = True) -> History:
    """The loop every training run shares: ``epochs`` passes over ``n`` examples in shuffled batches.

    Each batch calls ``step(indices, p)`` (p = the fraction of training done), then backward and an
    optimizer step. The batch statistics the step returns are averaged over the epoch and read from the
    device once per epoch (``.item()`` synchronises). After each epoch ``validate()`` adds its numbers to
    the row; with ``select`` (a row key), the weights of the epoch with the highest value are restored
    at the end and ``patience`` epochs without improvement stop early. ``log_steps`` keeps every
    step's statistics in ``History.steps``; ``max_steps`` ends training after that many steps.
    """
    history, keep, stale, steps = History(), BestWeights(model, later_ties), 0, 0
    total = min(epochs * math.ceil(n / batch_size), max_steps or math.inf)
    bar = progress(range(1, epochs + 1), desc=desc, enabled=show_progress)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        sums: dict[str, Tensor | float] = {}
        logged: list[dict[str, Tensor | float]] = []
        seen = 0
        for idx in torch.randperm(n, generator=generator).split(batch_size):
            if steps == total:
                break
            lr = optimizer.param_groups[0]["lr"]
            loss, stats = step(idx, steps / total)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + value * len(idx)
            seen += len(idx)
            if log_steps:
                logged.append({"p": steps / total, "lr": lr, **stats})
            steps += 1
        history.steps += [{k: float(v) for k, v in s.items()} for s in logged]
        row = {"epoch": epoch, "steps": steps, "lr": lr, **{k: float(v) / seen for k, v in sums.items()}}
        row.update(validate() if validate is not None else {})
        row["seconds"] = time.perf_counter() - start
        history.rows.append(row)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix({k: round(v, 3) for k, v in row.items() if k.endswith(("acc", "loss"))})
        if on_epoch is not None:
            on_epoch(row)
        if select is not None:
            stale = 0 if keep.offer(row[select], epoch) else stale + 1
            if patience is not None and stale >= patience:
                break
        if steps == total:
            break
    keep.restore()
    history.best_epoch = keep.epoch
    model.eval()
    return history


# ---------------------------------------------------------------------------- frozen features
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
def run_batched(module: nn.Module, x: Tensor, device: torch.device | None = None,
                batch_size: int = 1024) -> Tensor:
    """``module(x)`` in eval mode, in batches, on ``device`` (default: the module's); a tensor there."""
    device = device if device is not None else next(module.parameters(), torch.empty(0)).device
    was_training = module.training
    module.eval()
    out = torch.cat([module(x[i:i + batch_size].to(device)) for i in range(0, len(x), batch_size)])
    module.train(was_training)
    return out


def checksum(tensors: Iterable[Tensor]) -> str:
    """A short fingerprint of the tensors' shapes, types and values: equal tensors, equal checksums."""
    h = hashlib.blake2b(digest_size=12)
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class FeatureCache:
    """Outputs of frozen layers, remembered by what decides them: the layers, their weights and the images.

    ``cache(prefix, x, device)`` returns ``prefix(x)`` and keeps it under the key
    ``(repr(prefix), checksum of its weights, checksum of x)``: the same layers with the same weights
    on the same images give the same features, and changing any weight or image changes the key, so a
    stale entry is never returned. Keep one cache alive between ``fit`` calls (FreezeLab keeps one per
    data size) and a retrain with the same frozen layers skips them. ``store`` lets a plain dict hold
    the entries. Checksumming costs one pass over the weights and images, far less than a forward pass.
    """

    def __init__(self, store: dict | None = None):
        self.store = {} if store is None else store

    @staticmethod
    def key(prefix: nn.Module, x: Tensor) -> tuple[str, str, str]:
        return repr(prefix), checksum(prefix.state_dict().values()), checksum([x])

    def __call__(self, prefix: nn.Module, x: Tensor, device: torch.device) -> Tensor:
        key = self.key(prefix, x)
        if key not in self.store:
            self.store[key] = run_batched(prefix, x, device)
        return self.store[key].to(device)

    def __len__(self) -> int:
        return len(self.store)


def split_frozen(model: nn.Module, cache_frozen: bool = True) -> tuple[nn.Sequential | None, nn.Module]:
    """``(frozen prefix, trainable top)`` of a Sequential; ``(None, model)`` if nothing can be cached."""
    k = frozen_prefix_length(model) if cache_frozen else 0
    if isinstance(model, nn.Sequential) and k == len(model):
        raise ValueError(tr("nothing to train: every layer is frozen"))
    return (model[:k], model[k:]) if k else (None, model)


def frozen_features(prefix: nn.Module | None, x: Tensor, device: torch.device,
                    cache: FeatureCache | dict | None = None) -> Tensor:
    """``prefix(x)`` on ``device``, through ``cache`` if one is given (``x`` itself without a prefix)."""
    if prefix is None:
        return x.to(device)
    if cache is None:
        return run_batched(prefix, x, device)
    return (cache if isinstance(cache, FeatureCache) else FeatureCache(cache))(prefix, x, device)


# ---------------------------------------------------------------------------- fit
def _make_schedule(opt: torch.optim.Optimizer, schedule: str, total_steps: int):
    """A per-step learning-rate multiplier: constant, or one cycle (linear warm-up, cosine decay)."""
    if schedule == "constant":
        factor = lambda step: 1.0  # noqa: E731
    elif schedule == "onecycle":
        warm = max(1, int(0.2 * total_steps))
        factor = lambda step: (step + 1) / warm if step < warm else \
            0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm)))  # noqa: E731
    else:
        raise ValueError(tr("unknown schedule {schedule!r}; use 'constant' or 'onecycle'", schedule=schedule))
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def make_optimizer(model: nn.Module, lr: float | list[dict], optimizer: str = "adam",
                   weight_decay: float = 0.0, momentum: float = 0.9) -> torch.optim.Optimizer:
    """Adam or SGD (with ``momentum``) over the trainable parameters of ``model``.

    ``lr`` is one rate, or parameter groups each with its own ``lr`` (e.g. from
    :func:`tlcourse.surgery.param_groups`); frozen parameters are left out.
    """
    if isinstance(lr, (int, float)):
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": float(lr)}]
    else:
        groups = [dict(g, params=[p for p in g["params"] if p.requires_grad]) for g in lr]
        groups = [g for g in groups if g["params"]]
    if not groups or not groups[0]["params"]:
        raise ValueError(tr("nothing to train: every parameter is frozen (requires_grad=False)"))
    if optimizer == "adam":
        return torch.optim.Adam(groups, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(groups, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(tr("unknown optimizer {optimizer!r}; use 'adam' or 'sgd'", optimizer=optimizer))


def fit(model: nn.Module, train: Data, val: Data | None = None, *, epochs: int = 5,
        lr: float | list[dict] = 1e-3, batch_size: int = 64, optimizer: str = "adam",
        schedule: str = "constant",
        weight_decay: float = 0.0, patience: int | None = None, seed: int = 0,
        device: str | torch.device | None = None, cache_frozen: bool = True,
        augment: Callable[[Tensor], Tensor] | None = None, show_progress: bool = True,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
        feature_cache: FeatureCache | dict | None = None) -> History:
    """Train ``model`` on ``train`` with cross-entropy; return its :class:`History`.

    - ``lr``: one learning rate, or parameter groups with their own ``lr`` (layer-wise rates).
    - ``schedule``: ``"constant"``, or ``"onecycle"``: warm up over the first 20% of the steps,
      then a cosine decay to zero (fastai's default; it trains fast at a high peak rate).
    - ``val``: if given, accuracy is measured after every epoch, the best weights are restored at
      the end, and ``patience`` epochs without improvement stop training early.
    - ``cache_frozen``: run a frozen bottom of the network once instead of every step (ignored with
      ``augment``, which changes the inputs every step).
    - ``on_epoch``: called with each epoch's row (live plots in widgets use it).
    - ``feature_cache``: a :class:`FeatureCache` kept between calls, so the next ``fit`` with the same
      frozen layers on the same images reuses their outputs.
    """
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    x, y = as_tensors(train)
    if len(x) == 0:
        raise ValueError(tr("the training set is empty"))
    prefix, top = split_frozen(model, cache_frozen and augment is None)
    x, y = frozen_features(prefix, x, device, feature_cache), y.to(device)
    if val is not None:
        vx, vy = as_tensors(val)
        val_xy = (frozen_features(prefix, vx, device, feature_cache), vy.to(device))

    opt = make_optimizer(top, lr, optimizer, weight_decay)
    scheduler = _make_schedule(opt, schedule, epochs * math.ceil(len(x) / batch_size))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout masks

    def step(idx: Tensor, p: float) -> tuple[Tensor, dict[str, Tensor]]:
        idx = idx.to(device)
        xb, yb = x[idx], y[idx]
        logits = top(augment(xb) if augment is not None else xb)
        loss = F.cross_entropy(logits, yb)
        return loss, {"train_loss": loss.detach(), "train_acc": (logits.argmax(1) == yb).float().mean()}

    history = train_epochs(top, step, len(x), optimizer=opt, scheduler=scheduler, epochs=epochs,
                           batch_size=batch_size, generator=generator,
                           validate=(lambda: {f"val_{k}": v for k, v in evaluate(top, val_xy, device=device).items()})
                           if val is not None else None,
                           select="val_acc" if val is not None else None, patience=patience,
                           on_epoch=on_epoch, show_progress=show_progress)
    history.cached_layers = len(prefix) if prefix is not None else 0
    model.eval()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, data: Data, batch_size: int = 1024,
             device: str | torch.device | None = None) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on ``data``."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    x, y = as_tensors(data)
    logits = run_batched(model, x, device, batch_size)
    y = y.to(device)
    return {"loss": F.cross_entropy(logits, y).item(), "acc": (logits.argmax(1) == y).float().mean().item()}


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    """Logits of ``model`` for the images ``x`` (on the CPU)."""
    return run_batched(model, x, batch_size=batch_size).cpu()


@torch.no_grad()
def embed(model: nn.Module, data: Data | Tensor, upto: str | None = "fc2", batch_size: int = 1024) -> Tensor:
    """Features of ``data`` after layer ``upto`` (and its ReLU/pool), flattened, on the CPU.

    The one way the course takes "features up to a layer". ``upto=None`` runs the whole ``model``
    (e.g. a feature extractor such as ``AdaptNet.features``).
    """
    bottom = block_end_slice(model, upto) if upto is not None else model
    return run_batched(bottom, images(data), batch_size=batch_size).flatten(1).cpu()
