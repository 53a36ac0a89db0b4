"""Lesson 00's payoff: the pretrained course network against the same network from scratch on handwritten
digits at 5 images per class. Unit tests of the pieces (fast), the claims on the stored 3-seed rows, and a
slow test that re-runs the stored seeds and checks they reproduce.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from tlcourse import payoff, stored, zoo
from tlcourse.models import CourseNet
from tlcourse.train import predict

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def rows():
    return stored.rows(payoff.NAME)


def _by(rows):
    return {(r["seed"], r["network"]): r for r in rows}


def test_benefits_of_a_curve():
    curve = [0.1, 0.1, 0.4, 0.7, 0.8, 0.8, 0.9, 0.9, 0.9]
    b = payoff.benefits(curve, slope_epochs=3, tail=3)
    assert b["start"] == pytest.approx(0.1)
    assert b["slope"] == pytest.approx((0.7 - 0.1) / 3)
    assert b["asymptote"] == pytest.approx(0.9)
    assert b["steepest"] == pytest.approx((0.8 - 0.1) / 3)
    with pytest.raises(ValueError, match="too short"):
        payoff.benefits([0.1, 0.2], slope_epochs=3, tail=3)


def test_keep_classes_keeps_those_outputs_in_order():
    net = CourseNet(5)
    net.classes = list("abcde")
    kept = payoff.keep_classes(net, net.classes, ["d", "a"])
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(predict(kept, x), predict(net, x)[:, [3, 0]])
    assert net.fc3.out_features == 5  # the original is untouched
    with pytest.raises(ValueError, match="no output for"):
        payoff.keep_classes(net, net.classes, ["z"])


def test_plot_draws_both_curves():
    import matplotlib.pyplot as plt

    curves = {"pretrained": [0.6, 0.7, 0.8, 0.85, 0.86, 0.87, 0.87, 0.88],
              "scratch": [0.1, 0.1, 0.2, 0.4, 0.6, 0.7, 0.75, 0.76]}
    ax = payoff.plot(curves)
    assert {line.get_label() for line in ax.get_lines()} >= {"pretrained network", "scratch network"}
    plt.close("all")


def test_stored_rows_cover_the_seeds(rows):
    report = stored.load(payoff.NAME)
    assert report["command"] == payoff.COMMAND
    assert sorted({r["seed"] for r in rows}) == SEEDS
    assert all(len(r["curve"]) == payoff.EPOCHS + 1 for r in rows)


# ---- the claims lesson 00 makes, on the stored rows (every seed) ------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_higher_start(rows, seed):
    by = _by(rows)
    assert by[seed, "scratch"]["start"] < 0.15  # chance is 0.1
    assert by[seed, "pretrained"]["start"] > by[seed, "scratch"]["start"] + 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_steeper_slope_at_the_start_only(rows, seed):
    by = _by(rows)
    assert by[seed, "pretrained"]["slope"] > by[seed, "scratch"]["slope"] + 0.02
    assert by[seed, "scratch"]["steepest"] > by[seed, "pretrained"]["steepest"]  # the qualification printed


@pytest.mark.parametrize("seed", SEEDS)
def test_higher_asymptote_and_ahead_at_every_epoch(rows, seed):
    by = _by(rows)
    assert by[seed, "pretrained"]["asymptote"] > by[seed, "scratch"]["asymptote"] + 0.02
    assert all(p > s for p, s in zip(by[seed, "pretrained"]["curve"], by[seed, "scratch"]["curve"]))


@pytest.mark.slow
def test_stored_rows_reproduce(rows):
    """Re-run every stored seed (about 10 s on a quiet machine) and compare with the stored rows."""
    pretrained, by = zoo.load_pretrained(), _by(rows)
    for seed in SEEDS:
        for row in payoff.rows_of(payoff.run(seed, pretrained=pretrained), seed):
            want = by[seed, row["network"]]
            assert row["curve"] == pytest.approx(want["curve"], abs=0.02), (seed, row["network"])
            for key in ("start", "slope", "asymptote"):
                assert row[key] == pytest.approx(want[key], abs=0.01), (seed, row["network"], key)
