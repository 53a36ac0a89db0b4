"""The online datasets, tested offline: planted files load without the network, missing ones fail fast."""
from __future__ import annotations

import bz2
import socket
import struct
import time

import numpy as np
import pytest
import torch

from tlcourse import domains
from tlcourse.domains import online


@pytest.fixture
def offline(monkeypatch):
    """Every new connection and name lookup fails, as on a machine without a network."""
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (test)")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the idx format MNIST ships in."""
    magic = struct.pack(">HBB", 0, 0x08, array.ndim)
    path.write_bytes(magic + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())


def plant_mnist(root, n_train: int = 60, n_test: int = 20) -> dict[str, np.ndarray]:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    planted = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = np.zeros((n, 28, 28), np.uint8)
        x[:, 8:20, 12:16] = rng.integers(150, 256, (n, 12, 4))  # a bright stroke on black
        y = np.arange(n, dtype=np.uint8) % 10
        _idx(raw / f"{prefix}-images-idx3-ubyte", x)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", y)
        planted[prefix] = x
    return planted


def plant_usps(root, n: int = 30) -> None:
    """USPS in libsvm format: ``label index:value ...`` with labels 1..10 and values in [-1, 1]."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("usps.bz2", "usps.t.bz2"):
        lines = []
        for i in range(n):
            img = -np.ones((16, 16))
            img[3:13, 7:9] = 1.0  # a vertical white stroke
            values = " ".join(f"{k + 1}:{v:.1f}" for k, v in enumerate(img.ravel()))
            lines.append(f"{i % 10 + 1} {values}\n")
        (root / name).write_bytes(bz2.compress("".join(lines).encode()))


def test_planted_mnist_loads_offline(tmp_path, offline):
    planted = plant_mnist(tmp_path)
    test = domains.load_online("mnist", "test", root=tmp_path)
    assert test.x.shape == (20, 1, 28, 28) and test.x.dtype == torch.float32
    assert test.classes == [str(d) for d in range(10)] and (test.name, test.split) == ("mnist", "test")
    assert torch.allclose(test.x[:, 0], torch.from_numpy(planted["t10k"]).float() / 255)
    assert test.y.tolist() == [i % 10 for i in range(20)]
    train, val = (domains.load_online("mnist", s, root=tmp_path) for s in ("train", "val"))
    assert len(train) + len(val) == 60 and len(val) == 6  # a fixed 10% of train is the val split
    both = torch.cat([train.x, val.x]).flatten(1)
    assert len(torch.unique(both, dim=0)) == 60  # disjoint
    small = domains.load_online("mnist", "train", root=tmp_path, n_per_class=2, seed=1)
    assert len(small) == 20 and torch.bincount(small.y).tolist() == [2] * 10


def test_planted_usps_is_brought_to_28x28_with_bright_ink(tmp_path, offline):
    plant_usps(tmp_path)
    ds = domains.load_online("usps", "test", root=tmp_path)
    assert ds.x.shape == (30, 1, 28, 28) and 0 <= ds.x.min() and ds.x.max() <= 1
    assert ds.x[:, 0, :4].max() == 0 and ds.x[:, 0, :, :4].max() == 0  # the 4-pixel margin is dark
    assert ds.x[:, 0, 10:18, 13:15].min() > 0.9  # the stroke is bright
    assert ds.y.tolist()[:11] == list(range(10)) + [0]


def test_conversion_of_rgb_and_dark_digits():
    plate = np.full((2, 32, 32, 3), 220, np.uint8)  # SVHN-like: dark digit on a light plate
    plate[:, 8:24, 14:18] = 20
    x = online.to_course("svhn", plate)
    assert x.shape == (2, 1, 28, 28)
    assert x[:, 0, 12, 14].min() > 0.7 and x[:, 0, 1, 1].max() < 0.3  # inverted: ink bright
    photo = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    y = online.to_course("cifar10", photo)
    assert y.shape == (3, 1, 28, 28) and 0 <= y.min() and y.max() <= 1


@pytest.mark.parametrize("name", ["mnist", "usps", "svhn", "cifar10"])
def test_missing_files_offline_fail_fast_with_a_message(tmp_path, offline, name):
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="online option.*connect to the internet"):
        domains.load_online(name, "train", root=tmp_path)
    assert time.perf_counter() - start < 5
    assert not any(p.is_file() and p.stat().st_size for p in tmp_path.rglob("*"))


def test_a_network_that_never_answers_is_given_up_after_the_timeout(tmp_path, monkeypatch):
    def hang(*args, **kwargs):  # a lookup that answers long after we gave up
        time.sleep(10)
        raise OSError("timed out (test)")
    monkeypatch.setattr(socket, "create_connection", hang)
    monkeypatch.setattr(socket, "getaddrinfo", hang)
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="no answer in 1 s"):
        domains.load_online("usps", "test", root=tmp_path, timeout=1)
    assert time.perf_counter() - start < 3


def test_download_false_and_bad_names(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        domains.load_online("mnist", "train", root=tmp_path, download=False)
    with pytest.raises(ValueError, match="available: mnist, usps, svhn, cifar10"):
        domains.load_online("imagenet")
    with pytest.raises(ValueError, match="use one of train, val, test"):
        domains.load_online("mnist", "validation", root=tmp_path)


def test_default_root_is_torch_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert online.default_root() == tmp_path / "datasets"
