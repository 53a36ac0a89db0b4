"""Public tests and observations of lesson 04 (freeze lab and layer-wise learning rates)."""
import math
import random

import numpy as np
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
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
    assert got is net, "return the model you were given (so calls can be chained), not a copy"
    expected = {n: i > 1 for i, n in enumerate(LAYERS)}
    assert _trainable(net) == expected, ("after freeze_up_to(net, 'conv2') conv1 and conv2 should be frozen "
                                         f"and the rest trainable; trainable now: {_trainable(net)}")
    partly = [n for n in LAYERS if len({p.requires_grad for p in getattr(net, n).parameters()}) > 1]
    assert not partly, f"freeze a layer's weight and its bias together; {partly} are half frozen"
    freeze_up_to(net, "fc2")
    assert _trainable(net) == {n: n == "fc3" for n in LAYERS}, (
        "freezing up to fc2 should leave only fc3 training")
    freeze_up_to(net, "conv1")
    assert _trainable(net) == {n: n != "conv1" for n in LAYERS}, (
        "layers above `layer` must train again, even if an earlier call froze them")


@exercise("lesson04.spread_lrs", hint="Layer i of n gets top_lr / ratio * ratio ** (i / (n - 1)): "
          "the exponent goes from 0 at the bottom to 1 at the top.")
def _(spread_lrs):
    got = spread_lrs(["conv1", "conv2", "fc1"], top_lr=1e-2, ratio=100)
    assert isinstance(got, dict), f"return a dict layer name -> learning rate, not {type(got).__name__}"
    assert list(got) == ["conv1", "conv2", "fc1"], f"keep the layers' order as keys, got {list(got)}"
    for name, want in [("conv1", 1e-4), ("conv2", 1e-3), ("fc1", 1e-2)]:
        assert math.isclose(got[name], want, rel_tol=1e-6), (
            "with top_lr=1e-2 and ratio=100 over 3 layers expect 1e-4, 1e-3, 1e-2; "
            f"{name} got {got[name]:.3g}")
    got = spread_lrs(["a", "b", "c", "d", "e"], top_lr=1e-3, ratio=16)
    steps = [got[b] / got[a] for a, b in zip("abcd", "bcde")]
    assert all(math.isclose(s, 2.0, rel_tol=1e-6) for s in steps), (
        f"neighbouring layers should differ by the same factor (here 16 ** (1/4) = 2), got {steps}")


@exercise("lesson04.read_lr_finder", hint="Look where the smoothed loss falls steeply, left of its minimum: "
          "the minimum itself is already at the edge of divergence.")
def _(chosen_lr, finder):
    assert isinstance(chosen_lr, (int, float)) and not isinstance(chosen_lr, bool), (
        f"chosen_lr should be a number such as 3e-3, not {type(chosen_lr).__name__}")
    assert chosen_lr > 0, "a learning rate is positive"
    assert chosen_lr < finder.min_loss_lr, (
        f"{chosen_lr:.1e} is at or past the loss minimum ({finder.min_loss_lr:.1e}): "
        "training there is unstable")
    assert chosen_lr >= finder.steepest_lr / 30, (
        f"{chosen_lr:.1e} is far left of where the loss falls fastest ({finder.steepest_lr:.1e}): "
        "training would crawl")


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


@observe("lesson04.spread_lrs", rtol=1e-6)
def _(seed, spread_lrs):
    rng = random.Random(seed)
    names = [f"layer{i}" for i in range(rng.randint(3, 9))]
    top_lr, ratio = 10 ** rng.uniform(-4, -1), 10 ** rng.uniform(0.5, 3)
    return {"random": spread_lrs(names, top_lr, ratio), "one layer": spread_lrs(["fc3"], top_lr, ratio),
            "ratio 1": spread_lrs(names[:3], top_lr, 1)}


def _lr_rule(mine: dict, ref: dict) -> str | None:
    lr = mine["chosen_lr"]
    if type(lr) not in (int, float) or not lr > 0:
        return "chosen_lr should be a positive number such as 3e-3"
    if not ref["lrs"][0] < lr < ref["min_loss_lr"]:
        return "your learning rate is outside the range where the loss still falls before its minimum"
    if lr < ref["steepest_lr"] / 30:
        return "your learning rate is far left of where the loss falls fastest: training would crawl"
    at = min(int(np.searchsorted(ref["lrs"], lr)), len(ref["smoothed"]) - 1)
    if not ref["smoothed"][at] < ref["smoothed"][0]:
        return "the smoothed loss does not fall at your learning rate"
    return None


# The reference is the instructor's notebook run at the same parameters: the same finder curve.
@observe("lesson04.read_lr_finder", rule=_lr_rule)
def _(seed, chosen_lr, finder):
    return {"chosen_lr": chosen_lr, "lrs": list(finder.lrs), "smoothed": list(finder.smoothed),
            "min_loss_lr": finder.min_loss_lr, "steepest_lr": finder.steepest_lr}
