"""Lesson 03: the four strategies are built right, and the lesson's claims hold over 3 seeds."""
from __future__ import annotations

import pytest
import torch

from tlcourse import four_cases as fc
from tlcourse.models import CourseNet


@pytest.fixture(scope="module")
def pretrained():
    from tlcourse import zoo

    return zoo.load_pretrained()


def trainable(net):
    return sorted({n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad})


def test_each_strategy_trains_what_it_says(pretrained):
    a, b, c, d = (fc.build(s, pretrained, 5) for s in fc.STRATEGIES)
    assert trainable(a) == ["fc3"] and torch.equal(a.conv1.weight, pretrained.conv1.weight)
    assert trainable(b) == ["head1", "head2"] and not hasattr(b, "conv3")
    assert trainable(c) == sorted(["conv1", "conv2", "conv3", "fc1", "fc2", "fc3"])
    assert torch.equal(c.fc2.weight, pretrained.fc2.weight)
    assert not torch.equal(d.conv1.weight, pretrained.conv1.weight) and isinstance(d, CourseNet)
    for net in (a, b, c, d):
        assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 5)
    assert pretrained.fc3.out_features == len(pretrained.classes)  # untouched
    with pytest.raises(ValueError, match="unknown strategy"):
        fc.build("e: magic", pretrained, 5)


def test_winners_and_steps_to_reach_read_the_rows():
    rows = [{"strategy": s, "target": "t", "n_per_class": 5, "seed": k, "test_acc": acc + k / 100}
            for k in range(2) for s, acc in zip(fc.STRATEGIES, (0.5, 0.7, 0.6, 0.2))]
    strategy, acc, margin = fc.winners(rows)[("t", 5)]
    assert strategy == "b: early + head" and acc == pytest.approx(0.705) and margin == pytest.approx(0.1)
    assert fc.steps_to_reach([(10, 0.3), (20, 0.8), (30, 0.9)], 0.75) == 20
    assert fc.steps_to_reach([(10, 0.3)], 0.75) is None


@pytest.mark.slow
def test_claims_of_lesson_03_over_three_seeds():
    """Small, similar target: transfer wins by >= 15 points; it gains less on the different target."""
    rows = fc.compare(["letters", "photos"], [5], seeds=[0, 1, 2], steps=120, test_per_class=50,
                      show_progress=False)
    means = fc.mean_over_seeds(rows)

    def gain(target):
        return max(means[(target, 5, s)] for s in fc.STRATEGIES[:3]) - means[(target, 5, "d: scratch")]

    assert gain("letters") >= 0.15, fc.table(rows)
    assert gain("letters") > gain("photos"), fc.table(rows)
