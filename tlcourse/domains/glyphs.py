"""Printed characters rendered from the fonts that ship with matplotlib: the course's source domain.

Each character is drawn **once per font** at twice the output resolution with FreeType (matplotlib's
``FT2Font``); every image is then a cheap random warp of one of these templates, done in batches
with PyTorch: scale, rotation, shear, shift, stroke weight (a max- or min-filter), ink intensity
and noise. That is what makes tens of thousands of images take seconds.

A font/character pair is used only if the font really has the character: it must be in the font's
character map, draw something that is not the font's "missing glyph" box, and digits must be
full height (Computer Modern's math italic has old-style digits, and its other character codes
follow TeX's own layout, where ``<`` is an inverted exclamation mark).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ft2font import FT2Font

#: Digits, lowercase letters, Greek lowercase and symbols. Left out on purpose because some fonts
#: draw them alike: l (1, |), o (0, omicron), iota, nu (v), upsilon (u), chi (x), omicron, and theta
#: (0 with a bar in several fonts).
DIGITS = list("0123456789")
SOURCE_CLASSES = (DIGITS + list("abcdefghijkmnpqrstuvwxyz") + list("αβγδεζηκλμξπρστφψω")
                  + list("+=#$%&@?"))
#: Held out of the source: capitals are new classes in a familiar domain.
LETTERS = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

FONTS = [
    "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique",
    "DejaVuSansMono", "DejaVuSansMono-Bold", "DejaVuSansMono-Oblique", "DejaVuSansMono-BoldOblique",
    "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic", "DejaVuSerif-BoldItalic",
    "STIXGeneral", "STIXGeneralBol", "STIXGeneralItalic", "STIXGeneralBolIta",
    "cmr10", "cmb10", "cmti10", "cmss10", "cmtt10", "cmmi10",
]
#: Computer Modern fonts use TeX's own 7-bit layouts: trust only letters, digits and a few symbols
#: there (math italic, cmmi10, only letters).
_TEX_SAFE = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+=?")
_CMMI_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

SIZE = 28              # output images are SIZE x SIZE
EM = 52                # font size in pixels when drawing, twice the output scale
CANVAS = 72            # glyphs are drawn centred on a CANVAS x CANVAS square, then halved to 36 x 36
STROKES = ("thin", "regular", "bold", "heavy")


def _font(name: str) -> FT2Font:
    return FT2Font(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / f"{name}.ttf"))


def _draw(font: FT2Font, char: str) -> np.ndarray:
    """The glyph's bitmap cropped to its ink, float in [0, 1]."""
    font.set_size(EM, 72)
    font.set_text(char)
    font.draw_glyphs_to_bitmap(antialiased=True)
    im = np.asarray(font.get_image(), dtype=np.float32) / 255.0
    rows, cols = np.nonzero(im > 0.1)
    if len(rows) == 0:
        return np.zeros((0, 0), np.float32)
    return im[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _outline(font: FT2Font, glyph_index: int) -> np.ndarray:
    font.load_glyph(glyph_index)
    return font.get_path()[0]


@lru_cache(maxsize=None)
def _font_bitmaps(font_name: str) -> dict[str, np.ndarray]:
    font = _font(font_name)
    cmap = font.get_charmap()
    notdef = _outline(font, 0)
    cap = _draw(font, "H").shape[0] if ord("H") in cmap else 0
    out = {}
    for char in SOURCE_CLASSES + LETTERS:
        index = cmap.get(ord(char), 0)
        if index == 0 or (font_name.startswith("cm") and char not in _TEX_SAFE):
            continue
        if font_name == "cmmi10" and char not in _CMMI_SAFE:  # old-style digits, other symbols
            continue
        outline = _outline(font, index)
        if outline.shape == notdef.shape and np.allclose(outline, notdef):  # the "missing" box
            continue
        bm = _draw(font, char)
        if bm.size == 0 or (char in DIGITS and bm.shape[0] < 0.85 * cap):
            continue
        out[char] = bm
    return out


def _bitmap(font_name: str, char: str) -> np.ndarray | None:
    return _font_bitmaps(font_name).get(char)


@lru_cache(maxsize=8)
def templates(chars: tuple[str, ...]) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    """Every valid (font, char) pair for ``chars``, centred, in each of the four STROKES.

    Returns ``(T, label, font)``: T is uint8 (4, K, 1, CANVAS/2, CANVAS/2) (stroke, template),
    ``label[k]`` the index in ``chars`` and ``font[k]`` the font of template k.
    """
    canvases, labels, fonts = [], [], []
    for font_name in FONTS:
        for label, char in enumerate(chars):
            bm = _bitmap(font_name, char)
            if bm is None:
                continue
            h, w = min(bm.shape[0], CANVAS - 4), min(bm.shape[1], CANVAS - 4)
            canvas = np.zeros((CANVAS, CANVAS), np.float32)
            top, left = (CANVAS - h) // 2, (CANVAS - w) // 2
            canvas[top:top + h, left:left + w] = bm[:h, :w]
            canvases.append(canvas)
            labels.append(label)
            fonts.append(font_name)
    missing = sorted(set(chars) - {chars[i] for i in labels})
    if missing:
        raise RuntimeError(f"no font draws {missing}")
    x = torch.from_numpy(np.stack(canvases))[:, None]
    # stroke weight at the drawing resolution: a min-filter thins, max-filters embolden
    strokes = torch.stack([-F.max_pool2d(-x, 3, 1, 1), x, F.max_pool2d(x, 3, 1, 1),
                           F.max_pool2d(x, 5, 1, 2)])
    small = F.avg_pool2d(strokes.flatten(0, 1), 2).unflatten(0, (len(STROKES), len(x)))
    small = small / small.amax(dim=(-1, -2), keepdim=True).clamp_min(0.3)  # full ink, thin or not
    return (small * 255 + 0.5).to(torch.uint8), np.array(labels), fonts


def render(chars: list[str] | tuple[str, ...], labels: np.ndarray, rng: np.random.Generator, *,
           rotation: float = 0.0, jitter: float = 1.0, batch: int = 8192) -> np.ndarray:
    """Draw one image of ``chars[label]`` per label, in a random font and pose; uint8 (N, 28, 28).

    ``rotation`` (degrees) is added to every image's random rotation; ``jitter`` scales all the
    random variation (0 = upright, centred, regular stroke, clean).
    """
    T, owner, _ = templates(tuple(chars))
    labels = np.asarray(labels, dtype=np.int64)
    n, j = len(labels), jitter
    # one template per image: a random font among those that draw its class
    by_class = [np.flatnonzero(owner == c) for c in range(len(chars))]
    counts = np.array([len(b) for b in by_class])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.concatenate(by_class)
    pick = flat[offsets[labels] + rng.integers(0, 2**31, n) % counts[labels]]
    scale = np.exp(rng.uniform(np.log(0.85), np.log(1.1), n) * j)
    aspect = np.exp(rng.uniform(-0.1, 0.1, n) * j)
    angle = np.deg2rad(rotation + rng.uniform(-12, 12, n) * j)
    shear = rng.uniform(-0.15, 0.15, n) * j
    shift = rng.uniform(-2, 2, (n, 2)) * j
    stroke = rng.choice(len(STROKES), n, p=[0.2, 0.4, 0.25, 0.15]) if j else np.ones(n, np.int64)
    ink = rng.uniform(1 - 0.3 * j, 1.0, n)
    noise = rng.uniform(0, 0.06 * j, n)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))

    # forward map glyph -> image: shift + scale * R(angle) @ [[1, shear], [0, 1]] @ diag(aspect, 1/aspect)
    cos, sin = np.cos(angle), np.sin(angle)
    a, b = scale * aspect, scale / aspect
    fwd = np.empty((n, 2, 2))
    fwd[:, 0, 0], fwd[:, 0, 1] = cos * a, (cos * shear - sin) * b
    fwd[:, 1, 0], fwd[:, 1, 1] = sin * a, (sin * shear + cos) * b
    inv = np.linalg.inv(fwd)
    half_out, half_in = SIZE / 2, T.shape[-1] / 2
    # theta maps normalised output coordinates to normalised template coordinates
    theta = torch.as_tensor(np.concatenate([inv * half_out / half_in,
                                            -(inv @ shift[:, :, None]) / half_in], axis=2),
                            dtype=torch.float32)
    lin = (torch.arange(SIZE) + 0.5) / half_out - 1
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    base = torch.stack([xx, yy, torch.ones_like(xx)], -1).reshape(1, -1, 3)
    ink_t = torch.as_tensor(ink, dtype=torch.float32)[:, None, None]
    noise_t = torch.as_tensor(noise, dtype=torch.float32)[:, None, None]
    out = np.empty((n, SIZE, SIZE), np.uint8)
    for lo in range(0, n, batch):
        sl = slice(lo, min(n, lo + batch))
        grid = torch.matmul(base, theta[sl].transpose(1, 2)).reshape(-1, SIZE, SIZE, 2)
        src = T[torch.from_numpy(stroke[sl]), torch.from_numpy(pick[sl])].float() / 255
        x = F.grid_sample(src, grid, align_corners=False)[:, 0] * ink_t[sl]
        x = x + torch.randn(x.shape, generator=gen) * noise_t[sl]
        out[sl] = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    return out


def balanced_labels(num_classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` labels of each class, shuffled."""
    return rng.permutation(np.repeat(np.arange(num_classes), per_class))
