"""FreezeLab without a browser: set the controls' values, click, read the message, table and plot.

Runs against a randomly initialised CourseNet and synthetic data, so it needs neither the course
checkpoint nor the domains.
"""
import pytest
import torch

from tlcourse import surgery
from tlcourse.models import LAYERS, CourseNet
from tlcourse.widgets import freezelab
from tlcourse.domains import subsample
from tlcourse.widgets.freezelab import FreezeLab, benchmark_retrain
from toydata import toy


@pytest.fixture
def lab():
    torch.manual_seed(0)
    data = {"train": toy(200), "val": toy(40, seed=1), "test": toy(40, seed=2)}
    return FreezeLab(CourseNet(9), "toy", data=data, n_per_class=10, epochs=3, device="cpu")


def test_controls_have_stable_visible_labels(lab):
    assert [t.description for t in lab.layers.values()] == [*LAYERS[:-1], "fc3 (new head)"]
    assert lab.button.description == "Train"
    assert all(t.options == ("frozen", "trainable", "removed") for t in lab.layers.values())
    assert lab.plan == {**{n: "frozen" for n in LAYERS[:-1]}, "fc3": "trainable"}
    assert "bottom: conv1, conv2" in lab.groups_info.value and "top: fc3" in lab.groups_info.value


def test_a_click_trains_and_adds_a_run(lab):
    lab.button.click()
    assert lab.last_error is None, lab.message.value
    assert lab.message.value.startswith("Run 1: best val acc")
    assert not lab.button.disabled
    (run,) = lab.runs
    assert run["plan"] == "FFFFFT" and run["n/class"] == 10 and run["epochs"] == 3
    assert run["trainable params"] == 128 * 4 + 4 and run["cached layers"] == len(lab.model) - 1
    assert 0 <= run["val acc"] <= 1 and 0 <= run["test acc*"] <= 1
    assert len(lab.history) == 3 and lab.model.fc3.out_features == 4
    table = lab.runs_table()
    assert "FFFFFT" in table and "val acc" in table and "final report only" in table
    assert "<td>FFFFFT</td>" in lab.table.value
    (plot,) = lab.plot_out.outputs
    assert plot["data"]["image/png"]


def test_retrain_reuses_the_cached_features(lab):
    lab.button.click()
    cache = lab.feature_caches[10]
    assert len(cache) == 3  # train, val and test features of the frozen prefix
    lab.epochs.value = 4
    lab.button.click()
    assert len(cache) == 3 and len(lab.runs) == 2 and lab.runs[1]["epochs"] == 4
    lab.layers["fc2"].value = "trainable"  # a shorter frozen prefix: new features, once
    lab.button.click()
    lab.button.click()
    assert len(cache) == 6 and lab.runs[-1]["plan"] == "FFFFTT"
    lab.size.value = 20  # another data size: its own cache
    lab.button.click()
    assert len(lab.feature_caches[20]) == 3 and lab.runs[-1]["n/class"] == 20
    assert lab._datasets[20]["val"] is lab._datasets[10]["val"]  # same val/test for every size


def test_same_settings_give_the_same_result(lab):
    lab.button.click()
    lab.button.click()
    assert lab.runs[0]["val acc"] == lab.runs[1]["val acc"]


@pytest.mark.parametrize("setup, words", [
    (lambda lab: setattr(lab.layers["fc3"], "value", "frozen"), "nothing is trainable"),
    (lambda lab: setattr(lab.layers["conv2"], "value", "removed"), "conv3 needs conv2"),
    (lambda lab: [setattr(t, "value", "removed") for t in lab.layers.values()], "keep at least conv1"),
    (lambda lab: setattr(lab.size, "value", 0), "at least 1 image per class"),
    (lambda lab: setattr(lab.epochs, "value", 0), "at least 1 epoch"),
    (lambda lab: setattr(lab.lrs["top"], "value", 0.0), "must be positive"),
    (lambda lab: setattr(lab.lrs["bottom"], "value", -1e-3), "must be positive"),
])
def test_invalid_choices_are_explained_in_the_widget(lab, setup, words):
    setup(lab)
    lab.button.click()  # must not raise
    assert words in lab.message.value.lower() and "Cannot" in lab.message.value
    assert lab.runs == [] and lab.last_error is None and not lab.button.disabled
    assert lab.runs_table() == "no runs yet"


