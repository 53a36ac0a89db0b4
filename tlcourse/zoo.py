"""Pretrained networks: the course's own checkpoint (offline) and ImageNet backbones (online option).

The course network pretrained on the ``glyphs`` source domain ships in ``data/coursenet.pt``;
``data/coursenet.json`` records its sha256, classes and accuracy. Loading checks the hash, so a
truncated or edited file is caught with a message saying how to rebuild it::

    tlcourse pretrain          # retrains from scratch (about a minute on a laptop CPU)
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

import torch
from torch import nn

from tlcourse.i18n import tr
from tlcourse.models import CourseNet
from tlcourse.runtime import DATA_DIR, get_device, seed_everything

CHECKPOINT = DATA_DIR / "coursenet.pt"
MANIFEST = DATA_DIR / "coursenet.json"
REBUILD = "Rebuild it with `tlcourse pretrain` (about a minute on a laptop CPU)."  # English; tr(REBUILD) for a learner

#: The recipe of the shipped checkpoint; ``tlcourse pretrain`` uses it unchanged.
RECIPE = {"domain": "glyphs", "epochs": 6, "lr": 3e-3, "batch_size": 128, "schedule": "onecycle", "seed": 0}

#: torchvision ImageNet backbones the course knows how to use (online option).
BACKBONES = ("resnet18", "vgg11", "alexnet")


class CheckpointError(RuntimeError):
    """The course checkpoint is missing or does not match its recorded hash."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest() -> dict:
    """What ``data/coursenet.json`` records about the shipped checkpoint."""
    try:
        return json.loads(MANIFEST.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(tr("cannot read {path} ({error}). {rebuild}", path=MANIFEST, error=err,
                                 rebuild=tr(REBUILD))) from None


def _first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:200]}"


def load_pretrained(path: Path | None = None, verify: bool = True) -> CourseNet:
    """The course network trained on the source domain, in eval mode, with ``.classes`` set."""
    path = Path(path) if path else CHECKPOINT
    if not path.exists():
        raise CheckpointError(tr("the course checkpoint {path} is missing. {rebuild}", path=path, rebuild=tr(REBUILD)))
    if verify and path == CHECKPOINT:
        expected, actual = manifest()["sha256"], sha256(path)
        if actual != expected:
            raise CheckpointError(tr("the course checkpoint {path} is corrupt: its sha256 is {actual}..., "
                                     "expected {expected}... {rebuild}", path=path, actual=actual[:12],
                                     expected=expected[:12], rebuild=tr(REBUILD)))
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = CourseNet(**blob["config"])
        net.load_state_dict(blob["state_dict"])
    except Exception as err:  # torch's own message can run to many lines: keep its first
        raise CheckpointError(tr("cannot load {path} ({error}). {rebuild}", path=path, error=_first_line(err),
                                 rebuild=tr(REBUILD))) from None
    net.classes = list(blob["classes"])
    return net.eval()


def pretrain(out: Path | None = None, epochs: int | None = None, seed: int | None = None,
             show_progress: bool = True) -> tuple[CourseNet, dict]:
    """Train the course network on ``glyphs`` from scratch and save it with its manifest.

    Returns the network and a report with its source validation/test accuracy and training time.
    """
    from tlcourse import domains
    from tlcourse.train import evaluate, fit

    recipe = dict(RECIPE, **{k: v for k, v in {"epochs": epochs, "seed": seed}.items() if v is not None})
    out = Path(out) if out else CHECKPOINT
    train, val, test = (domains.load(recipe["domain"], split=s) for s in ("train", "val", "test"))
    seed_everything(recipe["seed"])
    net = CourseNet(num_classes=len(train.classes))
    start = time.perf_counter()
    history = fit(net, train, val, epochs=recipe["epochs"], lr=recipe["lr"], batch_size=recipe["batch_size"],
                  schedule=recipe["schedule"], seed=recipe["seed"], device=get_device(),
                  show_progress=show_progress)
    seconds = time.perf_counter() - start
    net.cpu().eval()
    report = {"val_acc": history.best["val_acc"], "test_acc": evaluate(net, test)["acc"],
              "train_seconds": round(seconds, 1), "recipe": recipe, "classes": list(train.classes)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({"config": net.config, "state_dict": net.state_dict(), "classes": list(train.classes)}, tmp)
    os.replace(tmp, out)
    report["sha256"] = sha256(out)
    if out == CHECKPOINT:
        MANIFEST.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    net.classes = list(train.classes)
    return net, report


def _torch_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_backbone(name: str = "resnet18", timeout: float = 10.0) -> nn.Module:
    """A torchvision ImageNet model with pretrained weights (online option).

    Weights come from torch's usual cache (``$TORCH_HOME/hub/checkpoints``) when present; otherwise
    they are downloaded, which needs a network: offline this fails within ``timeout`` seconds with
    a message instead of hanging.
    """
    import torchvision

    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {BACKBONES}")
    weights = torchvision.models.get_model_weights(name).DEFAULT
    model = torchvision.models.get_model(name, weights=None)
    cached = _torch_checkpoint_dir() / os.path.basename(weights.url)
    if cached.exists():
        try:
            model.load_state_dict(torch.load(cached, map_location="cpu", weights_only=True))
        except Exception as err:
            raise RuntimeError(f"the cached weights {cached} are unreadable ({_first_line(err)}); "
                               f"delete it and run again to download them afresh") from None
        return model.eval()
    from tlcourse.domains.online import check_connection

    old = socket.getdefaulttimeout()
    try:
        check_connection(weights.url, timeout)  # bounded even when a name lookup never answers
        socket.setdefaulttimeout(timeout)
        model.load_state_dict(weights.get_state_dict(progress=False))
    except OSError as err:  # URLError, timeouts and DNS failures are all OSErrors
        raise ConnectionError(
            f"could not download the ImageNet weights of {name} ({type(err).__name__}: {err}). "
            f"This is an online option: connect to the internet, or place the file {cached.name} in "
            f"{cached.parent}. Everything else in the course works offline.") from None
    finally:
        socket.setdefaulttimeout(old)
    return model.eval()
