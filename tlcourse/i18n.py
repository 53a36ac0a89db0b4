"""The language of what ``tlcourse`` says to a learner: English (the default) or Chinese (``zh``).

``TLCOURSE_LANG=zh`` chooses Chinese; a lesson sets it for its kernel with ``i18n.use_language("zh")`` (an
English lesson calls the same function with ``"en"``, so both editions run the same code). Every sentence a
learner reads goes through :func:`tr`: its English text is the key into the catalog of the language
(``tlcourse/locales/zh.py``), placeholders are ``str.format`` fields (``{name}``, ``{took:.1f}``), and a
sentence the catalog lacks is shown in English. ``tests/test_i18n.py`` checks that every translation keeps
its English placeholders and that every sentence passed to :func:`tr` in the package is translated.
"""
from __future__ import annotations

import importlib
import os
import unicodedata
from typing import Any, Mapping

ENV = "TLCOURSE_LANG"
LANGUAGES = ("en", "zh")
DEFAULT = "en"
#: Where a notebook says which language it is written in (the Chinese lessons carry ``"zh"``).
METADATA_KEY = ("tlcourse", "lang")


def normalize(lang: str | None) -> str | None:
    """``"zh"``, ``"zh_CN"``, ``"zh-Hans"``, ``"zh_CN.UTF-8"`` -> ``"zh"``; ``"en_US"`` -> ``"en"``; else None."""
    if not lang:
        return None
    base = lang.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return base if base in LANGUAGES else None


def language() -> str:
    """The current language: ``$TLCOURSE_LANG`` when it names a known one, else English."""
    return normalize(os.environ.get(ENV)) or DEFAULT


def use_language(lang: str) -> str:
    """Make ``lang`` the language of every message from ``tlcourse`` in this process (and the processes it
    starts); for Chinese, also give matplotlib a CJK font so that figures can have Chinese titles.
    Returns the normalised language."""
    chosen = normalize(lang)
    if chosen is None:
        raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    os.environ[ENV] = chosen
    if chosen == "zh":
        from tlcourse import fonts

        fonts.use_cjk_font()
    return chosen


def catalog(lang: str) -> Mapping[str, str]:
    """The translations of ``lang`` (English text -> translated text); empty for English."""
    if lang == DEFAULT:
        return {}
    return importlib.import_module(f"tlcourse.locales.{lang}").MESSAGES


def tr(message: str, lang: str | None = None, /, **fields: Any) -> str:
    """``message`` in ``lang`` (default: the current language), its ``{fields}`` filled in. A message the
    catalog lacks stays English."""
    text = catalog(normalize(lang) or language()).get(message, message)
    return text.format(**fields) if fields else text


class Message:
    """A sentence translated when it is shown, not when it is made: the grader's judge shows a rule's reason in the
    language of the submission, whichever language the process that made it speaks. ``str()`` gives the current
    language; fields that are Messages themselves are rendered in the same language."""

    def __init__(self, text: str, /, **fields: Any) -> None:
        self.text, self.fields = text, fields

    def render(self, lang: str | None = None) -> str:
        fields = {k: v.render(lang) if isinstance(v, Message) else v for k, v in self.fields.items()}
        return tr(self.text, lang, **fields)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Message({self.text!r})"


def display_width(text: str) -> int:
    """The columns ``text`` takes in a monospaced font: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, align: str = ">") -> str:
    """``text`` padded with spaces to ``width`` columns (``">"`` right-aligned, ``"<"`` left), like
    ``f"{text:>{width}}"`` but counting a Chinese character as two columns, so that tables stay aligned."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if align == ">" else text + fill


def notebook_language(nb: Mapping[str, Any]) -> str:
    """The language a notebook is written in: its ``metadata.tlcourse.lang``, English when absent."""
    value: Any = nb.get("metadata", {})
    for key in METADATA_KEY:
        value = value.get(key, {}) if isinstance(value, Mapping) else {}
    return normalize(value if isinstance(value, str) else None) or DEFAULT
