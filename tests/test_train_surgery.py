"""The training loop and model surgery every lesson relies on."""
from __future__ import annotations

import pytest
import torch

from tlcourse import surgery
from tlcourse.models import LAYERS, CourseNet, block_end_slice, layer_names
from tlcourse.train import embed, evaluate, fit, frozen_prefix_length


def toy(n: int = 600, classes: int = 3, seed: int = 0):
    """Images whose class is which third of the picture is bright: easy to learn."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    for c in range(classes):
        x[y == c, :, :, c * 9:(c + 1) * 9] += 0.8
    return x, y


def test_course_net_has_the_named_layers_and_shapes():
    net = CourseNet(7)
    assert layer_names(net) == list(LAYERS)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 7)
    assert block_end_slice(net, "conv3")(torch.zeros(1, 1, 28, 28)).shape == (1, 64, 3, 3)


def test_fit_learns_and_keeps_the_best_epoch():
    torch.manual_seed(0)
    net = CourseNet(3)
    train, val = toy(600), toy(200, seed=1)
    before = evaluate(net, val)["acc"]
    history = fit(net, train, val, epochs=3, show_progress=False)
    after = evaluate(net, val)["acc"]
    assert after > 0.9 > before + 0.3
    assert history.best_epoch is not None and abs(history.best["val_acc"] - after) < 1e-6
    assert [r["epoch"] for r in history] == [1, 2, 3] and history.rows[-1]["steps"] == 3 * 10


def test_cached_features_give_the_same_training_as_running_the_prefix():
    torch.manual_seed(0)
    base = CourseNet(3)
    a, b = surgery.replace_head(base, 3), surgery.replace_head(base, 3)
    b.load_state_dict(a.state_dict())
    for net in (a, b):
        surgery.freeze(net)
        surgery.unfreeze(net, "fc3")
    data = toy(300)
    ha = fit(a, data, epochs=2, cache_frozen=True, show_progress=False)
    hb = fit(b, data, epochs=2, cache_frozen=False, show_progress=False)
    assert ha.cached_layers == frozen_prefix_length(a) == len(a) - 1 and hb.cached_layers == 0
    assert torch.allclose(a.fc3.weight, b.fc3.weight, atol=1e-5)


def test_feature_cache_is_reused_and_invalidated_by_weight_changes():
    torch.manual_seed(0)
    net = surgery.freeze_up_to(CourseNet(3), "fc2")
    cache: dict = {}
    data = toy(100)
    fit(net, data, epochs=1, feature_cache=cache, show_progress=False)
    fit(net, data, epochs=1, feature_cache=cache, show_progress=False)
    assert len(cache) == 1
    with torch.no_grad():
        net.conv1.weight.add_(1.0)  # the frozen prefix changed: its cached features are stale
    fit(net, data, epochs=1, feature_cache=cache, show_progress=False)
    assert len(cache) == 2


def test_frozen_parameters_get_no_gradient_and_no_optimizer_state():
    net = surgery.freeze_up_to(CourseNet(3), "conv3")
    before = net.conv1.weight.clone()
    fit(net, toy(64), epochs=1, cache_frozen=False, show_progress=False)
    assert torch.equal(net.conv1.weight, before) and net.conv1.weight.grad is None
    assert surgery.trainable_layers(net) == ["fc1", "fc2", "fc3"]


def test_nothing_trainable_and_empty_data_are_explained():
    net = surgery.freeze(CourseNet(3))
    with pytest.raises(ValueError, match="nothing to train"):
        fit(net, toy(10), epochs=1, show_progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(CourseNet(3), (torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long)), show_progress=False)


def test_surgery_cuts_and_reheads():
    net = CourseNet(10)
    assert surgery.replace_head(net, 4)(torch.zeros(1, 1, 28, 28)).shape == (1, 4)
    assert net.fc3.out_features == 10  # the original is untouched
    small = surgery.attach_head(surgery.truncate(net, "conv2"), 5)
    assert layer_names(small) == ["conv1", "conv2", "head1", "head2"]
    assert small(torch.zeros(2, 1, 28, 28)).shape == (2, 5)
    assert torch.equal(small.conv1.weight, net.conv1.weight) and small.conv1.weight is not net.conv1.weight
    with pytest.raises(KeyError, match="conv1"):
        surgery.freeze(net, "conv9")
    with pytest.raises(ValueError):
        surgery.replace_head(net, 0)


def test_freeze_by_prefix_and_unfreeze():
    net = surgery.freeze(CourseNet(3), "conv")
    assert surgery.trainable_layers(net) == ["fc1", "fc2", "fc3"]
    surgery.unfreeze(net)
    assert surgery.trainable_layers(net) == list(LAYERS)


def test_246_preset_gives_each_group_its_rate():
    net = CourseNet(3)
    rates = {g["name"]: g["lr"] for g in surgery.param_groups(net)}
    assert rates == {"conv1": 1e-6, "conv2": 1e-6, "conv3": 1e-4, "fc1": 1e-4, "fc2": 1e-4, "fc3": 1e-2}
    surgery.freeze(net, ["conv1", "conv2"])
    assert "conv1" not in {g["name"] for g in surgery.param_groups(net)}
    spread = surgery.discriminative_lrs(net, top_lr=1e-3, ratio=100)
    assert spread["fc3"] == pytest.approx(1e-3) and spread["conv1"] == pytest.approx(1e-5)
    assert list(spread.values()) == sorted(spread.values())


def test_layerwise_rates_reach_the_optimizer():
    net = CourseNet(3)
    before = {n: getattr(net, n).weight.clone() for n in ("conv1", "fc3")}
    fit(net, toy(128), epochs=1, lr=surgery.param_groups(net, {"conv1": 0.0, "conv2": 1e-3, "conv3": 1e-3,
                                                                  "fc1": 1e-3, "fc2": 1e-3, "fc3": 1e-2}),
        show_progress=False)
    assert torch.equal(net.conv1.weight, before["conv1"])  # lr 0: unchanged
    assert not torch.equal(net.fc3.weight, before["fc3"])


def test_embed_returns_flat_features():
    assert embed(CourseNet(3), toy(5), upto="fc2").shape == (5, 128)
