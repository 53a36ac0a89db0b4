"""Unit tests of tlcourse.shift (MMD, domain classifier, proxy A-distance, ranking, label shift) and
tlcourse.probe, on small synthetic samples."""
from __future__ import annotations

import pytest
import torch

from tlcourse import shift
from tlcourse.domains import DomainData
from tlcourse.models import CourseNet
from tlcourse.probe import linear_probe, probe_accuracy, shared_class_accuracy


def gaussian(n: int, shift_by: float = 0.0, d: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift_by


def images(n: int, brightness: float, seed: int = 0, classes: int = 2) -> DomainData:
    """A tiny domain: noise images around a brightness, labels cycling through the classes."""
    g = torch.Generator().manual_seed(seed)
    x = (brightness + 0.1 * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)
    return DomainData(x, torch.arange(n) % classes, [str(c) for c in range(classes)], f"b{brightness:g}", "val")


def test_proxy_a_distance():
    assert shift.proxy_a_distance(0.5) == 0 and shift.proxy_a_distance(0.0) == 2
    assert shift.proxy_a_distance(0.25) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        shift.proxy_a_distance(1.5)


def test_mmd_is_about_zero_for_one_distribution_and_grows_with_the_shift():
    same = shift.mmd(gaussian(200, seed=1), gaussian(200, seed=2))
    assert abs(same) < 0.02
    values = [shift.mmd(gaussian(200, seed=1), gaussian(200, s, seed=2)) for s in (0.25, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] > same and values[-1] > 0.5
    assert shift.mmd(gaussian(50), gaussian(60, 1.0), sigma=2.0) > 0  # an explicit bandwidth, unequal sizes


def test_domain_classifier_accuracy_is_chance_for_one_distribution():
    assert 0.3 < shift.domain_classifier_accuracy(gaussian(150, seed=1), gaussian(150, seed=2)) < 0.7
    assert shift.domain_classifier_accuracy(gaussian(150, seed=1), gaussian(150, 3.0, seed=2)) > 0.95
    with pytest.raises(ValueError, match="folds"):
        shift.domain_classifier_accuracy(gaussian(3), gaussian(3), folds=5)


def test_features_raw_pixels_model_and_subsampling():
    ds = images(40, 0.3)
    assert shift.features(ds).shape == (40, 784)
    a, b = shift.features(ds, n=10, seed=1), shift.features(ds, n=10, seed=1)
    assert a.shape == (10, 784) and torch.equal(a, b)
    assert not torch.equal(a, shift.features(ds, n=10, seed=2))
    torch.manual_seed(0)
    assert shift.features(ds, CourseNet(5), upto="fc2", n=7).shape == (7, 128)
    assert shift.features(ds, CourseNet(5), upto="conv3", n=7).shape == (7, 576)
    assert shift.features(gaussian(30), n=5).shape == (5, 8)  # features given directly
    with pytest.raises(ValueError, match="at least 2"):
        shift.features(ds, n=1)


def test_measure_rank_pairs_and_table():
    dark, same, bright = images(60, 0.2, seed=1), images(60, 0.2, seed=2), images(60, 0.8, seed=3)
    same.name = "same"
    rows = shift.rank_pairs([(dark, bright), (dark, same)], n=40)
    assert [r.target for r in rows] == ["same", "b0.8"]
    assert rows[0].mmd < rows[1].mmd and rows[1].domain_acc > 0.95 and rows[1].n == 40
    assert rows[1].a_distance == pytest.approx(shift.proxy_a_distance(1 - rows[1].domain_acc))
    assert [r.target for r in shift.rank_pairs([(dark, bright), (dark, same)], n=40, by="a_distance")] == [
        "same", "b0.8"]
    table = shift.format_table(rows)
    assert "b0.2 -> same" in table and "proxy A-dist" in table and len(table.splitlines()) == 3
    with pytest.raises(ValueError, match="'mmd' or 'a_distance'"):
        shift.rank_pairs([(dark, same)], by="accuracy")
    assert shift.measure(dark, images(10, 0.8), n=300).n == 10  # the smaller domain caps n


def test_label_names_domains_with_their_options():
    ds = DomainData(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long), ["0"], "digits-on-photos",
                    "val", {"strength": 0.5})
    assert shift.label(ds) == "digits-on-photos(strength=0.5)"
    assert shift.label("glyphs") == "glyphs"


def test_class_histogram():
    h = shift.class_histogram(torch.tensor([0, 0, 1, 3]), 4)
    assert h.tolist() == [0.5, 0.25, 0.0, 0.25]
    with pytest.raises(ValueError, match="num_classes"):
        shift.class_histogram(torch.tensor([0, 5]), 3)


def test_label_shift_changes_p_y_and_keeps_every_image_with_its_label():
    ds = images(400, 0.5, classes=4)  # 100 per class
    ds.x[:, 0, 0, 0] = torch.arange(400) / 400  # a unique mark per image
    out = shift.label_shift(ds, [4, 2, 1, 1], n=200, seed=0)
    assert torch.bincount(out.y, minlength=4).tolist() == [100, 50, 25, 25]
    original = (out.x[:, 0, 0, 0] * 400).round().long()
    assert torch.equal(ds.y[original], out.y) and len(original.unique()) == 200  # labels kept, no repeats
    assert len(shift.label_shift(ds, [4, 2, 1, 1])) == 200  # the largest possible: class 0 has 100 images
    assert (shift.label_shift(ds, [1, 0, 0, 1], seed=1).y % 3 == 0).all()
    assert not torch.equal(out.x, shift.label_shift(ds, [4, 2, 1, 1], n=200, seed=1).x)
    with pytest.raises(ValueError, match="at most 200"):
        shift.label_shift(ds, [4, 2, 1, 1], n=300)
    with pytest.raises(ValueError, match="4 non-negative numbers"):
        shift.label_shift(ds, [1, 1])


def test_probe_accuracy_and_linear_probe():
    centres = torch.randn(3, 8, generator=torch.Generator().manual_seed(0)) * 5
    y = torch.arange(90) % 3
    x = centres[y] + gaussian(90)
    assert probe_accuracy(x[:45], y[:45], x[45:], y[45:]) > 0.95
    shuffled = y[:45][torch.randperm(45, generator=torch.Generator().manual_seed(1))]
    assert probe_accuracy(x[:45], shuffled, x[45:], y[45:]) < 0.8
    torch.manual_seed(0)
    net = CourseNet(2)
    train, test = images(40, 0.2, seed=1), images(40, 0.2, seed=2)
    train.x[train.y == 1] += 0.5  # class 1 is brighter
    test.x[test.y == 1] += 0.5
    assert linear_probe(net, train, test, "conv3") > 0.9


def test_shared_class_accuracy_matches_classes_by_name():
    torch.manual_seed(0)
    net = CourseNet(3).eval()
    ds = images(30, 0.5, classes=2)
    logits = net(ds.x).detach()
    names = ["x", "1", "0"]  # the data's class "0" is the model's column 2
    want = (logits[:, [2, 1]].argmax(1) == ds.y).float().mean().item()
    assert shared_class_accuracy(net, ds, names) == pytest.approx(want)
    with pytest.raises(ValueError, match="no class '1'"):
        shared_class_accuracy(net, ds, ["0", "a", "b"])