def test_button_is_disabled_while_training(lab, monkeypatch):
    seen = []
    real_fit = freezelab.fit
    monkeypatch.setattr(freezelab, "fit",
                        lambda *a, **k: seen.append(lab.button.disabled) or real_fit(*a, **k))
    lab.button.click()
    assert seen == [True] and not lab.button.disabled


def test_unexpected_errors_become_a_message(lab, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(freezelab, "fit", broken)
    lab.button.click()
    assert "Something went wrong" in lab.message.value and "out of memory" in lab.message.value
    assert isinstance(lab.last_error, RuntimeError) and not lab.button.disabled


def test_presets_fill_the_group_rates(lab):
    lab.preset.value = "2:4:6"
    assert [lab.lrs[g].value for g in ("bottom", "middle", "top")] == [1e-6, 1e-4, 1e-2]
    lab.lrs["top"].value = 5e-3
    assert lab.preset.value == "custom"
    lab.preset.value = "discriminative"
    assert lab.lrs["middle"].disabled
    lab.lrs["top"].value = 1e-2  # edits keep the geometric spread, between the new ends
    assert lab.preset.value == "discriminative"
    lab.layers["conv1"].value = "trainable"
    rates = lab.layer_lrs(lab.model or surgery.replace_head(lab.pretrained, 4))
    assert rates["conv1"] == pytest.approx(1e-5) and rates["fc3"] == pytest.approx(1e-2)
    lab.button.click()
    assert lab.runs[-1]["lrs"] == "geometric 1e-05..1e-02"
    lab.preset.value = "uniform 1e-3"
    assert not lab.lrs["middle"].disabled and lab.lrs["middle"].value == 1e-3


def test_removed_layers_train_a_new_head(lab):
    for name in ("fc1", "fc2", "fc3"):
        lab.layers[name].value = "removed"
    assert "top: head1, head2" in lab.groups_info.value
    lab.button.click()
    assert lab.last_error is None, lab.message.value
    assert lab.runs[-1]["plan"] == "FFF---"
    assert surgery.trainable_layers(lab.model) == ["head1", "head2"]


def test_gradual_schedule_runs_one_stage_per_trainable_group(lab):
    lab.layers["conv1"].value = "trainable"
    lab.layers["fc2"].value = "trainable"
    lab.schedule.value = "gradual"
    lab.epochs.value = 1
    lab.button.click()
    assert lab.last_error is None, lab.message.value
    assert lab.history.column("stage") == [1, 2, 3]  # top (fc3), middle (fc2), bottom (conv1)
    assert lab.runs[-1]["epochs"] == 3 and lab.runs[-1]["schedule"] == "gradual"
    assert surgery.trainable_layers(lab.model) == ["conv1", "fc2", "fc3"]


def test_training_never_changes_the_pretrained_model(lab):
    before = {k: v.clone() for k, v in lab.pretrained.state_dict().items()}
    lab.layers["conv1"].value = "trainable"
    lab.button.click()
    lab.layers["conv1"].value = "frozen"
    lab.button.click()
    for k, v in lab.pretrained.state_dict().items():
        assert torch.equal(v, before[k]), k
    torch.testing.assert_close(lab.model.conv1.weight, before["conv1.weight"])


def test_too_many_images_per_class_is_explained():
    lab = FreezeLab(CourseNet(3), "handwritten", n_per_class=150, epochs=1, device="cpu")
    lab.button.click()
    assert "Cannot load the data" in lab.message.value and "150" in lab.message.value
    assert lab.runs == [] and lab.last_error is None
    with pytest.raises(ValueError, match="'train' and 'val'"):
        FreezeLab(CourseNet(3), "toy", data={"train": toy(20)})


def test_subsample_takes_n_per_class_and_refuses_too_many():
    x, y = toy(40)
    xs, ys = subsample((x, y), 3, seed=1)
    assert torch.bincount(ys).tolist() == [3, 3, 3, 3] and len(xs) == 12
    assert not torch.equal(subsample((x, y), 3, seed=2)[0], xs)
    with pytest.raises(ValueError, match="impossible"):
        subsample((x, y), 40)


def test_benchmark_reports_cached_and_uncached_seconds(lab):
    result = benchmark_retrain(lab, n_per_class=10, epochs=2)
    assert {"first_click_s", "retrain_click_s", "cached_fit_s", "uncached_fit_s", "speedup"} <= set(result)
    assert result["cached_val_acc"] == pytest.approx(result["uncached_val_acc"])  # the same training
    assert all(result[k] > 0 for k in ("cached_fit_s", "uncached_fit_s"))
