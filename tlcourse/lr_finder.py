"""The learning-rate finder: one short training run whose learning rate grows exponentially.

Start with a tiny rate and multiply it by the same factor after every mini-batch. While the rate is
too small the loss barely moves; then it falls faster and faster; past a good rate it turns and
explodes. We record the loss at every step, smooth it (an exponential moving average, corrected for
its start at zero), and suggest a rate from the curve:

- ``"min/10"`` (the default): a tenth of the rate at the lowest smoothed loss, a step back from the
  edge of divergence;
- ``"steepest"``: where the smoothed loss falls fastest per decade of learning rate (measured over
  half a decade, so that batch-to-batch noise does not decide it): a more cautious choice.

The sweep is a short run of the course's training scaffold (:func:`tlcourse.train.train_epochs`) whose
scheduler multiplies the rate at every step. It trains a **copy** of the trainable part of the model, so
the model itself is unchanged. A frozen bottom is run once (as in :func:`tlcourse.train.fit`) and shared,
not copied.

Its cost is ``num_steps`` training steps whatever the curve shows (the sweep runs them all, then cuts the
curve where the loss diverged): on a small data set that is many epochs of the run it tunes.
``python -m tlcourse.lr_finder --seeds 0 1 2`` stores lesson 04's check of the suggestion over seeds
(``data/results/lesson04-lr-finder.json``).
"""
from __future__ import annotations

import argparse
import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from tlcourse.i18n import tr
from tlcourse.models import layer_names
from tlcourse.runtime import get_device
from tlcourse.train import Data, FeatureCache, as_tensors, frozen_features, make_optimizer, split_frozen, train_epochs

#: The two ways to read a suggestion off the curve.
SUGGESTIONS = ("steepest", "min/10")


@dataclass
class LRFinderResult:
    """What a sweep measured: the rate and loss at every step, and the suggested rate."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    steepest_lr: float
    min_loss_lr: float
    method: str = "min/10"
    num_steps: int = 0  # training steps the sweep ran (its cost), including those past divergence

    @property
    def suggestion(self) -> float:
        """The suggested learning rate for the chosen ``method``."""
        return self.steepest_lr if self.method == "steepest" else self.min_loss_lr / 10

    def plot(self, ax=None, title: str | None = None):
        """Raw and smoothed loss against the learning rate (log scale), with the suggestions marked; ``title``
        defaults to "Learning-rate finder" in the learner's language."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        ax.plot(self.lrs, self.losses, color="0.75", lw=1, label=tr("loss per batch"))
        ax.plot(self.lrs, self.smoothed, color="C0", lw=2, label=tr("smoothed loss"))
        ax.plot([self.min_loss_lr], [min(self.smoothed)], "v", color="k",
                label=tr("minimum: {lr:.1e}", lr=self.min_loss_lr))
        for lr, name, color in [(self.steepest_lr, tr("steepest descent"), "C2"),
                                (self.min_loss_lr / 10, tr("min / 10"), "C3")]:
            ax.axvline(lr, color=color, ls="--", lw=1.2, label=f"{name}: {lr:.1e}")
        top = max(self.smoothed[0], min(self.smoothed)) * 1.6
        ax.set(xscale="log", xlabel=tr("learning rate"), ylabel=tr("training loss"),
               title=tr("Learning-rate finder") if title is None else title,
               ylim=(min(self.losses) * 0.9, top))
        ax.legend(fontsize="small")
        return ax


