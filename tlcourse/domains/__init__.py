"""The course's domains: every dataset a lesson uses, generated from what pip installs (no downloads).

    >>> from tlcourse import domains
    >>> train = domains.load("glyphs", "train")              # the whole split
    >>> small = domains.load("handwritten", "train", n_per_class=10, seed=1)
    >>> train.x.shape, train.y.shape, train.classes[:3]      # (N, 1, 28, 28) float32, (N,) int64
    >>> domains.show(small)                                   # a grid of samples with class names

Every image is 1 x 28 x 28, float32 in [0, 1], ink/foreground bright on a dark background.
Splits (``"train"``, ``"val"``, ``"test"``) are fixed and disjoint, whatever the ``seed``; the seed
only chooses which images ``n_per_class`` keeps. Generated domains are cached on disk under
``runtime.cache_dir()`` (delete it any time: it is rebuilt in seconds).

===================  =======================================  =================  =================================
name                 classes                                  per class          role in the course
                                                              train/val/test
===================  =======================================  =================  =================================
``glyphs``           60: digits, lowercase (no l, o), Greek   600 / 100 / 100    the broad **source** the course
                     lowercase (no theta, iota, nu,                               network is pretrained on
                     omicron, upsilon, chi), ``+ = # $ % & @ ?``
``digits-printed``   10: "0".."9", rendered like ``glyphs``   1000 / 200 / 200   source of the digit shifts below
``letters``          26: "A".."Z", held out of the source     1000 / 200 / 200   **similar** target: new classes,
                                                                                 same domain
``handwritten``      10: "0".."9", sklearn ``load_digits``    ~108 / 36 / 36     **similar** task, real shift:
                     upsampled (1797 images, 60/20/20)        (1078/359/360)     printed -> handwritten
``photos``           10: patches of skimage images (brick,    1000 / 200 / 200   **different** target (textures
                     grass, gravel, coffee, cat, astronaut,                      and photos), disjoint strips
                     rocket, camera, coins, moon)                                per split
``shapes``           10: circle, square, triangle, star,      1000 / 200 / 200   different task sharing strokes
                     heart, plus, arrow, spiral, zigzag, wave                    (partial / negative transfer)
``digits-on-photos`` 10: printed digits blended on photo      1000 / 200 / 200   the adaptation lessons' main
                     patches, ``strength=1.0`` (MNIST-M)                         shift
``digits-rotated``   10: printed digits turned by             1000 / 200 / 200   a shift with a dial
                     ``strength * 90`` degrees (default 0.5)
``digits-inverted``  10: a fraction ``strength`` of printed   1000 / 200 / 200   contrast-reversal shift
                     digits drawn dark on bright (default 1)
``colour-photos``    10: 3 x 96 x 96 colour patches of skimage  100 / 20 / 20      lesson 08's target for a real
                     photos/textures; ``strength`` (default 0)                    ImageNet backbone
                     zooms in and greys them (a shifted test)
===================  =======================================  =================  =================================

The shifted ``digits-*`` domains give back exactly ``digits-printed`` at ``strength=0`` (same split,
same order), so a lesson can turn a shift up from nothing. ``available()`` lists the names.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import runtime
from ..i18n import tr
from . import colour_photos, glyphs, handwritten, photos, shapes, shifted

SPLITS = ("train", "val", "test")
#: Bump when any generator changes: old cache files are then ignored.
VERSION = 5


@dataclass
class DomainData(Dataset):
    """One split of a domain: ``x`` (N, 1, 28, 28) float32 in [0, 1], ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor
    classes: list[str]
    name: str
    split: str
    options: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v}" for k, v in self.options.items())
        return f"DomainData({self.name!r}, {self.split!r}{opts}: {len(self)} images, {self.num_classes} classes)"


@dataclass(frozen=True)
class _Domain:
    description: str
    classes: list[str]
    build: Callable[..., tuple[np.ndarray, np.ndarray]]  # (split, **options) -> uint8 x, int64 y
    options: dict[str, Any] = field(default_factory=dict)


PER_CLASS = {"train": 1000, "val": 200, "test": 200}
GLYPHS_PER_CLASS = {"train": 600, "val": 100, "test": 100}


def _rng(name: str, split: str) -> np.random.Generator:
    """The fixed random stream of one split of one domain (independent of any user seed)."""
    return np.random.default_rng([zlib.crc32(name.encode()), SPLITS.index(split), VERSION])


