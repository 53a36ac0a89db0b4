"""Lessons 01 and 02: their exercises' public checks, and the claims they make in prose, checked over
3 seeds at the notebooks' defaults (slow).

Each claim test repeats the notebook's computation through the same library calls; the bands are
the notebooks' own asserts.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tlcourse import domains, shift, zoo
from tlcourse.grading.checks import CheckFailed, check
from tlcourse.models import CourseNet
from tlcourse.probe import linear_probe, probe_accuracy, shared_class_accuracy
from tlcourse.runtime import seed_everything
from tlcourse.train import embed, fit

SEEDS = [0, 1, 2]
N = 300  # lesson 01's `n`
STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]
PAIRS = [("glyphs", "letters"), ("glyphs", "handwritten"), ("glyphs", "digits-on-photos"), ("glyphs", "photos")]


@pytest.fixture(scope="module")
def net():
    return zoo.load_pretrained()


# ---- lesson 01 ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson01_near_pair_ranks_below_far_pair(net, seed):
    ranked = shift.rank_pairs(PAIRS, model=net, n=N, seed=seed)
    by_target = {r.target: r for r in ranked}
    near, far = by_target["letters"], by_target["photos"]
    assert ranked[0].target == "letters" and min(ranked, key=lambda r: r.a_distance).target == "letters"
    assert near.mmd < far.mmd and near.a_distance < far.a_distance
    pixel = {t: shift.mmd(shift.features(s, n=N, seed=seed), shift.features(t, n=N, seed=seed + 1))
             for s, t in PAIRS}
    assert min(pixel, key=pixel.get) == "letters" and max(pixel, key=pixel.get) == "photos"
    assert [r.target for r in ranked] != sorted(pixel, key=pixel.get)  # the far end depends on the lens


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson01_three_shifts(net, seed):
    train = domains.load("digits-printed", "train", n_per_class=50, seed=seed)
    test = domains.load("digits-printed", "test")
    hand = domains.load("handwritten", "test")
    f_train, f_test = embed(net, train), embed(net, test)
    acc_source = probe_accuracy(f_train, train.y, f_test, test.y)
    acc_hand = probe_accuracy(f_train, train.y, embed(net, hand), hand.y)
    shifted = shift.label_shift(test, [4, 4, 4, 4, 4, 1, 1, 1, 1, 1], seed=seed)
    acc_label = probe_accuracy(f_train, train.y, embed(net, shifted), shifted.y)
    acc_parity = probe_accuracy(f_train, train.y % 2, f_test, test.y % 2)
    acc_concept = probe_accuracy(f_train, train.y % 2, f_test, (test.y >= 5).long())
    assert acc_source > 0.9 and acc_hand < acc_source - 0.2
    assert abs(acc_label - acc_source) < 0.05
    assert acc_concept < acc_parity - 0.2 and abs(acc_concept - 0.6) < 0.1

    def input_mmd(a, b):
        return shift.mmd(shift.features(a, net, n=N, seed=seed), shift.features(b, net, n=N, seed=seed + 1))
    half = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))
    mmd_cov, mmd_label = input_mmd(test, hand), input_mmd(test, shifted)
    mmd_concept = shift.mmd(f_test[half[:N]], f_test[half[N:2 * N]])
    assert mmd_cov > 2 * mmd_label and abs(mmd_concept) < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson01_mmd_rises_with_strength(net, seed):
    printed = domains.load("digits-printed", "val")
    for name in ["digits-on-photos", "digits-rotated"]:
        values = [shift.mmd(shift.features(printed, net, n=N, seed=seed),
                            shift.features(domains.load(name, "val", strength=s), net, n=N, seed=seed + 1))
                  for s in STRENGTHS]
        assert abs(values[0]) < 0.01 and values[-1] > values[0] + 0.1, (name, values)
        assert all(b > a - 0.01 for a, b in zip(values, values[1:])), (name, values)


# ---- lesson 02 ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson02_short_live_pretraining_learns(seed):
    seed_everything(seed)
    train = domains.load("glyphs", "train", n_per_class=100, seed=seed)
    val = domains.load("glyphs", "val", n_per_class=20, seed=seed)
    live = CourseNet(num_classes=len(train.classes))
    history = fit(live, train, val, epochs=2, lr=1e-3, batch_size=32, seed=seed, show_progress=False)
    assert history.best["val_acc"] > 5 / len(train.classes)


@pytest.mark.slow
def test_lesson02_checkpoint_and_the_handwritten_gap(net):
    source_acc = shared_class_accuracy(net, domains.load("glyphs", "test"))
    hand_acc = shared_class_accuracy(net, domains.load("handwritten", "test"))
    printed_acc = shared_class_accuracy(net, domains.load("digits-printed", "test"))
    assert source_acc > 0.9
    assert 0.3 < hand_acc < printed_acc - 0.2


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson02_a_probe_scored_on_its_training_images_hides_the_gain(net, seed):
    """Exercise 2.2's demonstration: the colleague's probe (scored on its training images) shows almost no
    pretraining gain on letters, the right probe a large one."""
    seed_everything(seed)
    random_net = CourseNet(num_classes=len(net.classes)).eval()
    train = domains.load("letters", "train", n_per_class=20, seed=seed)
    test = domains.load("letters", "test", n_per_class=80, seed=seed)
    on_train, on_test = {}, {}
    for kind, model in [("pretrained", net), ("random", random_net)]:
        f_train, f_test = embed(model, train), embed(model, test)
        on_train[kind] = probe_accuracy(f_train, train.y, f_train, train.y)
        on_test[kind] = probe_accuracy(f_train, train.y, f_test, test.y)
    assert abs(on_train["pretrained"] - on_train["random"]) < 0.05
    assert on_test["pretrained"] - on_test["random"] > 0.15


def _ramp_share(conv) -> float:
    """Lesson 02's measure: mean share of a 3x3 filter's variance explained by a plane (an oriented edge)."""
    w = conv.weight.detach().reshape(len(conv.weight), 9).double()
    grid = torch.tensor([[u, v, 1.0] for v in (-1, 0, 1) for u in (-1, 0, 1)], dtype=torch.double)
    plane = grid @ torch.linalg.lstsq(grid, w.T).solution
    return (1 - (w.T - plane).var(0) / w.T.var(0)).mean().item()


@pytest.mark.slow
def test_lesson02_first_layer_moved_least_and_became_edge_like(net):
    from tlcourse.viz import weight_change

    seed_everything(zoo.RECIPE["seed"])
    initial = CourseNet(num_classes=len(net.classes))
    change = weight_change(initial, net)
    assert change["conv1"] < min(change["conv2"], change["conv3"])
    assert _ramp_share(net.conv1) > _ramp_share(initial.conv1) + 0.05


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson02_linear_probe_gains(net, seed):
    seed_everything(seed)
    random_net = CourseNet(num_classes=len(net.classes)).eval()
    gain, sets, random_acc = {}, {}, {}
    for name in ["letters", "handwritten", "shapes", "photos"]:
        train = domains.load(name, "train", n_per_class=20, seed=seed)
        test = domains.load(name, "test", n_per_class=None if name == "handwritten" else 80, seed=seed)
        sets[name] = train, test
        random_acc[name] = linear_probe(random_net, train, test)
        gain[name] = linear_probe(net, train, test) - random_acc[name]
    assert gain["letters"] > 0.15 and gain["shapes"] > 0.15
    assert min(gain["letters"], gain["shapes"]) > gain["photos"] + 0.1, gain
    assert random_acc["handwritten"] > 0.7
    train, test = sets["letters"]
    conv3_gap = linear_probe(net, train, test, "conv3") - linear_probe(random_net, train, test, "conv3")
    assert gain["letters"] > conv3_gap + 0.05


# ---- the exercises' public checks accept right answers and explain typical mistakes -----------------

def _a_distance(a, b, held_out=True):
    """Lesson 01's exercise 1.1: the colleague's function (held_out=False) and its fix."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, d = np.concatenate([np.asarray(a), np.asarray(b)]), np.r_[np.zeros(len(a)), np.ones(len(b))]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    acc = cross_val_score(clf, x, d, cv=5).mean() if held_out else clf.fit(x, d).score(x, d)
    return float(2 * (1 - 2 * (1 - acc)))


