"""Online option: classic torchvision datasets in the course's conventions.

    >>> from tlcourse import domains
    >>> mnist = domains.load_online("mnist", "train", n_per_class=100)   # downloads once if needed

Every image becomes what the embedded domains give: 1 x 28 x 28 float32 in [0, 1], ink bright on
a dark background. MNIST already is; USPS (16 x 16) is enlarged to 20 x 20 inside a 28 x 28 canvas,
as MNIST's digits are; SVHN and CIFAR-10 are turned grey and shrunk to 28 x 28, and an SVHN image
whose centre is darker than its border (dark digits on a light plate) is inverted. torchvision
only has train and test sets, so a fixed 10% of each training set is set aside as ``"val"``.

Files live where torchvision keeps them: ``root`` if given, else ``$TORCH_HOME/datasets`` (by
default ``~/.cache/torch/datasets``). With the files there nothing touches the network. Without
them, ``download=True`` fetches them; offline that fails within seconds with a message that says
what to do, instead of hanging.
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import numpy as np
import torch
import torch.nn.functional as F

from tlcourse.domains import SPLITS, DomainData, subset_indices

DIGITS = [str(d) for d in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class _Online:
    cls: str                                      # the torchvision.datasets class
    classes: list[str]
    train_arg: Callable[[bool], dict[str, Any]]   # train? -> the class's split argument
    url: Callable[[type], str]                    # where that class downloads from (probed first)


_REGISTRY: dict[str, _Online] = {
    "mnist": _Online("MNIST", DIGITS, lambda train: {"train": train}, lambda c: c.mirrors[0]),
    "usps": _Online("USPS", DIGITS, lambda train: {"train": train}, lambda c: c.split_list["train"][0]),
    "svhn": _Online("SVHN", DIGITS, lambda train: {"split": "train" if train else "test"},
                    lambda c: c.split_list["train"][0]),
    "cifar10": _Online("CIFAR10", CIFAR10_CLASSES, lambda train: {"train": train}, lambda c: c.url),
}


def available() -> list[str]:
    """Names accepted by :func:`load_online`."""
    return list(_REGISTRY)


def default_root() -> Path:
    """torch's usual dataset cache: ``$TORCH_HOME/datasets`` (``~/.cache/torch/datasets``)."""
    return Path(torch.hub.get_dir()).parent / "datasets"


def check_connection(url: str, timeout: float = 5.0) -> None:
    """Raise ``ConnectionError`` unless ``url``'s host accepts a connection within ``timeout`` s.

    Runs in a thread so that even a name lookup that never answers cannot hold us longer.
    """
    parts = urlparse(url)
    address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            outcome.append(None)
        except OSError as err:
            outcome.append(err)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome or outcome[0] is not None:
        why = f"{type(outcome[0]).__name__}: {outcome[0]}" if outcome else f"no answer in {timeout:g} s"
        raise ConnectionError(f"cannot reach {address[0]} ({why})")


def open_dataset(name: str, cls: str, kwargs: dict[str, Any], url: Callable[[type], str], root: Path,
                 download: bool, timeout: float) -> Any:
    """torchvision's ``cls(root, **kwargs)`` for dataset ``name``: from the files in ``root`` without touching
    the network; else, with ``download``, fetched after probing ``url(cls)`` for ``timeout`` s, or a clear error."""
    import torchvision.datasets as tvd

    make = getattr(tvd, cls)
    try:  # files already there: load them without touching the network
        return make(str(root), download=False, **kwargs)
    except (RuntimeError, OSError) as missing:
        if not download:
            raise FileNotFoundError(
                f"{name} is not in {root} ({missing}). Pass download=True (needs the internet) or put "
                f"torchvision's {cls} files there.") from None
    old = socket.getdefaulttimeout()
    try:
        check_connection(url(make), timeout)
        socket.setdefaulttimeout(timeout)  # a stalled transfer fails instead of hanging
        return make(str(root), download=True, **kwargs)
    except (OSError, RuntimeError) as err:  # URLError, timeouts, DNS; torchvision's mirror errors
        raise ConnectionError(
            f"could not download {name} into {root} ({type(err).__name__}: {err}). This is an online "
            f"option: connect to the internet, or copy torchvision's {cls} files there. "
            f"Everything else in the course works offline.") from None
    finally:
        socket.setdefaulttimeout(old)


def _raw(name: str, train: bool, root: Path, download: bool, timeout: float) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's images (N, H, W) or (N, H, W, 3) as uint8 and labels, from torchvision."""
    spec = _REGISTRY[name]
    ds = open_dataset(name, spec.cls, spec.train_arg(train), spec.url, root, download, timeout)
    data = ds.data.numpy() if torch.is_tensor(ds.data) else np.asarray(ds.data)
    if name == "svhn":
        data = data.transpose(0, 2, 3, 1)  # torchvision keeps SVHN channels first
    labels = ds.labels if name == "svhn" else ds.targets
    return data, np.asarray(labels, dtype=np.int64)


def to_course(name: str, images: np.ndarray) -> torch.Tensor:
    """uint8 images of dataset ``name`` -> (N, 1, 28, 28) float32 in [0, 1], ink bright."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float() / 255
    if x.dim() == 4:  # RGB -> grey (ITU-R 601 luma)
        x = x @ torch.tensor([0.299, 0.587, 0.114])
    x = x[:, None]
    if name == "usps":
        x = F.pad(F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False), (4, 4, 4, 4))
    elif x.shape[-1] != 28:
        x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False, antialias=True)
    if name == "svhn":
        centre = x[..., 9:19, 9:19].mean((1, 2, 3))
        border = torch.cat([x[..., :3, :].flatten(1), x[..., -3:, :].flatten(1)], 1).mean(1)
        flip = centre < border
        x[flip] = 1 - x[flip]
    return x.clamp_(0, 1)


def _split(n: int, split: str) -> np.ndarray:
    """Fixed indices of ``train``/``val`` within a torchvision training set of ``n`` images."""
    order = np.random.default_rng(20240).permutation(n)
    n_val = max(1, round(VAL_FRACTION * n))
    return np.sort(order[:n_val] if split == "val" else order[n_val:])


def load_online(name: str, split: str = "train", root: str | os.PathLike | None = None, download: bool = True,
                n_per_class: int | None = None, seed: int = 0, timeout: float = 10.0) -> DomainData:
    """One split of a torchvision dataset (``available()``: mnist, usps, svhn, cifar10) as a
    :class:`DomainData`, optionally ``n_per_class`` images of every class chosen with ``seed``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown online dataset {name!r}; available: {', '.join(_REGISTRY)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    root = Path(root).expanduser() if root is not None else default_root()
    images, y = _raw(name, split != "test", root, download, timeout)
    if split != "test":
        keep = _split(len(y), split)
        images, y = images[keep], y[keep]
    classes = _REGISTRY[name].classes
    if n_per_class is not None:
        keep = subset_indices(y, int(n_per_class), seed, classes, f" for {name!r} {split}")
        images, y = images[keep], y[keep]
    return DomainData(to_course(name, images), torch.from_numpy(y), list(classes), name, split)


__all__ = ["available", "check_connection", "default_root", "load_online", "open_dataset", "to_course"]
