"""The online colour targets of lesson 08 (DTD, Flowers-102, CIFAR-100), tested offline with planted files."""
from __future__ import annotations

import os
import pickle
import time

import numpy as np
import pytest
import torch
from PIL import Image
from test_online import offline  # noqa: F401  (fixture: no network)

from tlcourse import domains
from tlcourse.domains import online_colour

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]


@pytest.fixture
def fake_md5(monkeypatch):
    """Planted files are not the real ones: torchvision checks that they exist, not their md5."""
    import torchvision.datasets.cifar as cifar
    import torchvision.datasets.flowers102 as flowers

    def exists(path, md5=None):
        return os.path.isfile(path)
    monkeypatch.setattr(cifar, "check_integrity", exists)
    monkeypatch.setattr(flowers, "check_integrity", exists)


def _photo(path, colour, height: int = 60, width: int = 90) -> None:
    """A landscape photo: a flat ``colour`` square in the middle, white bands left and right."""
    image = np.full((height, width, 3), 255, np.uint8)
    side = min(height, width)
    left = (width - side) // 2
    image[:, left:left + side] = colour
    Image.fromarray(image).save(path, quality=95)


def plant_dtd(root, per_split: int = 2) -> list[str]:
    classes = ["banded", "dotted", "striped"]
    data = root / "dtd" / "dtd"
    (data / "labels").mkdir(parents=True)
    for split_no, split in enumerate(("train", "val", "test")):
        lines = []
        for c, (cls, colour) in enumerate(zip(classes, COLOURS)):
            (data / "images" / cls).mkdir(parents=True, exist_ok=True)
            for k in range(per_split):
                name = f"{cls}_{split_no}{k:03d}.jpg"
                _photo(data / "images" / cls / name, colour)
                lines.append(f"{cls}/{name}\n")
        (data / "labels" / f"{split}1.txt").write_text("".join(lines))
    return classes


def plant_flowers(root, per_split=(1, 1, 2)) -> dict[str, list[int]]:
    """102 classes (torchvision's), ``per_split`` images of each in train, val, test; labels in the .mat files."""
    from scipy.io import savemat

    base = root / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    labels, ids = [], {"trnid": [], "valid": [], "tstid": []}
    for key, n in zip(ids, per_split):
        for c in range(102):
            for _ in range(n):
                labels.append(c + 1)  # 1-based in the .mat file
                ids[key].append(len(labels))
                _photo(base / "jpg" / f"image_{len(labels):05d}.jpg", COLOURS[c % 3], 24, 36)
    savemat(base / "imagelabels.mat", {"labels": np.array(labels)})
    savemat(base / "setid.mat", {k: np.array(v) for k, v in ids.items()})
    return ids


def plant_cifar100(root, n_train: int = 5, n_test: int = 1) -> None:
    base = root / "cifar-100-python"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("train", n_train), ("test", n_test)):
        y = np.repeat(np.arange(100), n)
        data = rng.integers(0, 256, (len(y), 3 * 32 * 32), dtype=np.uint8)
        with open(base / name, "wb") as f:
            pickle.dump({"data": data, "fine_labels": y.tolist(), "coarse_labels": (y // 5).tolist()}, f)
    with open(base / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"class{c:02d}" for c in range(100)]}, f)


def _check_colour(ds, n: int, n_classes: int) -> None:
    assert ds.x.shape == (n, 3, 96, 96) and ds.x.dtype == torch.float32
    assert 0 <= ds.x.min() and ds.x.max() <= 1
    assert ds.y.dtype == torch.int64 and len(ds.classes) == n_classes == ds.num_classes


def test_planted_dtd_gives_colour_images_of_its_splits(tmp_path, offline):  # noqa: F811
    classes = plant_dtd(tmp_path)
    for split in ("train", "val", "test"):
        ds = domains.load_online_colour("dtd", split, root=tmp_path)
        _check_colour(ds, 6, 3)
        assert ds.classes == classes and ds.y.tolist() == [0, 0, 1, 1, 2, 2]
        assert (ds.name, ds.split, ds.options) == ("dtd", split, {"strength": 0.0})
        # the central square is kept: each image is its class's flat colour, without the white bands
        for c, colour in enumerate(COLOURS):
            mean = ds.x[ds.y == c].mean((0, 2, 3))
            assert torch.allclose(mean, torch.tensor(colour) / 255, atol=0.05), (c, mean)
    small = domains.load_online_colour("dtd", "train", root=tmp_path, n_per_class=1, seed=1)
    assert small.y.tolist() == [0, 1, 2]
    shifted = domains.load_online_colour("dtd", "test", root=tmp_path, strength=1.0)
    assert shifted.options == {"strength": 1.0}
    assert (shifted.x.std(1) < 0.01).all()  # grey: the three channels agree


def test_planted_flowers102_has_102_classes_and_its_splits(tmp_path, offline, fake_md5):  # noqa: F811
    plant_flowers(tmp_path)
    train = domains.load_online_colour("flowers102", "train", root=tmp_path)
    _check_colour(train, 102, 102)
    assert train.classes[0] == "pink primrose" and train.y.tolist() == list(range(102))
    test = domains.load_online_colour("flowers102", "test", root=tmp_path, n_per_class=1, seed=0)
    _check_colour(test, 102, 102)
    assert torch.bincount(test.y).tolist() == [1] * 102
    with pytest.raises(ValueError, match="n_per_class=2 is impossible for 'flowers102' val"):
        domains.load_online_colour("flowers102", "val", root=tmp_path, n_per_class=2)


def test_planted_cifar100_is_enlarged_and_splits_val_from_train(tmp_path, offline, fake_md5):  # noqa: F811
    plant_cifar100(tmp_path)
    test = domains.load_online_colour("cifar100", "test", root=tmp_path)
    _check_colour(test, 100, 100)
    assert test.classes[:2] == ["class00", "class01"] and test.y.tolist() == list(range(100))
    train, val = (domains.load_online_colour("cifar100", s, root=tmp_path) for s in ("train", "val"))
    assert len(train) + len(val) == 500 and len(val) == 50  # a fixed 10% of train is val
    assert len(torch.unique(torch.cat([train.x, val.x]).flatten(1), dim=0)) == 500  # disjoint
    small = domains.load_online_colour("cifar100", "train", root=tmp_path, n_per_class=2, seed=3)
    _check_colour(small, 200, 100)
    assert torch.bincount(small.y).tolist() == [2] * 100


@pytest.mark.parametrize("name", online_colour.available())
def test_missing_files_offline_fail_fast_with_a_message(tmp_path, offline, name):  # noqa: F811
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="online option.*connect to the internet"):
        domains.load_online_colour(name, "train", root=tmp_path)
    assert time.perf_counter() - start < 5
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_bad_names_splits_and_strengths(tmp_path):
    with pytest.raises(ValueError, match="available: dtd, flowers102, cifar100"):
        domains.load_online_colour("imagenet")
    with pytest.raises(ValueError, match="use one of train, val, test"):
        domains.load_online_colour("dtd", "validation", root=tmp_path)
    with pytest.raises(ValueError, match=r"strength must be in \[0, 1\]"):
        domains.load_online_colour("dtd", "test", root=tmp_path, strength=2)
    with pytest.raises(FileNotFoundError, match="download=True"):
        domains.load_online_colour("dtd", "test", root=tmp_path, download=False)
