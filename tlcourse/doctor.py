"""``tlcourse doctor``: is this machine ready for the course? Answers in words, within seconds."""
from __future__ import annotations

from importlib import metadata
import platform
import socket
import time
import unicodedata
from typing import Callable

from tlcourse.i18n import tr

ONLINE_HOST = ("download.pytorch.org", 443)


def _versions() -> list[tuple[str, bool, str]]:
    """Installed versions, read from package metadata (fast: nothing is imported)."""
    rows = [("python", True, platform.python_version())]
    for name in ("torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "jupyterlab",
                 "scikit-learn", "scikit-image", "tqdm"):
        try:
            rows.append((name, True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, False, tr("not installed: run `make lab` (or `pip install -e .`)")))
    return rows


def _device() -> tuple[str, bool, str]:
    from tlcourse.runtime import get_device

    device = get_device()
    note = tr("fine: every lesson is sized for a laptop CPU" if device.type == "cpu" else "accelerator found")
    return (tr("device"), True, f"{device} ({note})")


def _checkpoint() -> tuple[str, bool, str]:
    try:
        from tlcourse import zoo

        zoo.load_pretrained()
        return (tr("course checkpoint"), True, tr("{name} present, sha256 verified", name=zoo.CHECKPOINT.name))
    except Exception as err:
        return (tr("course checkpoint"), False, str(err))


def _embedded_data() -> tuple[str, bool, str]:
    try:
        from tlcourse import domains

        ds = domains.load("handwritten", split="test")
        return (tr("embedded data"), True, tr("{n} domains; handwritten test: {images} images",
                                              n=len(domains.available()), images=len(ds)))
    except Exception as err:
        return (tr("embedded data"), False, f"{type(err).__name__}: {err}")


def _isolation() -> tuple[str, bool, str]:
    """Whether ``tlcourse grade`` can confine each grading kernel (bubblewrap). Only instructors need it."""
    from tlcourse.grading.isolation import probe

    result = probe()
    return (tr("grading sandbox"), True, result.reason if result.ok else tr(
        "not available (learners do not need it; instructors grading untrusted notebooks do): {reason}",
        reason=result.reason))


def _font() -> tuple[str, bool, str]:
    """A font with Chinese glyphs for figures: needed by the Chinese lessons only (``TLCOURSE_LANG=zh``)."""
    from tlcourse import fonts
    from tlcourse.i18n import language

    path = fonts.cjk_font_path()
    if path is not None:
        return (tr("Chinese font"), True, tr("{name} for figures with Chinese text", name=path.name))
    return (tr("Chinese font"), language() != "zh", tr("missing: figures cannot show Chinese text; "
                                                        "run `make setup` (it installs mplfonts)"))


def _online(timeout: float = 3.0) -> tuple[str, bool, str]:
    """Online options only: ImageNet weights and torchvision datasets. Never needed by default."""
    start = time.perf_counter()
    try:
        with socket.create_connection(ONLINE_HOST, timeout=timeout):
            return (tr("online options"), True, tr("reachable (ImageNet weights, torchvision datasets)"))
    except OSError as err:
        took = time.perf_counter() - start
        return (tr("online options"), True,
                tr("offline ({error} after {took:.1f}s): fine, the course runs offline; only the optional "
                   "ImageNet/torchvision-dataset cells need a network", error=type(err).__name__, took=took))


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def run_doctor(print_fn: Callable[[str], None] = print) -> bool:
    """Print one line per check; return True if everything the course needs is usable."""
    checks = _versions() + [_device(), _checkpoint(), _embedded_data(), _isolation(), _font(), _online()]
    width = max(_width(name) for name, _, _ in checks)
    for name, ok, detail in checks:
        print_fn(f"{'ok ' if ok else 'BAD'}  {name}{' ' * (width - _width(name))}  {detail}")
    healthy = all(ok for _, ok, _ in checks)
    print_fn(tr("Everything the course needs is ready." if healthy else
                "Some checks failed: each BAD line says what to do."))
    return healthy