def _ema(values: list[float], beta: float) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled to 0)."""
    avg, out = 0.0, []
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out


def _steepest(lrs: list[float], smoothed: list[float], decades: float = 0.5) -> float:
    """The rate where the smoothed loss falls fastest per decade of learning rate, before its minimum.

    The slope is a central difference over ``decades`` of learning rate: over single steps it
    would follow the batch-to-batch noise of the first, tiny rates.
    """
    logs = np.log10(lrs)
    end = int(np.argmin(smoothed)) + 1
    w = max(1, round(decades / 2 * (len(lrs) - 1) / max(logs[-1] - logs[0], 1e-12)))
    centre = np.arange(w, end - w)
    if len(centre) == 0:  # the minimum comes too early to measure a slope before it
        return lrs[end - 1] / 10
    loss = np.asarray(smoothed)
    slope = (loss[centre + w] - loss[centre - w]) / (logs[centre + w] - logs[centre - w])
    return lrs[int(centre[np.argmin(slope)])]


def lr_find(model: torch.nn.Module, train: Data, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 100, batch_size: int = 64, optimizer: str = "adam", beta: float = 0.9,
            diverge: float = 4.0, method: str = "min/10", seed: int = 0,
            device: str | torch.device | None = None,
            feature_cache: FeatureCache | dict | None = None) -> LRFinderResult:
    """Sweep the learning rate from ``start_lr`` to ``end_lr`` over ``num_steps`` mini-batches.

    The curve ends where the smoothed loss first exceeds ``diverge`` times its minimum. ``model`` is
    not changed. Use ``result.suggestion`` as ``lr=`` of :func:`tlcourse.train.fit` and
    ``result.plot()`` to see why.
    """
    if method not in SUGGESTIONS:
        raise ValueError(f"unknown method {method!r}; use one of {SUGGESTIONS}")
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if num_steps < 5:
        raise ValueError(f"num_steps must be at least 5 to draw a curve, got {num_steps}")
    device = torch.device(device) if device is not None else get_device()
    x, y = as_tensors(train)
    if len(x) == 0:
        raise ValueError("the training set is empty")
    model.to(device)
    prefix, top = split_frozen(model)
    top = copy.deepcopy(top)  # the frozen bottom is shared and run once; only the top is copied and trained
    x, y = frozen_features(prefix, x, device, feature_cache), y.to(device)
    opt = make_optimizer(top, start_lr, optimizer)
    factor = (end_lr / start_lr) ** (1 / (num_steps - 1))
    sweep = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: factor ** step)
    torch.manual_seed(seed)

    def step(idx: torch.Tensor, p: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        idx = idx.to(device)
        loss = F.cross_entropy(top(x[idx]), y[idx])
        return loss, {"loss": loss.detach()}

    run = train_epochs(top, step, len(x), optimizer=opt, scheduler=sweep, batch_size=batch_size,
                       epochs=math.ceil(num_steps / math.ceil(len(x) / batch_size)), max_steps=num_steps,
                       generator=torch.Generator().manual_seed(seed), log_steps=True, show_progress=False)
    lrs, losses, avg, best = [], [], 0.0, math.inf
    for logged in run.steps:  # the curve up to where the loss diverged
        if not math.isfinite(logged["loss"]):
            break
        lrs.append(logged["lr"])
        losses.append(logged["loss"])
        avg = beta * avg + (1 - beta) * logged["loss"]
        smooth = avg / (1 - beta ** len(losses))  # as in _ema, one step at a time
        best = min(best, smooth)
        if smooth > diverge * best and len(losses) > 3:
            break
    if len(losses) < 3:
        raise RuntimeError(f"the loss diverged right away at lr={start_lr:g}; lower start_lr")
    smoothed = _ema(losses, beta)
    return LRFinderResult(lrs=lrs, losses=losses, smoothed=smoothed,
                          steepest_lr=_steepest(lrs, smoothed),
                          min_loss_lr=lrs[int(np.argmin(smoothed))], method=method, num_steps=len(run.steps))


#: The rates lesson 04 trains with after a sweep: the suggestion, the hand-picked uniform rate of its
#: section 3, and the rate at the loss minimum itself.
TRIED = ("suggestion (min/10)", "hand-picked 1e-3", "loss minimum")


def lesson04_rows(seed: int) -> list[dict]:
    """Lesson 04's check for one seed: sweep the fully trainable network, then fine-tune it at each rate of
    ``TRIED`` (uniform, all at once, lesson 04's data and epochs); one row per rate."""
    from tlcourse import zoo
    from tlcourse.finetune import LESSON04, build_model, fine_tune, lesson04_data

    pretrained = zoo.load_pretrained()
    train, val, _ = lesson04_data(seed)
    model = build_model(pretrained, {n: "trainable" for n in layer_names(pretrained)}, len(train.classes), seed=seed)
    finder = lr_find(model, train, start_lr=1e-6, end_lr=1.0, seed=seed)
    rows = []
    for label, lr in zip(TRIED, (finder.suggestion, 1e-3, finder.min_loss_lr)):
        _, history = fine_tune(pretrained, train, val, plan="all", lrs="uniform", top_lr=lr,
                               epochs=LESSON04["epochs"], seed=seed, show_progress=False)
        rows.append({"seed": seed, "rate": label, "lr": lr, "val acc": history.best["val_acc"],
                     "finder steps": finder.num_steps, "steps per epoch": history.rows[0]["steps"]})
    return rows


def main(argv: list[str] | None = None) -> None:
    """``python -m tlcourse.lr_finder --seeds 0 1 2``: lesson 04's LR finder check over seeds, stored."""
    from tlcourse import stored
    from tlcourse.finetune import LESSON04

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    rows = [row for seed in args.seeds for row in lesson04_rows(seed)]
    command = "python -m tlcourse.lr_finder --seeds " + " ".join(map(str, args.seeds))
    print(stored.save("lesson04-lr-finder", rows, command=command, threads=torch.get_num_threads(), **LESSON04))


if __name__ == "__main__":
    main()
