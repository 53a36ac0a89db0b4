"""``tlcourse doctor``: is this machine ready for the course? Answers in words, within seconds."""
from __future__ import annotations

from importlib import metadata
import platform
import socket
import time
from typing import Callable

ONLINE_HOST = ("download.pytorch.org", 443)


def _versions() -> list[tuple[str, bool, str]]:
    """Installed versions, read from package metadata (fast: nothing is imported)."""
    rows = [("python", True, platform.python_version())]
    for name in ("torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "jupyterlab",
                 "scikit-learn", "scikit-image", "tqdm"):
        try:
            rows.append((name, True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, False, "not installed: run `make lab` (or `pip install -e .`)"))
    return rows


def _device() -> tuple[str, bool, str]:
    from tlcourse.runtime import get_device

    device = get_device()
    note = "fine: every lesson is sized for a laptop CPU" if device.type == "cpu" else "accelerator found"
    return ("device", True, f"{device} ({note})")


def _checkpoint() -> tuple[str, bool, str]:
    try:
        from tlcourse import zoo

        zoo.load_pretrained()
        return ("course checkpoint", True, f"{zoo.CHECKPOINT.name} present, sha256 verified")
    except Exception as err:
        return ("course checkpoint", False, str(err))


def _embedded_data() -> tuple[str, bool, str]:
    try:
        from tlcourse import domains

        ds = domains.load("handwritten", split="test")
        return ("embedded data", True, f"{len(domains.available())} domains; handwritten test: {len(ds)} images")
    except Exception as err:
        return ("embedded data", False, f"{type(err).__name__}: {err}")


def _isolation() -> tuple[str, bool, str]:
    """Whether ``tlcourse grade`` can confine each grading kernel (bubblewrap). Only instructors need it."""
    from tlcourse.grading.isolation import probe

    result = probe()
    return ("grading sandbox", True, result.reason if result.ok else f"not available (learners do not need it; "
            f"instructors grading untrusted notebooks do): {result.reason}")


def _online(timeout: float = 3.0) -> tuple[str, bool, str]:
    """Online options only: ImageNet weights and torchvision datasets. Never needed by default."""
    start = time.perf_counter()
    try:
        with socket.create_connection(ONLINE_HOST, timeout=timeout):
            return ("online options", True, "reachable (ImageNet weights, torchvision datasets)")
    except OSError as err:
        took = time.perf_counter() - start
        return ("online options", True,
                f"offline ({type(err).__name__} after {took:.1f}s): fine, the course runs offline; "
                "only the optional ImageNet/torchvision-dataset cells need a network")


def run_doctor(print_fn: Callable[[str], None] = print) -> bool:
    """Print one line per check; return True if everything the course needs is usable."""
    checks = _versions() + [_device(), _checkpoint(), _embedded_data(), _isolation(), _online()]
    width = max(len(name) for name, _, _ in checks)
    for name, ok, detail in checks:
        print_fn(f"{'ok ' if ok else 'BAD'}  {name:<{width}}  {detail}")
    healthy = all(ok for _, ok, _ in checks)
    print_fn("Everything the course needs is ready." if healthy else
             "Some checks failed: each BAD line says what to do.")
    return healthy
