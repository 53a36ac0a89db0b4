"""The capstone: its generated targets, the stored reference, and lesson 09's exercises (checks and grading)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from tlcourse import capstone
from tlcourse.four_cases import STRATEGIES
from tlcourse.grading.checks import CheckFailed, check
from tlcourse.grading.observe import lookup


def test_tasks_are_seeded_and_hide_the_test_split():
    task = capstone.make_task("held-out-letters", 3)
    again = capstone.make_task("held-out-letters", 3)
    assert torch.equal(task.labelled.x, again.labelled.x) and task.classes == again.classes
    assert task.classes != capstone.make_task("held-out-letters", 4).classes
    assert task.n_labelled in capstone.LABELLED_PER_CLASS and len(task.classes) == 10
    assert len(task.unlabelled) == capstone.UNLABELLED_PER_CLASS * 10 and not hasattr(task, "test")
    labelled = {tuple(row.flatten().tolist()) for row in task.labelled.x}
    assert not labelled & {tuple(row.flatten().tolist()) for row in task.unlabelled}
    assert len(capstone.test_split("held-out-letters", 3)) == capstone.TEST_PER_CLASS * 10
    with pytest.raises(ValueError, match="unknown variant"):
        capstone.make_task("mnist")


def test_rotate_turns_images_and_the_angle_follows_the_seed():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 4:24, 13:15] = 1  # a vertical bar
    flat = capstone.rotate(x, 90)[0, 0]
    assert flat[13:15, 6:22].mean() > 0.8 and flat[6:22, 13:15].mean() < 0.5
    assert "turned by" in capstone.make_task("rotated-handwriting", 1).details
    assert capstone.make_task("rotated-handwriting", 1).details != capstone.make_task("rotated-handwriting", 2).details


def test_interval_and_score_choice():
    mean, low, high = capstone.mean_interval([0.80, 0.82, 0.84])
    assert mean == pytest.approx(0.82) and high - mean == pytest.approx(4.303 * 0.02 / 3 ** 0.5, abs=1e-4)
    with pytest.raises(ValueError, match="at least 2"):
        capstone.mean_interval([0.9])
    rows = [{"variant": "v", "task_seed": 1, "strategy": s, "seed": k, "test_acc": acc}
            for k in range(2) for s, acc in zip(STRATEGIES, (0.5, 0.8, 0.6, 0.4))]
    assert capstone.score_choice("v", 1, "b: early + head", rows) == 1.0
    assert capstone.score_choice("v", 1, "a: new head", rows) == pytest.approx(0.625)
    assert capstone.score_choice("v", 1, "e: magic", rows) == 0.0
    with pytest.raises(KeyError, match="no reference"):
        capstone.strategy_means("v", 2, rows)


def test_stored_reference_covers_the_grading_tasks_and_their_winners_differ():
    rows = capstone.load_reference()
    assert capstone.REFERENCE.parent.name == "answer_keys"  # hidden from grading kernels (test_grading_isolation)
    assert {(r["variant"], r["task_seed"], r["strategy"], r["seed"]) for r in rows} == {
        (v, s, k, seed) for v, s in capstone.GRADING_TASKS for k in STRATEGIES for seed in (0, 1, 2)}
    assert all(0 <= r["val_acc"] <= 1 and 0 <= r["test_acc"] <= 1 for r in rows)
    assert all(s != 0 for _, s in capstone.GRADING_TASKS)  # the lesson shows seed 0: grading never uses it
    winners = {max(m := capstone.strategy_means(v, s, rows), key=m.get) for v, s in capstone.GRADING_TASKS}
    assert len(winners) > 1, "a single fixed answer would be best everywhere: recommend would not be tested"


def _interval(accs):
    from scipy import stats

    a = np.asarray(accs, dtype=float)
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return a.mean(), a.mean() - half, a.mean() + half


def test_interval_check_accepts_the_t_interval_and_names_the_normal_one():
    assert check("lesson09.interval", _interval)
    normal = lambda a: (np.mean(a), np.mean(a) - 1.96 * np.std(a, ddof=1) / np.sqrt(len(a)),  # noqa: E731
                        np.mean(a) + 1.96 * np.std(a, ddof=1) / np.sqrt(len(a)))
    with pytest.raises(CheckFailed, match="Student's t"):
        check("lesson09.interval", normal)


def _fixed(model, target, epochs=2):
    from tlcourse import surgery
    from tlcourse.train import fit

    transferred = surgery.replace_head(model, target.num_classes)
    surgery.unfreeze(surgery.freeze(transferred), "fc3")
    transferred.classes = list(target.classes)
    fit(transferred, target, epochs=epochs, lr=1e-3, show_progress=False)
    finetuned = surgery.unfreeze(copy.deepcopy(transferred))
    fit(finetuned, target, epochs=epochs, lr=1e-4, show_progress=False)
    return transferred, finetuned


def _no_freeze(model, target, epochs=2):  # bug 3 left in: "transfer" trains everything
    from tlcourse import surgery
    from tlcourse.train import fit

    transferred = surgery.replace_head(model, target.num_classes)
    transferred.classes = list(target.classes)
    fit(transferred, target, epochs=epochs, lr=1e-3, show_progress=False)
    finetuned = copy.deepcopy(transferred)
    fit(finetuned, target, epochs=epochs, lr=1e-4, show_progress=False)
    return transferred, finetuned


def _stale_names(model, target, epochs=2):  # bug 2 left in
    transferred, finetuned = _fixed(model, target, epochs)
    transferred.classes = finetuned.classes = model.classes
    return transferred, finetuned


def test_debug_check_and_observation_tell_the_fix_from_each_bug():
    assert check("lesson09.debug", _fixed)
    with pytest.raises(CheckFailed, match="only the new head"):
        check("lesson09.debug", _no_freeze)
    with pytest.raises(CheckFailed, match="old class names"):
        check("lesson09.debug", _stale_names)
    observe = lookup("lesson09.debug").fn
    assert observe(5, _fixed) != observe(5, _no_freeze)


def test_validation_accuracy_is_measured_once_per_task_and_setting(monkeypatch):
    calls = []

    class Net:  # evaluate() is stubbed too: no training here
        pass

    monkeypatch.setattr(capstone, "train_strategy",
                        lambda task, s, seed, steps, lr, pretrained: calls.append(s) or Net())
    monkeypatch.setattr(capstone, "evaluate", lambda net, data: {"acc": 0.5})
    monkeypatch.setattr(capstone, "_MEASURED", {})
    task = capstone.make_task("shapes", 5)
    assert capstone.validation_accuracy(task, STRATEGIES[0]) == capstone.validation_accuracy(task, STRATEGIES[0]) == 0.5
    capstone.validation_accuracy(task, STRATEGIES[0], lr=3e-3)
    capstone.validation_accuracy(capstone.make_task("shapes", 6), STRATEGIES[0])
    assert calls == [STRATEGIES[0]] * 3


def test_recommend_check_wants_measured_evidence_and_the_best_of_it(monkeypatch):
    measured = dict(zip(STRATEGIES, (0.7, 0.9, 0.8, 0.6)))
    monkeypatch.setattr(capstone, "validation_accuracy", lambda task, s, **kw: measured[s])
    task = capstone.make_task("shapes", 5)
    assert check("lesson09.recommend", lambda t: (max(measured, key=measured.get), dict(measured)), task)
    with pytest.raises(CheckFailed, match="no evidence"):
        check("lesson09.recommend", lambda t: "c: fine-tune all", task)
    with pytest.raises(CheckFailed, match="best validation accuracy"):
        check("lesson09.recommend", lambda t: ("c: fine-tune all", dict(measured)), task)
    with pytest.raises(CheckFailed, match="far from what training"):
        typed = {s: 0.9 if s[0] == "a" else 0.1 for s in STRATEGIES}
        check("lesson09.recommend", lambda t: ("a: new head", typed), task)


@pytest.mark.slow
def test_the_stored_reference_reproduces():
    """One stored run retrained: the cheapest strategy on the first grading task, seed 0."""
    from tlcourse.train import evaluate

    variant, seed = capstone.GRADING_TASKS[0]
    stored = next(r["test_acc"] for r in capstone.load_reference() if (r["variant"], r["task_seed"], r["strategy"],
                  r["seed"]) == (variant, seed, "a: new head", 0))
    net = capstone.train_strategy(capstone.make_task(variant, seed), "a: new head", seed=0)
    assert evaluate(net, capstone.test_split(variant, seed))["acc"] == pytest.approx(stored, abs=0.03)
