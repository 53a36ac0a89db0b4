"""Every claim lesson 08 makes, over seeds 0, 1 and 2, at the notebook's own settings (seed 0 = its printout).

Measured at 6 epochs, 10 images per class (shifted test accuracy, seeds 0 / 1 / 2): linear probe .82 / .83 / .735,
fine-tune all .605 / .845 / .58, LP-FT .69 / .67 / .67, LoRA .885 / .78 / .795. Full fine-tunes on 100 images vary a
lot between seeds, so the comparisons with fine-tune all are claimed on the 3-seed mean, not per seed.
"""
from __future__ import annotations

from functools import lru_cache

import pytest

from tlcourse import backbone, domains, zoo
from tlcourse import backbone_transfer as bt

SEEDS = (0, 1, 2)
PROBE_PER_CLASS, N_PER_CLASS, EPOCHS = 5, 10, 6  # the notebook's parameters

pytestmark = pytest.mark.slow


@lru_cache(maxsize=None)
def nets() -> dict:
    return {"course network": zoo.load_pretrained(), "ImageNet": backbone.efficientnet_lite0()}


@lru_cache(maxsize=None)
def lesson_data(seed: int) -> dict:
    train = domains.load("colour-photos", "train", n_per_class=N_PER_CLASS, seed=seed)
    test, shifted = domains.load("colour-photos", "test"), domains.load("colour-photos", "test", strength=1.0)
    return {name: (bt.LESSON_INPUT(d.x), d.y) for name, d in (("train", train), ("test", test), ("shifted", shifted))}


@lru_cache(maxsize=None)
def results(seed: int) -> dict[str, bt.Result]:
    data = lesson_data(seed)
    runs = bt.compare(data["train"], data["test"], data["shifted"], epochs=EPOCHS, seed=seed,
                      pretrained=nets()["ImageNet"])
    return {r.recipe: r for r in runs}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_nearer_source_wins_each_target(seed):
    table = bt.which_source(PROBE_PER_CLASS, seed=seed, nets=nets())
    assert table["course network", "handwritten"] > table["ImageNet", "handwritten"] + 0.05, table
    assert table["ImageNet", "colour-photos"] > table["course network", "colour-photos"] + 0.3, table


@pytest.mark.parametrize("seed", SEEDS)
def test_handwriting_is_nearer_the_glyphs_than_photos_are(seed):
    near = bt.distance_to_glyphs(seed=seed, net=nets()["course network"])
    assert near["handwritten"] < near["colour-photos"], near


@pytest.mark.parametrize("seed", SEEDS)
def test_frozen_batchnorm_in_train_mode_changes_the_network(seed):
    """Measured (eval mode, train mode): seed 0 .96/.885, seed 1 .96/.99, seed 2 .95/.945: the sign varies."""
    data = lesson_data(seed)
    bn = bt.batchnorm_demo(data["train"], data["test"], epochs=EPOCHS, seed=seed, pretrained=nets()["ImageNet"])
    assert bn["statistics drift"] > 0.005, bn  # the "frozen" network changed
    assert bn["BatchNorm in eval mode"] != bn["BatchNorm in train mode"], bn  # and so did its accuracy


@pytest.mark.parametrize("seed", SEEDS)
def test_every_recipe_loses_on_the_shifted_set_and_lp_ft_stays_below_the_probe(seed):
    res = results(seed)
    assert all(r.shifted_acc < r.acc for r in res.values()), res
    assert res["LP-FT"].shifted_acc < res["linear probe"].shifted_acc, res


def test_on_average_fine_tuning_everything_loses_out_of_distribution_and_lora_does_not():
    mean = {recipe: sum(results(s)[recipe].shifted_acc for s in SEEDS) / len(SEEDS) for recipe in bt.RECIPES}
    assert mean["fine-tune all"] < mean["linear probe"] - 0.05, mean
    assert mean["LoRA"] > mean["fine-tune all"] + 0.05, mean
    assert all(results(s)["LoRA"].trainable < 0.05 * results(s)["fine-tune all"].trainable for s in SEEDS)


def test_lp_ft_does_not_reliably_beat_fine_tuning_here():
    """Kumar et al.'s out-of-distribution gain does not hold on every seed of this small experiment."""
    assert not all(results(s)["LP-FT"].shifted_acc > results(s)["fine-tune all"].shifted_acc for s in SEEDS)
