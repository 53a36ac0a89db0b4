"""Public tests of lesson 02 (pretraining a source model)."""
from __future__ import annotations

import torch

from tlcourse.grading.checks import exercise


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
    assert torch.is_tensor(got), f"return a tensor of predicted digits, got {type(got).__name__}"
    assert got.shape == (3,), f"one prediction per row: expected shape (3,), got {tuple(got.shape)}"
    got = got.long().tolist()
    assert got[1] != classes.index("z") and got[2] != classes.index("a"), (
        "use only the digit columns: a letter's logit must not win")
    assert got == [7, 0, 9], f"expected the digits [7, 0, 9], got {got}" + (
        " (you kept the digit columns in the order they appear in `classes`; take them in the order "
        "'0', '1', ..., '9' so that position d is digit d)" if got == [0, 1, 9] else "")


@exercise("lesson02.probe", hint="make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))"
          ".fit(train_features, train_y).score(test_features, test_y)")
def _probe(probe) -> None:
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=g) * 4
    y_train, y_test = torch.arange(3).repeat(20), torch.arange(3).repeat(30)
    x_train = centres[y_train] + torch.randn(60, 8, generator=g)
    x_test = centres[y_test] + torch.randn(90, 8, generator=g)
    got = probe(x_train.numpy(), y_train.numpy(), x_test.numpy(), y_test.numpy())
    assert isinstance(got, float), f"return the accuracy as a Python float, not {type(got).__name__}"
    assert got >= 0.95, f"three well separated clusters should be classified almost perfectly, got {got:.3f}"
    shuffled = y_train[torch.randperm(60, generator=g)]
    got = probe(x_train.numpy(), shuffled.numpy(), x_test.numpy(), y_test.numpy())
    assert got < 0.8, (f"trained on shuffled labels the probe should be near chance (1/3), got {got:.3f}: "
                       "fit on the training features and labels only, never on the test set")


@exercise("lesson02.parameters-per-layer", hint="Loop over model.named_children(); for each child sum "
          "p.numel() over its parameters (weights and biases) and keep the ones with a non-zero count.")
def _parameters_per_layer(parameters_per_layer) -> None:
    from tlcourse.models import CourseNet

    net = CourseNet(num_classes=10)
    got = parameters_per_layer(net)
    assert isinstance(got, dict), f"return a dict layer name -> count, got {type(got).__name__}"
    want = {"conv1": 160, "conv2": 4640, "conv3": 18496, "fc1": 147712, "fc2": 32896, "fc3": 1290}
    assert list(got) == list(want), (f"expected the layers with parameters, bottom to top: {list(want)}, "
                                     f"got {list(got)}")
    no_bias = {k: v - net.get_submodule(k).bias.numel() for k, v in want.items()}
    assert got != no_bias, "count the biases too, not only the weights"
    assert {k: int(v) for k, v in got.items()} == want, f"expected {want}, got {got}"
