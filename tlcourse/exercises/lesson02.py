"""Public tests and observations of lesson 02 (pretraining a source model)."""
from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn as nn

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import Message, tr


@exercise("lesson02.digit-predictions", hint="Find the column of each digit by name "
          "(classes.index(str(d)) for d in range(10)), keep only those columns of the logits, and take "
          "the argmax over them: it is then already a digit 0..9.")
def _digit_predictions(digit_predictions) -> None:
    classes = ["a", "7", "b", "0", "1", "2", "3", "4", "5", "6", "8", "9", "z"]
    logits = torch.full((3, len(classes)), -5.0)
    logits[0, classes.index("7")] = 2.0
    logits[1, classes.index("0")] = 1.0
    logits[1, classes.index("z")] = 9.0   # a non-digit wins overall, but it is not a digit
    logits[2, classes.index("9")] = 0.5
    logits[2, classes.index("a")] = 3.0
    got = digit_predictions(logits, classes)
    assert torch.is_tensor(got), tr("return a tensor of predicted digits, got {type}", type=type(got).__name__)
    assert got.shape == (3,), tr("one prediction per row: expected shape (3,), got {shape}", shape=tuple(got.shape))
    got = got.long().tolist()
    assert got[1] != classes.index("z") and got[2] != classes.index("a"), (
        tr("use only the digit columns: a letter's logit must not win"))
    assert got == [7, 0, 9], tr("expected the digits [7, 0, 9], got {got}", got=got) + (
        tr(" (you kept the digit columns in the order they appear in `classes`; take them in the order "
           "'0', '1', ..., '9' so that position d is digit d)") if got == [0, 1, 9] else "")


@exercise("lesson02.probe", hint="A probe scored on the images it was fitted to measures memorisation: with 128 "
          "features and a few hundred images even random features are separable. Fit on the training features, "
          "score on the test features: clf.fit(train_features, train_y).score(test_features, test_y)")
def _probe(probe) -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(30, 50)), rng.integers(0, 3, 30), rng.normal(size=(300, 50)), rng.integers(0, 3, 300)
    got = probe(*noise)
    assert isinstance(got, float), tr("return the accuracy as a Python float, not {type}", type=type(got).__name__)
    assert got < 0.6, tr("fitted on pure noise (random features, random labels) your probe scores {got:.2f}; "
                         "on new images it can only guess (about 1/3). Is it scored on the images it was fitted to?",
                         got=got)
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=g) * 4
    y_train, y_test = torch.arange(3).repeat(20), torch.arange(3).repeat(30)
    x_train = centres[y_train] + torch.randn(60, 8, generator=g)
    x_test = centres[y_test] + torch.randn(90, 8, generator=g)
    got = probe(x_train.numpy(), y_train.numpy(), x_test.numpy(), y_test.numpy())
    assert isinstance(got, float), tr("return the accuracy as a Python float, not {type}", type=type(got).__name__)
    assert got >= 0.95, tr("three well separated clusters should be classified almost perfectly, got {got:.3f}",
                           got=got)
    shuffled = y_train[torch.randperm(60, generator=g)]
    got = probe(x_train.numpy(), shuffled.numpy(), x_test.numpy(), y_test.numpy())
    assert got < 0.8, tr("trained on shuffled labels the probe should be near chance (1/3), got {got:.3f}: "
                         "fit on the training features and labels only, never on the test set", got=got)


@exercise("lesson02.parameters-per-layer", hint="Loop over model.named_children(); for each child sum "
          "p.numel() over its parameters (weights and biases) and keep the ones with a non-zero count.")
def _parameters_per_layer(parameters_per_layer) -> None:
    from tlcourse.models import CourseNet

    net = CourseNet(num_classes=10)
    got = parameters_per_layer(net)
    assert isinstance(got, dict), tr("return a dict layer name -> count, got {type}", type=type(got).__name__)
    want = {"conv1": 160, "conv2": 4640, "conv3": 18496, "fc1": 147712, "fc2": 32896, "fc3": 1290}
    assert list(got) == list(want), tr("expected the layers with parameters, bottom to top: {want}, got {got}",
                                       want=list(want), got=list(got))
    no_bias = {k: v - net.get_submodule(k).bias.numel() for k, v in want.items()}
    assert got != no_bias, tr("count the biases too, not only the weights")
    assert {k: int(v) for k, v in got.items()} == want, tr("expected {want}, got {got}", want=want, got=got)


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

@observe("lesson02.digit-predictions")
def _(seed, digit_predictions):
    rng = random.Random(seed)
    classes = [str(d) for d in range(10)] + rng.sample("ABCDEFGHIJKLMNOPQRSTUVWXYZ", rng.randint(1, 20))
    rng.shuffle(classes)
    logits = torch.randn(25, len(classes), generator=torch.Generator().manual_seed(seed))
    return {"digits": digit_predictions(logits, classes)}


def _probe_rule(mine: dict, ref: dict) -> Message | None:
    if mine["type"] != "float":
        return Message("return the accuracy as a Python float")
    if abs(mine["clusters"] - ref["clusters"]) > 0.05:
        return Message("your probe's accuracy on the grader's features is far from a standardised logistic "
                       "regression's")
    if not mine["relabelled training set"] < 0.5:
        return Message("trained on wrong labels your probe should score near 0 on the test set: fit on the "
                       "training set, score on the test set")
    return None


def _clusters(rng: np.random.Generator, k: int, d: int, spread: float):
    """Gaussian clusters: 40 training and 80 test points per class, float32 features."""
    centres = rng.normal(0, spread, (k, d))
    y_train, y_test = np.repeat(np.arange(k), 40), np.repeat(np.arange(k), 80)
    x_train = (centres[y_train] + rng.normal(0, 1, (len(y_train), d))).astype(np.float32)
    x_test = (centres[y_test] + rng.normal(0, 1, (len(y_test), d))).astype(np.float32)
    return x_train, y_train, x_test, y_test


@observe("lesson02.probe", rule=_probe_rule)
def _(seed, probe):
    rng = np.random.default_rng(seed)
    got = probe(*_clusters(rng, int(rng.integers(3, 6)), 8, rng.uniform(0.5, 1.2)))  # overlapping: accuracy varies
    x_train, y_train, x_test, y_test = _clusters(rng, 4, 8, 3.0)  # separated, but every training label shifted
    return {"clusters": got, "type": type(got).__name__,
            "relabelled training set": probe(x_train, (y_train + 1) % 4, x_test, y_test)}


@observe("lesson02.parameters-per-layer")
def _(seed, parameters_per_layer):
    from tlcourse.models import CourseNet

    rng = random.Random(seed)
    widths = [rng.randint(2, 30) for _ in range(4)]
    toy = nn.Sequential()
    toy.add_module("inp", nn.Linear(widths[0], widths[1]))
    toy.add_module("act", nn.ReLU())
    toy.add_module("mid", nn.Linear(widths[1], widths[2], bias=False))
    toy.add_module("norm", nn.BatchNorm1d(widths[2]))
    toy.add_module("out", nn.Linear(widths[2], widths[3]))
    return {"course net": parameters_per_layer(CourseNet(num_classes=rng.randint(2, 60))),
            "small net": parameters_per_layer(toy)}