def _printed(chars: list[str], name: str, sizes: dict[str, int]):
    def build(split: str) -> tuple[np.ndarray, np.ndarray]:
        rng = _rng(name, split)
        y = glyphs.balanced_labels(len(chars), sizes[split], rng)
        return glyphs.render(chars, y, rng), y
    return build


def _digits_rotated(split: str, strength: float) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng("digits-printed", split)  # the same draws as digits-printed: strength 0 is identical
    y = glyphs.balanced_labels(10, PER_CLASS[split], rng)
    return shifted.rotated(y, rng, strength), y


def _digits_on_photos(split: str, strength: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = _cached("digits-printed", split, {})
    return shifted.on_photos(x, split, strength, _rng("digits-on-photos", split)), y


def _digits_inverted(split: str, strength: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = _cached("digits-printed", split, {})
    return shifted.inverted(x, strength, _rng("digits-inverted", split)), y


_REGISTRY: dict[str, _Domain] = {
    "glyphs": _Domain(
        "source: 60 printed characters (digits, lowercase, Greek, symbols) in 22 matplotlib fonts",
        glyphs.SOURCE_CLASSES, _printed(glyphs.SOURCE_CLASSES, "glyphs", GLYPHS_PER_CLASS)),
    "digits-printed": _Domain(
        "printed digits 0-9, rendered like the source", glyphs.DIGITS,
        _printed(glyphs.DIGITS, "digits-printed", PER_CLASS)),
    "letters": _Domain(
        "similar target: printed capitals A-Z, held out of the source", glyphs.LETTERS,
        _printed(glyphs.LETTERS, "letters", PER_CLASS)),
    "handwritten": _Domain(
        "similar task, real shift: scikit-learn's 1797 handwritten digits, upsampled",
        handwritten.CLASSES, handwritten.build),
    "photos": _Domain(
        "different target: patches of 10 scikit-image photos/textures, labelled by image",
        photos.CLASSES, lambda split: photos.build(split, PER_CLASS[split], _rng("photos", split))),
    "shapes": _Domain(
        "different task sharing strokes: 10 procedurally drawn shapes", shapes.CLASSES,
        lambda split: shapes.build(split, PER_CLASS[split], _rng("shapes", split))),
    "digits-on-photos": _Domain(
        "shift: printed digits blended on photo patches (MNIST-M style), strength in [0, 1]",
        glyphs.DIGITS, _digits_on_photos, {"strength": 1.0}),
    "digits-rotated": _Domain(
        "shift: printed digits rotated by strength * 90 degrees, strength in [0, 1]",
        glyphs.DIGITS, _digits_rotated, {"strength": 0.5}),
    "digits-inverted": _Domain(
        "shift: a fraction `strength` of printed digits drawn dark on bright, strength in [0, 1]",
        glyphs.DIGITS, _digits_inverted, {"strength": 1.0}),
    "colour-photos": _Domain(
        "real backbone's target: 3 x 96 x 96 colour patches of 10 skimage images; strength: closer, greyer",
        colour_photos.CLASSES,
        lambda split, strength: colour_photos.build(split, _rng("colour-photos", split), strength),
        {"strength": 0.0}),
}


def available() -> dict[str, str]:
    """Domain name -> one-line description (in the learner's language)."""
    return {name: tr(d.description) for name, d in _REGISTRY.items()}


def _domain(name: str) -> _Domain:
    if name not in _REGISTRY:
        raise ValueError(tr("unknown domain {name!r}; available: {names}", name=name, names=", ".join(_REGISTRY)))
    return _REGISTRY[name]


def _check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    defaults = _domain(name).options
    unknown = set(options) - set(defaults)
    if unknown:
        valid = ", ".join(defaults) if defaults else tr("none")
        raise ValueError(tr("domain {name!r} has no option {unknown}; its options: {valid}", name=name,
                            unknown=", ".join(sorted(unknown)), valid=valid))
    opts = {**defaults, **options}
    if "strength" in opts:
        s = float(opts["strength"])
        if not 0 <= s <= 1:
            raise ValueError(tr("strength must be in [0, 1], got {strength!r}", strength=opts["strength"]))
        opts["strength"] = s
    return opts


def cache_path(name: str, split: str, options: dict[str, Any]) -> str:
    """The cache file of one split of a domain with these (complete) options."""
    key = "".join(f"-{k}{v:g}" if isinstance(v, float) else f"-{k}{v}" for k, v in sorted(options.items()))
    return str(runtime.cache_dir() / f"domain-v{VERSION}-{name}-{split}{key}.npz")


def _cached(name: str, split: str, options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images and labels of a split: from the cache file, or built and saved there."""
    path = cache_path(name, split, options)
    try:
        with np.load(path) as f:
            return f["x"], f["y"]
    except (OSError, KeyError, ValueError, EOFError):
        pass  # missing or unreadable (e.g. interrupted write): rebuild
    x, y = _domain(name).build(split, **options)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, x=x, y=y.astype(np.int64))
    os.replace(tmp, path)  # atomic: a parallel reader sees the old file or the whole new one
    return x, y


def subset_indices(y: np.ndarray, n_per_class: int, seed: int, classes: list[str],
                   where: str = "") -> np.ndarray:
    """Indices of ``n_per_class`` random examples of every class (sorted), deterministic for ``seed``."""
    counts = np.bincount(y, minlength=len(classes))
    if n_per_class < 1 or n_per_class > counts.min():
        smallest = classes[int(counts.argmin())]
        raise ValueError(tr("n_per_class={n} is impossible{where}: it has {most} images of class {smallest!r} "
                            "(its smallest class); use 1..{most}", n=n_per_class, where=where, most=counts.min(),
                            smallest=smallest))
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(y == c), n_per_class, replace=False) for c in range(len(classes))]
    return np.sort(np.concatenate(picks))


def subsample(data: DomainData | tuple[torch.Tensor, torch.Tensor], n_per_class: int,
              seed: int = 0) -> DomainData | tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` random images of every class of ``data`` (a DomainData or an ``(x, y)`` tuple),
    picked as ``load(..., n_per_class=, seed=)`` picks them; the same kind of object back."""
    x, y = (data.x, data.y) if isinstance(data, DomainData) else data
    classes = list(data.classes) if isinstance(data, DomainData) else [str(c) for c in range(int(y.max()) + 1)]
    keep = torch.from_numpy(subset_indices(y.numpy(), int(n_per_class), seed, classes))
    if isinstance(data, DomainData):
        return DomainData(x[keep], y[keep], classes, data.name, data.split, dict(data.options))
    return x[keep], y[keep]


def load(name: str, split: str = "train", n_per_class: int | None = None, seed: int = 0,
         **options: Any) -> DomainData:
    """One split of domain ``name`` (see the module docstring), optionally ``n_per_class`` images
    of every class chosen with ``seed``. ``options`` are the domain's own (e.g. ``strength``)."""
    domain = _domain(name)
    if split not in SPLITS:
        raise ValueError(tr("unknown split {split!r}; use one of {splits}", split=split, splits=", ".join(SPLITS)))
    opts = _check_options(name, options)
    x, y = _cached(name, split, opts)
    if n_per_class is not None:
        keep = subset_indices(y, int(n_per_class), seed, domain.classes, f" for {name!r} {split}")
        x, y = x[keep], y[keep]
    xt = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255)
    xt = xt.unsqueeze(1) if xt.ndim == 3 else xt  # grey (N, H, W) -> (N, 1, H, W); colour is (N, 3, H, W)
    return DomainData(xt, torch.from_numpy(np.asarray(y, dtype=np.int64)), list(domain.classes),
                      name, split, opts)


def show(ds: DomainData, n: int = 32, title: str | None = None, cols: int = 8, seed: int = 0):
    """A matplotlib Figure: a grid of ``n`` random samples of ``ds`` titled with their class names."""
    import matplotlib.pyplot as plt

    n = min(n, len(ds))
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), n, replace=False))
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx):
        image = ds.x[i].permute(1, 2, 0) if ds.x.shape[1] == 3 else ds.x[i, 0]
        ax.imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(ds.classes[int(ds.y[i])], fontsize=9)
    fig.suptitle(title if title is not None else tr("{name} ({split}, {n} images)", name=ds.name, split=ds.split,
                                                     n=len(ds)))
    fig.tight_layout()
    return fig


__all__ = ["DomainData", "SPLITS", "available", "load", "show", "subsample"]

from .online import load_online  # noqa: E402  (online option: torchvision datasets)
from .online_colour import load_online_colour  # noqa: E402  (online option at the real backbone's scale)
