"""Public tests and observations of lesson 03 (the four fine-tuning cases)."""
import random

import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.models import CourseNet


@exercise("lesson03.new_head", hint="surgery.replace_head copies the network with a new last layer; "
          "then freeze everything and unfreeze 'fc3'.")
def _(new_head_model):
    torch.manual_seed(0)
    source = CourseNet(12)
    net = new_head_model(source, 4)
    assert net is not source, "return a copy: the pretrained network must stay as it was"
    assert source.fc3.out_features == 12, "the pretrained network's own head was changed"
    assert net.fc3.out_features == 4, f"the new head should have 4 outputs, it has {net.fc3.out_features}"
    assert torch.equal(net.conv1.weight, source.conv1.weight), "the body's weights should be the pretrained ones"
    trainable = sorted({n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad})
    assert trainable == ["fc3"], f"only fc3 should train, but these layers train: {trainable}"


def _rows():
    rows = []
    for seed, shift in ((0, 0.0), (1, 0.02)):
        for strategy, acc in (("a: new head", 0.70), ("b: early + head", 0.60),
                              ("c: fine-tune all", 0.75), ("d: scratch", 0.40)):
            rows.append({"strategy": strategy, "target": "t", "n_per_class": 5, "seed": seed,
                         "test_acc": acc + shift})
    rows.append({"strategy": "d: scratch", "target": "other", "n_per_class": 5, "seed": 0, "test_acc": 0.99})
    return rows


@exercise("lesson03.transfer_gain", hint="Average test_acc over seeds for each strategy of this target and "
          "size, take the best of a, b and c, subtract d.")
def _(transfer_gain):
    got = transfer_gain(_rows(), "t", 5)
    assert isinstance(got, float), f"return a float, got {type(got).__name__}"
    assert abs(got - 0.35) < 1e-9, (f"for a table where c averages 0.76 and scratch 0.41 the gain is 0.35, "
                                    f"got {got:.4f} (did you average over seeds and ignore other targets?)")


@exercise("lesson03.choose", hint="fc.winners(rows) maps (target, size) to (strategy, accuracy, margin).")
def _(choice, evidence, rows, target, size):
    from tlcourse.four_cases import STRATEGIES, mean_over_seeds

    assert choice in STRATEGIES, f"choice must be one of {STRATEGIES}, got {choice!r}"
    measured = mean_over_seeds(rows)[(target, size, choice)]
    assert abs(float(evidence) - measured) < 1e-6, (
        f"evidence should be the measured mean accuracy of {choice!r} ({measured:.3f}), got {evidence}")


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

@observe("lesson03.new_head")
def _(seed, new_head_model):
    rng = random.Random(seed)
    source_classes, target_classes = rng.randint(10, 60), rng.randint(2, 9)
    torch.manual_seed(seed)
    source = CourseNet(source_classes)
    net = new_head_model(source, target_classes)
    body = [n for n in ("conv1", "conv2", "conv3", "fc1", "fc2")
            if torch.equal(getattr(net, n).weight, getattr(source, n).weight)]
    return {"a copy": net is not source, "source head": source.fc3.out_features, "new head": net.fc3.out_features,
            "pretrained body": body, "trainable": [n for n, p in net.named_parameters() if p.requires_grad],
            "source trainable": [n for n, p in source.named_parameters() if p.requires_grad]}


@observe("lesson03.transfer_gain", atol=1e-9)
def _(seed, transfer_gain):
    from tlcourse.four_cases import STRATEGIES

    rng = random.Random(seed)
    rows = [{"strategy": s, "target": t, "n_per_class": n, "seed": k, "test_acc": rng.random()}
            for t in ("letters", "photos") for n in (5, 50) for k in range(rng.randint(2, 4)) for s in STRATEGIES]
    return {f"{t} x {n}": transfer_gain(rows, t, n) for t in ("letters", "photos") for n in (5, 50)}


# The reference is the instructor's notebook run at the same parameters: the same table of results.
@observe("lesson03.choose", rtol=0, atol=1e-6)
def _(seed, choice, evidence, rows, target, size):
    return {"choice": choice, "evidence": evidence}
