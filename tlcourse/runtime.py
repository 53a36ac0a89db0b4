"""Conventions every lesson shares: seeds, the device, progress bars and the data cache.

Kept in one short file so a learner can see that nothing magic happens behind a lesson.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Iterable, TypeVar

import numpy as np
import torch

T = TypeVar("T")

#: The repository's ``data/`` folder (the course checkpoint lives there).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch so that a CPU run repeats exactly.

    Returns a ``torch.Generator`` seeded the same way, for data shuffling that must
    not depend on how many random numbers other code drew before.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def get_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given, else CUDA, else Apple MPS, else the CPU.

    The environment variable ``TLCOURSE_DEVICE`` (e.g. ``cpu``) overrides the automatic choice.
    Nothing in the course requires a GPU.
    """
    choice = prefer or os.environ.get("TLCOURSE_DEVICE")
    if choice:
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, leave: bool = False,
             enabled: bool = True) -> Iterable[T]:
    """A tqdm progress bar that draws as a widget in JupyterLab and as text in a terminal.

    Set ``TLCOURSE_PROGRESS=0`` to silence every bar (the tests and the benchmark do).
    """
    from tqdm.auto import tqdm

    disabled = not enabled or os.environ.get("TLCOURSE_PROGRESS", "1") == "0"
    return tqdm(iterable, desc=desc, total=total, leave=leave, disable=disabled)


def cache_dir() -> Path:
    """Where generated datasets are cached: ``$TLCOURSE_CACHE``, else ``~/.cache/tlcourse``.

    The folder is created on first use; deleting it is always safe (data is regenerated).
    """
    root = os.environ.get("TLCOURSE_CACHE")
    if root:
        path = Path(root).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "tlcourse"
    path.mkdir(parents=True, exist_ok=True)
    return path
