"""Unit tests of tlcourse.finetune: transfer plans, per-layer learning rates, gradual unfreezing."""
import pytest
import torch

from tlcourse import surgery
from tlcourse.finetune import build_model, check_plan, gradual_unfreeze, layer_lrs, plan_summary
from tlcourse.models import LAYERS, CourseNet, count_parameters, layer_names
from tlcourse.train import FeatureCache, frozen_prefix_length, split_frozen
from toydata import toy


def plan_of(**choices):
    return {n: choices.get(n, "frozen") for n in LAYERS}


@pytest.fixture
def net():
    torch.manual_seed(0)
    return CourseNet(7).eval()


@pytest.mark.parametrize("plan, words", [
    (plan_of(conv2="removed"), "conv3 needs conv2"),
    (plan_of(fc1="removed", fc3="removed"), "fc2 needs fc1"),
    ({n: "removed" for n in LAYERS}, "keep at least conv1"),
    (plan_of(), "nothing is trainable"),
    (plan_of(conv1="thawed", fc3="trainable"), "unknown choice"),
    ({"conv1": "frozen"}, "say what happens to"),
    ({**plan_of(fc3="trainable"), "fc9": "frozen"}, "unknown layer"),
])
def test_invalid_plans_are_explained(plan, words):
    with pytest.raises(ValueError, match=words):
        check_plan(plan, list(LAYERS))


def test_head_only_plan_replaces_fc3_and_leaves_the_pretrained_net_alone(net):
    before = {k: v.clone() for k, v in net.state_dict().items()}
    model = build_model(net, plan_of(fc3="trainable"), num_classes=3)
    assert model.fc3.out_features == 3 and layer_names(model) == list(LAYERS)
    assert surgery.trainable_layers(model) == ["fc3"]
    assert frozen_prefix_length(model) == len(model) - 1
    torch.testing.assert_close(model.conv1.weight, net.conv1.weight)
    assert model.conv1.weight is not net.conv1.weight
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} of the pretrained model changed"
    assert plan_summary(plan_of(fc3="trainable")) == "FFFFFT"


def test_removed_top_part_gets_a_new_head(net):
    plan = plan_of(conv3="trainable", fc1="removed", fc2="removed", fc3="removed")
    model = build_model(net, plan, num_classes=5, hidden=32)
    assert layer_names(model) == ["conv1", "conv2", "conv3", "head1", "head2"]
    assert surgery.trainable_layers(model) == ["conv3", "head1", "head2"]
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 5)
    assert count_parameters(model, trainable_only=True) == (
        count_parameters(model.conv3) + 576 * 32 + 32 + 32 * 5 + 5)
    assert plan_summary(plan) == "FFT---"


def test_frozen_new_head_is_allowed_when_something_else_trains(net):
    model = build_model(net, plan_of(fc2="trainable", fc3="frozen"), num_classes=3)
    assert surgery.trainable_layers(model) == ["fc2"]