def _same_mean_pair(n, d, seed, centre=True, spread=3.0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, d, generator=g), spread * torch.randn(n, d, generator=g)
    return (x - x.mean(0), y - y.mean(0)) if centre else (x, y)


def test_lesson01_checks():
    assert check("lesson01.held-out", _a_distance)
    with pytest.raises(CheckFailed, match="trained on"):
        check("lesson01.held-out", lambda a, b: _a_distance(a, b, held_out=False))
    with pytest.raises(CheckFailed, match="1 - 2 \\* error"):
        check("lesson01.held-out", lambda a, b: 2 * (1 - (1 - _a_distance(a, b) / 2) / 2) - 1)
    assert check("lesson01.mean-blind", _same_mean_pair)
    with pytest.raises(CheckFailed, match="means exactly equal"):
        check("lesson01.mean-blind", lambda n, d, seed: _same_mean_pair(n, d, seed, centre=False))
    with pytest.raises(CheckFailed, match="other than the mean"):
        check("lesson01.mean-blind", lambda n, d, seed: _same_mean_pair(n, d, seed, spread=1.0))
    with pytest.raises(CheckFailed, match="shape"):
        check("lesson01.mean-blind", lambda n, d, seed: _same_mean_pair(n + 1, d, seed))
    assert check("lesson01.label-shift", _pick)
    with pytest.raises(CheckFailed, match="only once"):
        check("lesson01.label-shift", lambda y, p, n, seed: np.concatenate(
            [np.random.default_rng(seed).choice(np.flatnonzero(np.asarray(y) == c), round(q * n), replace=True)
             for c, q in enumerate(p)]))
    with pytest.raises(CheckFailed, match="at random"):
        check("lesson01.label-shift", lambda y, p, n, seed: np.concatenate(
            [np.flatnonzero(np.asarray(y) == c)[: round(q * n)] for c, q in enumerate(p)]))
    with pytest.raises(CheckFailed, match="not done yet"):
        check("lesson01.label-shift", _not_done)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_lesson01_observations_judge_fixed_and_buggy_answers(seed):
    """The grader's rules accept the right answers on any grading seed and refuse the typical wrong ones."""
    from tlcourse.grading.observe import lookup

    held, blind = lookup("lesson01.held-out"), lookup("lesson01.mean-blind")
    ref = held.fn(seed, _a_distance)
    assert held.rule(ref, ref) is None
    assert "did not train on" in str(held.rule(held.fn(seed, lambda a, b: _a_distance(a, b, held_out=False)), ref))
    ref = blind.fn(seed, _same_mean_pair)
    assert blind.rule(ref, ref) is None
    said = [str(blind.rule(blind.fn(seed, lambda n, d, s: _same_mean_pair(n, d, s, **bug)), ref))
            for bug in ({"centre": False}, {"spread": 1.0})]
    assert "means differ" in said[0] and "beyond the mean" in said[1], said


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lesson01_training_scored_a_distance_sees_a_shift_that_is_not_there(net, seed):
    """Exercise 1.1's demonstration: two halves of one sample, scored on training data vs held out."""
    test = domains.load("digits-printed", "test")
    f_test = embed(net, test)
    half = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))
    a, b = f_test[half[:N]], f_test[half[N:2 * N]]
    assert _a_distance(a, b, held_out=False) > 0.3
    assert abs(shift.proxy_a_distance(1 - shift.domain_classifier_accuracy(a, b, seed=seed))) < 0.3


