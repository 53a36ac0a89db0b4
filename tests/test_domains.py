"""Tests of tlcourse.domains: shapes and ranges, fixed disjoint splits, subsets, errors, cache, glyphs."""
from __future__ import annotations

import hashlib

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from tlcourse import domains  # noqa: E402
from tlcourse.domains import glyphs, photos, shapes  # noqa: E402

NUM_CLASSES = {"glyphs": 60, "digits-printed": 10, "letters": 26, "handwritten": 10, "photos": 10,
               "shapes": 10, "digits-on-photos": 10, "digits-rotated": 10, "digits-inverted": 10}
DARK_BACKGROUND = ["glyphs", "digits-printed", "letters", "handwritten", "shapes", "digits-rotated"]
SHIFTS = ["digits-on-photos", "digits-rotated", "digits-inverted"]


def test_available_names_and_descriptions():
    names = domains.available()
    assert set(NUM_CLASSES) <= set(names)
    assert all(isinstance(d, str) and d and "\n" not in d for d in names.values())


@pytest.mark.parametrize("name", list(NUM_CLASSES))
def test_shapes_dtypes_and_ranges(name):
    ds = domains.load(name, "test")
    assert ds.x.dtype == torch.float32 and ds.x.shape[1:] == (1, 28, 28)
    assert ds.y.dtype == torch.int64 and ds.y.shape == (len(ds),)
    assert 0 <= ds.x.min() and ds.x.max() <= 1 and ds.x.max() > 0.9
    assert len(ds.classes) == NUM_CLASSES[name] and (ds.name, ds.split) == (name, "test")
    assert set(ds.y.tolist()) == set(range(NUM_CLASSES[name]))
    x0, y0 = ds[0]
    assert x0.shape == (1, 28, 28) and int(y0) == int(ds.y[0])
    if name in DARK_BACKGROUND:  # ink bright, background dark: the border is almost black
        border = torch.cat([ds.x[:, 0, :2].flatten(), ds.x[:, 0, -2:].flatten()])
        assert border.mean() < 0.05


@pytest.mark.parametrize("name", list(NUM_CLASSES))
def test_splits_are_disjoint(name):
    def hashes(split):
        x = (domains.load(name, split).x * 255).round().to(torch.uint8).numpy()
        return {hashlib.sha1(img.tobytes()).hexdigest() for img in x}
    train, val, test = hashes("train"), hashes("val"), hashes("test")
    assert not train & test and not train & val and not val & test


def test_printed_sizes():
    assert len(domains.load("glyphs", "train")) == 60 * 600
    assert len(domains.load("letters", "train")) == 26 * 1000
    assert sum(len(domains.load("handwritten", s)) for s in domains.SPLITS) == 1797


def test_generation_is_deterministic():
    labels = np.arange(60).repeat(3)
    a = glyphs.render(glyphs.SOURCE_CLASSES, labels, np.random.default_rng(5))
    b = glyphs.render(glyphs.SOURCE_CLASSES, labels, np.random.default_rng(5))
    c = glyphs.render(glyphs.SOURCE_CLASSES, labels, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(shapes.draw("star", 20, np.random.default_rng(1)),
                          shapes.draw("star", 20, np.random.default_rng(1)))
    assert torch.equal(photos.crops("brick", "test", 20, np.random.default_rng(1)),
                       photos.crops("brick", "test", 20, np.random.default_rng(1)))


def test_n_per_class_is_balanced_and_seeded():
    full = domains.load("handwritten", "train")
    a = domains.load("handwritten", "train", n_per_class=7, seed=3)
    b = domains.load("handwritten", "train", n_per_class=7, seed=3)
    c = domains.load("handwritten", "train", n_per_class=7, seed=4)
    assert torch.bincount(a.y).tolist() == [7] * 10
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    rows = {img.numpy().tobytes() for img in full.x}  # a subset of the fixed split, whatever the seed
    assert all(img.numpy().tobytes() in rows for img in c.x)


def test_seed_does_not_change_splits():
    a = domains.load("photos", "test", seed=0)
    b = domains.load("photos", "test", seed=123)
    assert torch.equal(a.x, b.x)


@pytest.mark.parametrize("name", SHIFTS)
def test_strength_zero_is_plain_digits(name):
    plain = domains.load("digits-printed", "val")
    zero = domains.load(name, "val", strength=0.0)
    full = domains.load(name, "val", strength=1.0)
    assert torch.equal(zero.x, plain.x) and torch.equal(zero.y, plain.y)
    assert (full.x - plain.x).abs().mean() > 0.05


def test_clear_errors():
    with pytest.raises(ValueError, match="available: glyphs"):
        domains.load("mnist")
    with pytest.raises(ValueError, match="train, val, test"):
        domains.load("glyphs", "validation")
    with pytest.raises(ValueError, match=r"it has \d+ images .* use 1\.\.\d+"):
        domains.load("handwritten", "test", n_per_class=1000)
    with pytest.raises(ValueError, match="n_per_class=0"):
        domains.load("handwritten", "test", n_per_class=0)
    with pytest.raises(ValueError, match="its options: strength"):
        domains.load("digits-on-photos", "test", strenght=0.5)
    with pytest.raises(ValueError, match="no option"):
        domains.load("glyphs", "test", strength=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        domains.load("digits-rotated", "test", strength=2)


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path))
    first = domains.load("handwritten", "val")
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and "handwritten-val" in files[0].name
    again = domains.load("handwritten", "val")
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y)
    files[0].write_bytes(b"truncated")  # a corrupt file is rebuilt, not an error
    assert torch.equal(domains.load("handwritten", "val").x, first.x)
    domains.load("digits-rotated", "test", strength=0.25)
    assert any("strength0.25" in f.name for f in tmp_path.glob("*.npz"))


def test_every_glyph_is_real():
    """No font/char pair in use draws the 'missing glyph' box, nothing, or an old-style digit."""
    for font_name in glyphs.FONTS:
        font = glyphs._font(font_name)
        notdef = glyphs._outline(font, 0)
        bitmaps = glyphs._font_bitmaps(font_name)
        cap = bitmaps["H"].shape[0] if "H" in bitmaps else None
        seen = set()
        for char, bm in bitmaps.items():
            index = font.get_charmap()[ord(char)]
            outline = glyphs._outline(font, index)
            assert index != 0 and not (outline.shape == notdef.shape and np.allclose(outline, notdef))
            assert bm.size and bm.max() > 0.5
            key = bm.tobytes()
            assert key not in seen, f"{font_name} draws {char!r} like another character"
            seen.add(key)
            if char in glyphs.DIGITS and cap:
                assert bm.shape[0] >= 0.85 * cap, f"{font_name} has an old-style {char!r}"
    _, owner, fonts = glyphs.templates(tuple(glyphs.SOURCE_CLASSES))
    assert np.bincount(owner).min() >= 10  # every source class in many fonts
    assert "cmr10" in fonts and "STIXGeneral" in fonts


def test_show_titles_samples():
    ds = domains.load("shapes", "test", n_per_class=2)
    fig = domains.show(ds, n=12, title="shapes")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 12 and set(titles) <= set(ds.classes)
    assert fig._suptitle.get_text() == "shapes"
