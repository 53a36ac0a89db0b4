"""Lesson 05's claims about fine-tuning (section 6), asserted on the stored rows of
``data/results/lesson05-layer-change.json`` (ten seeds, both targets), and a slow test that re-running a seed
reproduces its stored rows. Regenerate the rows with ``python -m tlcourse.viz.layer_change --seeds 0 1 ... 9``."""
from __future__ import annotations

import ast
import json

import pytest

from tlcourse import stored, zoo
from tlcourse.runtime import DATA_DIR
from tlcourse.viz import layer_change

LAYERS = ("conv1", "conv2", "conv3")


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], dict[str, dict]]:
    """(target, seed) -> layer -> stored row."""
    out: dict[tuple[str, int], dict[str, dict]] = {}
    for row in stored.rows(layer_change.NAME):
        out.setdefault((row["target"], row["seed"]), {})[row["layer"]] = row
    return out


def test_stored_rows_cover_both_targets_and_ten_seeds(runs):
    report = stored.load(layer_change.NAME)
    assert report["command"].startswith("python -m tlcourse.viz.layer_change --seeds")
    assert report["meta"]["settings"] == layer_change.SETTINGS
    assert set(runs) == {(t, s) for t in layer_change.TARGETS for s in range(10)}
    assert all(tuple(layers) == LAYERS for layers in runs.values())


def test_the_stored_settings_are_the_lessons_defaults():
    nb = json.loads((DATA_DIR.parent / "notebooks" / "05_what_layers_learn.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    params = {t.id: ast.literal_eval(node.value) for node in ast.parse("".join(cell["source"])).body
              if isinstance(node, ast.Assign) for t in node.targets}
    assert params["n_per_class"] == layer_change.SETTINGS["n_per_class"]
    assert params["finetune_epochs"] == layer_change.SETTINGS["epochs"]
    finetune = next("".join(c["source"]) for c in nb["cells"] if "tuned = replace_head" in "".join(c["source"]))
    assert "lr=1e-3, batch_size=64" in finetune


def test_finetuning_changes_early_layers_least_on_every_seed(runs):
    for key, layers in runs.items():
        sim = {name: layers[name]["similarity"] for name in LAYERS}
        change = {name: layers[name]["weight_change"] for name in LAYERS}
        assert sim["conv1"] > sim["conv2"] > sim["conv3"], (key, sim)
        assert sim["conv1"] > 0.95 and sim["conv1"] - sim["conv3"] > 0.03, (key, sim)
        assert change["conv1"] < change["conv2"] < change["conv3"], (key, change)


def test_a_different_target_changes_conv3_more_than_a_similar_one(runs):
    pairs = layer_change.paired(stored.rows(layer_change.NAME), "conv3")
    assert len(pairs) == 10
    diff = [hand - photo for hand, photo in pairs.values()]
    assert all(d > 0 for d in diff), pairs                      # on every seed (the lesson prints the count)
    mean, half = stored.interval(diff)
    assert mean - half > 0.03, (mean, half)                     # and its 95% interval is well above 0


def test_conv1_weights_are_larger_than_conv3s():
    net = zoo.load_pretrained()          # the lesson's caveat about relative weight change
    assert net.conv1.weight.abs().mean() > net.conv3.weight.abs().mean()


@pytest.mark.slow
@pytest.mark.parametrize("target", layer_change.TARGETS)
def test_a_rerun_reproduces_the_stored_rows(runs, target):
    for row in layer_change.measure(target, seed=0):
        want = runs[target, 0][row["layer"]]
        for key in ("similarity", "weight_change"):
            assert row[key] == pytest.approx(want[key], abs=0.01), (target, row, want)
        assert row["val_acc"] == pytest.approx(want["val_acc"], abs=0.03), (target, row, want)