def _pick(y, proportions, n, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(np.asarray(y) == c), round(p * n), replace=False)
                           for c, p in enumerate(proportions)])


def _not_done(*args):
    raise NotImplementedError()


def test_lesson02_checks():
    from sklearn.linear_model import LogisticRegression

    def digits(logits, classes):
        return logits[:, [classes.index(str(d)) for d in range(10)]].argmax(1)
    assert check("lesson02.digit-predictions", digits)
    with pytest.raises(CheckFailed, match="letter's logit"):
        check("lesson02.digit-predictions", lambda logits, classes: logits.argmax(1))
    with pytest.raises(CheckFailed, match="order"):
        check("lesson02.digit-predictions", lambda logits, classes: logits[
            :, [i for i, c in enumerate(classes) if c.isdigit()]].argmax(1))
    assert check("lesson02.probe", probe_accuracy)
    with pytest.raises(CheckFailed, match="fitted to"):
        check("lesson02.probe", lambda a, b, c, d: probe_accuracy(a, b, a, b))  # exercise 2.2's bug
    with pytest.raises(CheckFailed, match="never on the test set"):
        check("lesson02.probe", lambda a, b, c, d: float(LogisticRegression(max_iter=1000).fit(c, d).score(c, d)))
    counts = lambda m: {n: sum(p.numel() for p in c.parameters()) for n, c in m.named_children()
                        if any(True for _ in c.parameters())}
    assert check("lesson02.parameters-per-layer", counts)
    with pytest.raises(CheckFailed, match="biases"):
        check("lesson02.parameters-per-layer", lambda m: {n: c.weight.numel() for n, c in m.named_children()
                                                          if hasattr(c, "weight")})
