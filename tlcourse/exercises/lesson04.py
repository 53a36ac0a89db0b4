"""Public tests and observations of lesson 04 (freeze lab and layer-wise learning rates)."""
import random

import numpy as np
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import Message, tr
from tlcourse.models import LAYERS, CourseNet


def _trainable(model) -> dict[str, bool]:
    return {n: all(p.requires_grad for p in getattr(model, n).parameters()) for n in LAYERS}


@exercise("lesson04.freeze_up_to", hint="Walk over the weighted layers bottom to top "
          "(tlcourse.models.layer_names); set requires_grad=False on every parameter up to and including "
          "`layer`, and True above it.")
def _(freeze_up_to):
    torch.manual_seed(0)
    net = CourseNet(5)
    got = freeze_up_to(net, "conv2")
    assert got is net, tr("return the model you were given (so calls can be chained), not a copy")
    expected = {n: i > 1 for i, n in enumerate(LAYERS)}
    assert _trainable(net) == expected, tr("after freeze_up_to(net, 'conv2') conv1 and conv2 should be frozen "
                                           "and the rest trainable; trainable now: {trainable}",
                                           trainable=_trainable(net))
    partly = [n for n in LAYERS if len({p.requires_grad for p in getattr(net, n).parameters()}) > 1]
    assert not partly, tr("freeze a layer's weight and its bias together; {partly} are half frozen", partly=partly)
    freeze_up_to(net, "fc2")
    assert _trainable(net) == {n: n == "fc3" for n in LAYERS}, (
        tr("freezing up to fc2 should leave only fc3 training"))
    freeze_up_to(net, "conv1")
    assert _trainable(net) == {n: n != "conv1" for n in LAYERS}, (
        tr("layers above `layer` must train again, even if an earlier call froze them"))


def _moved_after_freezing(freeze, names, *, seed: int, optimizer: str = "sgd", weight_decay: float = 5e-4,
                          before_steps: int = 2, after_steps: int = 3):
    """Train a small CourseNet on random images a few steps (the optimizer holds every parameter and the loop
    keeps zeroed gradients), call ``freeze(model, names)``, train on: (returned model?, which layers moved after)."""
    from torch.nn import functional as F

    torch.manual_seed(seed)
    net = CourseNet(4)
    x, y = torch.rand(48, 1, 28, 28), torch.randint(0, 4, (48,))
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=weight_decay or 1e-2)
    g = torch.Generator().manual_seed(seed)

    def steps(k: int) -> None:
        for _ in range(k):
            idx = torch.randint(len(x), (16,), generator=g)
            opt.zero_grad(set_to_none=False)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()

    steps(before_steps)
    returned = freeze(net, list(names)) is net
    before = [p.detach().clone() for p in net.parameters()]
    steps(after_steps)
    moved = {n: any(not torch.equal(p, b) for (full, p), b in zip(net.named_parameters(), before)
                    if full.split(".")[0] == n) for n in LAYERS}
    return returned, moved


@exercise("lesson04.freeze_mid_training", hint="requires_grad=False stops new gradients, but the optimizer still "
          "holds the parameter and the gradient tensor left by earlier steps (zeroed, not None): momentum and "
          "weight decay keep updating it. PyTorch's optimizers skip a parameter whose .grad is None.")
def _(freeze_layers):
    returned, moved = _moved_after_freezing(freeze_layers, ["conv1", "conv2"], seed=0)
    assert returned, tr("return the model you were given, not a copy")
    still = [n for n in ("conv1", "conv2") if moved[n]]
    assert not still, tr("{still} still move after freeze_layers(model, ['conv1', 'conv2']) under SGD with momentum "
                         "and weight decay: the optimizer still updates them", still=still)
    stopped = [n for n in LAYERS[2:] if not moved[n]]
    assert not stopped, tr("only conv1 and conv2 should stop; {stopped} stopped training too", stopped=stopped)
    _, moved = _moved_after_freezing(freeze_layers, ["conv3", "fc1"], seed=1, optimizer="adamw")
    assert not moved["conv3"] and not moved["fc1"], tr(
        "under AdamW (decoupled weight decay) the frozen layers move")