def test_new_head_init_follows_the_seed(net):
    a, b, c = (build_model(net, plan_of(fc3="trainable"), 3, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.fc3.weight, b.fc3.weight) and not torch.equal(a.fc3.weight, c.fc3.weight)


def test_two_models_with_the_same_frozen_layers_share_cached_features(net):
    cache, x = FeatureCache(), torch.rand(16, 1, 28, 28)
    plan = plan_of(fc3="trainable")
    a, b = build_model(net, plan, 3), build_model(net, plan, 3, seed=5)
    assert a.conv1 is not b.conv1  # separate copies: the cache recognises equal layers, not shared objects
    (pa, _), (pb, _) = split_frozen(a), split_frozen(b)
    first = cache(pa, x, torch.device("cpu"))
    assert cache(pb, x, torch.device("cpu")) is first and len(cache) == 1
    with torch.no_grad():  # a changed weight or image is a new entry, never a stale one
        b.conv1.weight.add_(1.0)
    cache(pb, x, torch.device("cpu"))
    cache(pa, x + 1, torch.device("cpu"))
    assert len(cache) == 3


def test_layer_lrs_presets(net):
    model = build_model(net, plan_of(fc3="trainable"), 3)
    assert layer_lrs(model, "2:4:6") == {"conv1": 1e-6, "conv2": 1e-6, "conv3": 1e-4, "fc1": 1e-4,
                                         "fc2": 1e-4, "fc3": 1e-2}
    assert set(layer_lrs(model, "uniform", top_lr=3e-3).values()) == {3e-3}
    disc = list(layer_lrs(model, "discriminative", top_lr=1e-3, ratio=100).values())
    assert disc[0] == pytest.approx(1e-5) and disc[-1] == pytest.approx(1e-3)
    ratios = [b / a for a, b in zip(disc, disc[1:])]
    assert ratios == pytest.approx([100 ** 0.2] * 5)
    mixed = layer_lrs(model, {"bottom": 1e-5, "middle": 1e-4, "fc3": 1e-2})
    assert mixed["conv2"] == 1e-5 and mixed["fc2"] == 1e-4 and mixed["fc3"] == 1e-2
    with pytest.raises(ValueError, match="no learning rate given"):
        layer_lrs(model, {"top": 1e-3})
    with pytest.raises(ValueError, match="unknown preset"):
        layer_lrs(model, "fastest")


def test_gradual_unfreezing_trains_the_top_first(net):
    model = build_model(net, plan_of(fc3="trainable"), 4)
    start = {n: getattr(model, n).weight.detach().clone() for n in LAYERS}
    changed_after_stage = {}

    def watch(row):
        changed_after_stage[row["stage"]] = [n for n in LAYERS
                                             if not torch.equal(getattr(model, n).weight, start[n])]

    data = toy(96)
    history = gradual_unfreeze(model, data, data, epochs_per_stage=1, lr=1e-3, on_epoch=watch,
                               show_progress=False)
    assert [r["stage"] for r in history] == [1, 2, 3]
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history.column("steps") == [2, 4, 6]
    assert changed_after_stage[1] == ["fc3"]
    assert changed_after_stage[2] == ["conv3", "fc1", "fc2", "fc3"]
    assert changed_after_stage[3] == list(LAYERS)
    assert history.best_epoch in (1, 2, 3)
    assert surgery.trainable_layers(model) == list(LAYERS)


def test_gradual_unfreezing_one_layer_per_stage_with_group_rates(net):
    model = build_model(net, plan_of(fc3="trainable"), 4)
    data = toy(48)
    history = gradual_unfreeze(model, data, epochs_per_stage=1, groups="layers",
                               lr={"bottom": 1e-5, "middle": 1e-4, "top": 1e-3}, show_progress=False)
    assert [r["stage"] for r in history] == [1, 2, 3, 4, 5, 6]
    assert history.best_epoch is None  # no validation data: nothing to choose from


def test_gradual_unfreezing_keeps_layers_outside_the_groups_frozen(net):
    model = build_model(net, plan_of(fc3="trainable"), 4)
    conv1 = model.conv1.weight.detach().clone()
    gradual_unfreeze(model, toy(48), groups=[["conv3"], ["fc3"]], epochs_per_stage=1, show_progress=False)
    assert torch.equal(model.conv1.weight, conv1)
    assert surgery.trainable_layers(model) == ["conv3", "fc3"]
    with pytest.raises(ValueError, match="epochs_per_stage"):
        gradual_unfreeze(model, toy(48), epochs_per_stage=0)


# ---------------------------------------------------------------- lesson 04 exercise checks
def test_freeze_up_to_check_accepts_the_library_version_and_rejects_wrong_ones():
    from tlcourse.grading import CheckFailed, check

    assert check("lesson04.freeze_up_to", surgery.freeze_up_to)

    def only_that_layer(model, layer):
        return surgery.freeze(model, layer)

    def never_unfreezes(model, layer):
        names = layer_names(model)
        return surgery.freeze(model, names[: names.index(layer) + 1])

    def weights_only(model, layer):
        names = layer_names(model)
        for i, n in enumerate(names):
            getattr(model, n).weight.requires_grad_(i > names.index(layer))
        return model

    def todo(model, layer):
        raise NotImplementedError()

    for wrong, words in [(only_that_layer, "conv1 and conv2 should be frozen"),
                         (never_unfreezes, "must train again"), (weights_only, "half frozen"),
                         (todo, "not done yet")]:
        with pytest.raises(CheckFailed, match=words):
            check("lesson04.freeze_up_to", wrong)


def _freeze_without_clearing(model, names):
    for name in names:
        for p in getattr(model, name).parameters():
            p.requires_grad_(False)
    return model


def test_freeze_mid_training_check_passes_a_real_freeze_and_catches_the_bug():
    from tlcourse.grading import CheckFailed, check

    assert check("lesson04.freeze_mid_training", surgery.freeze)

    def zeroed_grad(model, names):  # zeroing is not enough: momentum and weight decay still act
        for p in _freeze_without_clearing(model, names).parameters():
            if not p.requires_grad and p.grad is not None:
                p.grad.zero_()
        return model

    def too_much(model, names):
        return surgery.freeze(model, [*names, "fc1"])

    def a_copy(model, names):
        import copy
        return surgery.freeze(copy.deepcopy(model), names)

    for wrong, words in [(_freeze_without_clearing, "still move"), (zeroed_grad, "still move"),
                         (too_much, "stopped training too"), (a_copy, "not a copy")]:
        with pytest.raises(CheckFailed, match=words):
            check("lesson04.freeze_mid_training", wrong)


def test_freeze_mid_training_observation_tells_the_fix_from_the_bug():
    from tlcourse.grading.observe import lookup

    observe = lookup("lesson04.freeze_mid_training").fn
    fixed = observe(7, surgery.freeze)
    assert fixed == observe(7, surgery.freeze)  # deterministic: the reference and the student agree
    assert fixed != observe(7, _freeze_without_clearing)
    for case in fixed.values():
        assert case["returns the model"] and not any(case["moved after"][n] for n in case["froze"])
        assert any(case["moved after"].values())  # the rest still trains


# ---------------------------------------------------------------- lesson 04's claims, 3 seeds (stored)
@pytest.fixture(scope="module")
def recipes3():
    """``data/results/lesson04-recipes.json``: ``python -m tlcourse.finetune --seeds 0 1 2``."""
    from tlcourse import stored

    return stored.load("lesson04-recipes")


def _mean(rows, optimizer, strategy, key="val acc"):
    values = [r[key] for r in rows if r["optimizer"] == optimizer and r["strategy"] == strategy]
    assert len(values) == 3, f"{optimizer} {strategy}: {len(values)} stored seeds"
    return sum(values) / 3


def test_stored_recipes_cover_every_recipe_and_seed(recipes3):
    from tlcourse.finetune import LESSON04, RECIPES, SGD_RATE_CHECKS, SGD_RECIPES

    rows = recipes3["rows"]
    assert recipes3["command"] == "python -m tlcourse.finetune --seeds 0 1 2"
    assert {k: recipes3["meta"][k] for k in LESSON04} == LESSON04
    expected = {("adam", n) for n in RECIPES} | {("sgd", n) for n in {**SGD_RECIPES, **SGD_RATE_CHECKS}}
    assert {(r["optimizer"], r["strategy"]) for r in rows} == expected
    assert sorted({r["seed"] for r in rows}) == [0, 1, 2] and len(rows) == 3 * len(expected)


def test_lesson04_claims_under_adam(recipes3):
    """Section 3: the head's rate matters most; 2:4:6 is close to freezing + fast head; gradual unfreezing beats
    all-at-once at one rate (mean val acc of 3 seeds)."""
    rows = recipes3["rows"]
    freeze, uniform, rule246, geometric, gradual = (_mean(rows, "adam", n) for n in (
        "freeze all but the head (head 1e-2)", "fine-tune all, uniform 1e-3", "fine-tune all, 2:4:6",
        "fine-tune all, geometric 1e-4..1e-2", "gradual unfreezing, uniform 1e-3"))
    assert freeze > uniform + 0.03, f"fast head {freeze:.3f} vs uniform 1e-3 {uniform:.3f}"
    assert abs(rule246 - freeze) < 0.03, f"2:4:6 {rule246:.3f} vs freeze {freeze:.3f}"
    assert abs(geometric - freeze) < 0.04, f"geometric {geometric:.3f} vs freeze {freeze:.3f}"
    assert gradual > uniform + 0.02, f"gradual {gradual:.3f} vs all-at-once {uniform:.3f}"
    assert min(freeze, uniform, rule246, geometric, gradual) > 0.4  # chance is 1/26


def test_lesson04_2_4_6_is_nearly_frozen_under_both_optimizers(recipes3):
    """Section 3b: the bottom group at 1e-6 moves by less than 1e-3 of its size under Adam and under SGD, and
    2:4:6 stays within 0.03 of freezing + the head at 1e-2 under both (mean of 3 seeds)."""
    rows = recipes3["rows"]
    for opt in ("adam", "sgd"):
        for r in rows:
            if r["optimizer"] == opt and r["strategy"] == "fine-tune all, 2:4:6":
                assert max(r["change conv1"], r["change conv2"]) < 1e-3, (opt, r["seed"])
                assert max(r["change conv3"], r["change fc1"], r["change fc2"]) > 1e-3, (opt, r["seed"])
        gap = _mean(rows, opt, "fine-tune all, 2:4:6") - _mean(rows, opt, "freeze all but the head (head 1e-2)")
        assert abs(gap) < 0.03, f"{opt}: 2:4:6 minus freezing {gap:+.3f}"


def test_lesson04_sgd_keeps_the_verdict_on_2_4_6_but_changes_the_ranking(recipes3):
    """Section 3b's answer: under SGD, one well-chosen rate for everything (3e-3) beats both 2:4:6 and freezing
    (under Adam it lost to them); SGD's head at 1e-2 learns less than Adam's; the SGD rate checks bracket 3e-3;
    the per-seed gap between 2:4:6 and freezing scatters more under SGD."""
    rows = recipes3["rows"]
    freeze, rule = "freeze all but the head (head 1e-2)", "fine-tune all, 2:4:6"
    one_rate = _mean(rows, "sgd", "fine-tune all, uniform 3e-3")
    assert one_rate > _mean(rows, "sgd", rule) + 0.03 and one_rate > _mean(rows, "sgd", freeze) + 0.03
    assert _mean(rows, "adam", "fine-tune all, uniform 1e-3") < _mean(rows, "adam", freeze) - 0.03
    assert _mean(rows, "adam", freeze) > _mean(rows, "sgd", freeze) + 0.03
    uniform = [_mean(rows, "sgd", f"fine-tune all, uniform {lr}") for lr in ("3e-3", "1e-2", "3e-2")]
    assert uniform == sorted(uniform, reverse=True)  # 3e-3 best of the three rates tried
    assert _mean(rows, "sgd", "fine-tune all, uniform 3e-2") < 0.5  # too fast: the body is wrecked

    def gaps(opt):
        acc = {(r["strategy"], r["seed"]): r["val acc"] for r in rows if r["optimizer"] == opt}
        return torch.tensor([acc[rule, s] - acc[freeze, s] for s in range(3)])

    assert gaps("sgd").std() > gaps("adam").std()


@pytest.mark.slow
def test_stored_recipes_reproduce_at_seed_0(recipes3):
    """Re-runs seed 0 of the stored comparison (Adam's recipes and SGD's; the rate checks are left out)."""
    from tlcourse.finetune import RECIPES, SGD_RECIPES, lesson04_rows

    stored_rows = {(r["optimizer"], r["strategy"]): r for r in recipes3["rows"] if r["seed"] == 0}
    rerun = lesson04_rows(0, [RECIPES, SGD_RECIPES])
    assert len(rerun) == len(RECIPES) + len(SGD_RECIPES)
    for row in rerun:
        want = stored_rows[(row["optimizer"], row["strategy"])]
        assert abs(row["val acc"] - want["val acc"]) <= 0.02, (row["strategy"], row["val acc"], want["val acc"])
        assert row["test acc"] == pytest.approx(want["test acc"], abs=0.02)
        assert row.get("change conv3", 0.0) == pytest.approx(want.get("change conv3", 0.0), rel=0.2, abs=1e-9)


def test_fine_tune_plans_and_schedules(net):
    from tlcourse.finetune import RECIPES, fine_tune

    data = toy(48)
    model, history = fine_tune(net, data, data, plan="head", lrs="uniform", top_lr=1e-2, epochs=2,
                               show_progress=False)
    assert surgery.trainable_layers(model) == ["fc3"] and model.fc3.out_features == 4 and len(history) == 2
    assert history.cached_layers == len(model) - 1
    model, history = fine_tune(net, data, plan="head", schedule="gradual", epochs=2, show_progress=False)
    assert history.column("stage") == [1, 1]  # only the head trains: one stage
    model, history = fine_tune(net, data, **RECIPES["gradual unfreezing, uniform 1e-3"], epochs=3,
                               show_progress=False)
    assert history.column("stage") == [1, 2, 3] and surgery.trainable_layers(model) == list(LAYERS)
    with pytest.raises(ValueError, match="schedule"):
        fine_tune(net, data, schedule="sometimes")
    with pytest.raises(ValueError, match="plan must be"):
        fine_tune(net, data, plan="middle")
