"""A CJK font for matplotlib, so that the Chinese lessons' figures can have Chinese titles and labels.

matplotlib ships no Chinese glyphs: a Chinese title would draw as empty boxes (and warn "Glyph ... missing
from font(s)"). The font comes with ``make setup``: Noto Sans CJK SC (SIL Open Font License) inside the pip
package ``mplfonts``, used here by its path only (nothing of mplfonts runs, nothing is written into
matplotlib's configuration). Debian's ``fonts-noto-cjk`` is used where mplfonts is missing.
``i18n.use_language("zh")`` calls :func:`use_cjk_font`.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

#: The font of mplfonts used for figures (Simplified Chinese, sans-serif: Latin glyphs included).
MPLFONTS_FILE = "NotoSansCJKsc-Regular.otf"
#: Where Debian's and other distributions' packages put Noto Sans CJK.
SYSTEM_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc")


def cjk_font_path() -> Path | None:
    """The CJK font file: mplfonts' Noto Sans CJK SC, else a system Noto Sans CJK; None when neither is here."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "fonts" / MPLFONTS_FILE
            if path.is_file():
                return path
    return next((Path(p) for p in SYSTEM_FILES if Path(p).is_file()), None)


def use_cjk_font() -> str:
    """Register the CJK font with matplotlib and append it to ``font.family``: Latin text keeps matplotlib's
    usual font (DejaVu Sans), and each glyph that font lacks (every Chinese character) comes from the CJK
    font (matplotlib's per-glyph fallback along ``font.family``). Returns the font's family name."""
    import matplotlib as mpl
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        raise FileNotFoundError(f"no CJK font for Chinese figures: install the course's dependencies "
                                f"(`make setup` installs mplfonts, which ships {MPLFONTS_FILE}), or Debian's "
                                f"fonts-noto-cjk")
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    families = [f for f in mpl.rcParams["font.family"] if f != name]
    mpl.rcParams["font.family"] = [*families, name]  # matplotlib falls back along this list, glyph by glyph
    return name