@exercise("lesson04.read_lr_finder", hint="Look where the smoothed loss falls steeply, left of its minimum: "
          "the minimum itself is already at the edge of divergence.")
def _(chosen_lr, finder):
    assert isinstance(chosen_lr, (int, float)) and not isinstance(chosen_lr, bool), (
        tr("chosen_lr should be a number such as 3e-3, not {type}", type=type(chosen_lr).__name__))
    assert chosen_lr > 0, tr("a learning rate is positive")
    assert chosen_lr < finder.min_loss_lr, (
        tr("{lr:.1e} is at or past the loss minimum ({minimum:.1e}): training there is unstable",
           lr=chosen_lr, minimum=finder.min_loss_lr))
    assert chosen_lr >= finder.steepest_lr / 30, (
        tr("{lr:.1e} is far left of where the loss falls fastest ({steepest:.1e}): training would crawl",
           lr=chosen_lr, steepest=finder.steepest_lr))


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

def _requires_grad(model) -> list[bool]:
    return [p.requires_grad for p in model.parameters()]


@observe("lesson04.freeze_up_to")
def _(seed, freeze_up_to):
    from tlcourse.finetune import build_model

    rng = random.Random(seed)
    torch.manual_seed(seed)
    net = CourseNet(5)
    first, second = rng.sample(LAYERS, 2)
    returned = freeze_up_to(net, first) is net
    after_first = _requires_grad(net)
    freeze_up_to(net, second)
    cut = build_model(net, {n: "trainable" if i < 3 else "removed" for i, n in enumerate(LAYERS)}, 5)
    freeze_up_to(cut, rng.choice(["conv2", "conv3", "head1"]))
    try:
        freeze_up_to(cut, "no-such-layer")
        unknown = "no error"
    except Exception as err:
        unknown = type(err).__name__
    return {"returns the model": returned, "after one call": after_first, "after a second call": _requires_grad(net),
            "a model with a new head": _requires_grad(cut), "an unknown layer": unknown}


@observe("lesson04.freeze_mid_training")
def _(seed, freeze_layers):
    rng = random.Random(seed)
    out = {}
    for case, optimizer in enumerate(("sgd", "adamw", "sgd")):
        names = sorted(rng.sample(LAYERS, rng.randint(1, 4)), key=LAYERS.index)
        returned, moved = _moved_after_freezing(freeze_layers, names, seed=rng.randrange(10**6), optimizer=optimizer,
                                                weight_decay=0.0 if case == 2 else 5e-4)
        out[f"{optimizer} #{case}"] = {"froze": names, "returns the model": returned, "moved after": moved}
    return out


def _lr_rule(mine: dict, ref: dict) -> Message | None:
    lr = mine["chosen_lr"]
    if type(lr) not in (int, float) or not lr > 0:
        return Message("chosen_lr should be a positive number such as 3e-3")
    if not ref["lrs"][0] < lr < ref["min_loss_lr"]:
        return Message("your learning rate is outside the range where the loss still falls before its "
                       "minimum")
    if lr < ref["steepest_lr"] / 30:
        return Message("your learning rate is far left of where the loss falls fastest: "
                       "training would crawl")
    at = min(int(np.searchsorted(ref["lrs"], lr)), len(ref["smoothed"]) - 1)
    if not ref["smoothed"][at] < ref["smoothed"][0]:
        return Message("the smoothed loss does not fall at your learning rate")
    return None


# The reference is the instructor's notebook run at the same parameters: the same finder curve.
@observe("lesson04.read_lr_finder", rule=_lr_rule)
def _(seed, chosen_lr, finder):
    return {"chosen_lr": chosen_lr, "lrs": list(finder.lrs), "smoothed": list(finder.smoothed),
            "min_loss_lr": finder.min_loss_lr, "steepest_lr": finder.steepest_lr}
