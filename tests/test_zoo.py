"""tlcourse.zoo: the hash-checked course checkpoint and the online ImageNet backbones (tested offline)."""
from __future__ import annotations

import json
import os
import socket
import time

import pytest
import torch

from tlcourse import zoo
from tlcourse.models import CourseNet


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    """A small valid checkpoint and manifest in tmp_path, standing in for data/ (never touched)."""
    torch.manual_seed(0)
    net = CourseNet(num_classes=3)
    path, manifest = tmp_path / "coursenet.pt", tmp_path / "coursenet.json"
    torch.save({"config": net.config, "state_dict": net.state_dict(), "classes": ["a", "b", "c"]}, path)
    manifest.write_text(json.dumps({"sha256": zoo.sha256(path)}))
    monkeypatch.setattr(zoo, "CHECKPOINT", path)
    monkeypatch.setattr(zoo, "MANIFEST", manifest)
    return path, net


def test_a_valid_checkpoint_loads(checkpoint):
    path, original = checkpoint
    net = zoo.load_pretrained()
    assert isinstance(net, CourseNet) and not net.training and net.classes == ["a", "b", "c"]
    assert torch.equal(net.conv1.weight, original.conv1.weight)


def test_missing_checkpoint_says_how_to_rebuild(checkpoint):
    path, _ = checkpoint
    path.unlink()
    with pytest.raises(zoo.CheckpointError, match=r"missing.*`tlcourse pretrain`"):
        zoo.load_pretrained()


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupt_checkpoint_says_how_to_rebuild(checkpoint, damage):
    path, _ = checkpoint
    blob = bytearray(path.read_bytes())
    if damage == "flip":
        blob[len(blob) // 2] ^= 0xFF
    else:
        del blob[len(blob) // 3:]
    path.write_bytes(bytes(blob))
    with pytest.raises(zoo.CheckpointError, match=r"corrupt: its sha256 is .*`tlcourse pretrain`"):
        zoo.load_pretrained()


def test_missing_manifest_or_unloadable_file_says_how_to_rebuild(checkpoint):
    path, _ = checkpoint
    zoo.MANIFEST.unlink()
    with pytest.raises(zoo.CheckpointError, match=r"cannot read .*coursenet.json.*`tlcourse pretrain`"):
        zoo.load_pretrained()
    path.write_bytes(b"not a checkpoint")  # a matching hash but no network inside
    zoo.MANIFEST.write_text(json.dumps({"sha256": zoo.sha256(path)}))
    with pytest.raises(zoo.CheckpointError, match=r"cannot load .*UnpicklingError.*`tlcourse pretrain`"):
        zoo.load_pretrained()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case someone called torch.hub.set_dir
    return tmp_path


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (test)")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("name", ["resnet18", "alexnet"])
def test_imagenet_backbone_loads_planted_weights_offline(torch_home, offline, name):
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    planted = torchvision.models.get_model(name, weights=None)
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(planted.state_dict(), folder / os.path.basename(weights.url))
    model = zoo.imagenet_backbone(name)
    assert not model.training
    first = next(iter(planted.state_dict()))
    assert torch.equal(model.state_dict()[first], planted.state_dict()[first])


def test_imagenet_backbone_offline_fails_fast_with_a_message(torch_home, offline):
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"online option.*resnet18-.*\.pth"):
        zoo.imagenet_backbone("resnet18")
    assert time.perf_counter() - start < 5


def test_imagenet_backbone_gives_up_on_a_network_that_never_answers(torch_home, monkeypatch):
    def hang(*args, **kwargs):  # a lookup that answers long after we gave up
        time.sleep(10)
        raise OSError("timed out (test)")
    monkeypatch.setattr(socket, "create_connection", hang)
    monkeypatch.setattr(socket, "getaddrinfo", hang)
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="no answer in 1 s"):
        zoo.imagenet_backbone("alexnet", timeout=1)
    assert time.perf_counter() - start < 4


def test_unreadable_cached_backbone_says_what_to_delete(torch_home, offline):
    import torchvision

    weights = torchvision.models.get_model_weights("resnet18").DEFAULT
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / os.path.basename(weights.url)).write_bytes(b"half a download")
    with pytest.raises(RuntimeError, match="delete it"):
        zoo.imagenet_backbone("resnet18")


def test_unknown_backbone_is_rejected():
    with pytest.raises(ValueError, match="resnet18"):
        zoo.imagenet_backbone("resnet1000")
