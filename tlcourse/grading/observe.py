"""What the grader observes about an answer: data, never a verdict.

Each exercise has, beside its public ``@exercise`` test, an **observation**: public code that evaluates the
learner's answer on inputs drawn from a seed the grader picks for each grading run, and returns plain data::

    @observe("lesson00.accuracy")
    def _(seed, accuracy):
        x = torch.randn(50, 7, generator=torch.Generator().manual_seed(seed))
        return {"all right": accuracy(x, x.argmax(1)), "type": type(accuracy(x, x.argmax(1))).__name__}

In a grading kernel, the grader's observation cell calls ``record``, which writes that data as JSON to
``out/<grade_id>.json``. The kernel is not trusted: whatever it writes is only compared, in the grader's own
process (``judge.py``), with the same observation of the instructor's solution on the same inputs.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

from tlcourse.grading.checks import import_home

SEED_FILE = "grading.json"  # placed read-only in the kernel's working folder: {"seed": int}
OUT = "out"
MAX_NUMBERS = 100_000  # per observation; more is refused (an observation is a few small arrays)
MAX_TEXT = 200  # characters kept of a string value

Rule = Callable[[dict, dict], "Message | str | None"]  # a reason: i18n.Message, shown in the submission's language


@dataclass(frozen=True)
class Observation:
    id: str
    fn: Callable[..., dict]
    rtol: float = 1e-5
    atol: float = 1e-8
    rule: Rule | None = None  # (learner's data, reference data) -> None if right, else a short reason


_REGISTRY: dict[str, Observation] = {}


def observe(exercise_id: str, *, rtol: float = 1e-5, atol: float = 1e-8,
            rule: Rule | None = None) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register ``fn(seed, *answer) -> dict`` as the observation of ``exercise_id`` (a decorator)."""
    def register(fn: Callable[..., dict]) -> Callable[..., dict]:
        _REGISTRY[exercise_id] = Observation(exercise_id, fn, rtol, atol, rule)
        return fn
    return register


def lookup(exercise_id: str) -> Observation:
    if exercise_id not in _REGISTRY:
        import_home(exercise_id)
    if exercise_id not in _REGISTRY:
        raise KeyError(f"exercise {exercise_id!r} has no @observe function in its lesson's exercises module "
                       f"(known: {', '.join(sorted(_REGISTRY)) or 'none loaded'})")
    return _REGISTRY[exercise_id]


def exercise_seed(seed: int, exercise_id: str) -> int:
    """Each exercise's own seed, derived from the grading run's: exercises do not share inputs."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{exercise_id}".encode()).digest()[:7], "big")


def encode(value: Any) -> Any:
    """``value`` as JSON data: arrays become ``{"__array__": dtype, "shape": [...], "data": [...]}``."""
    budget = [MAX_NUMBERS]

    def spend(n: int) -> None:
        budget[0] -= n
        if budget[0] < 0:
            raise ValueError(f"an observation may hold at most {MAX_NUMBERS} numbers")

    def enc(v: Any) -> Any:
        spend(1)  # subclasses of int, float, str are read through their base type: their own methods never run
        if v is None or isinstance(v, bool):
            return None if v is None else v is True
        if isinstance(v, int):
            return int.__int__(v)
        if isinstance(v, float):
            v = float.__float__(v)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, str):
            return str.__str__(v)[:MAX_TEXT]
        if isinstance(v, (list, tuple)):
            return [enc(x) for x in v]
        if isinstance(v, dict):
            return {str(k)[:MAX_TEXT]: enc(x) for k, x in v.items()}
        array = _as_numpy(v)
        if array is None:
            return {"__object__": type(v).__name__[:MAX_TEXT]}
        if array.ndim == 0:
            return enc(array.item())
        spend(array.size)
        kind = "bool" if array.dtype.kind == "b" else "int" if array.dtype.kind in "iu" else "float"
        data = array.astype({"bool": bool, "int": "int64", "float": "float64"}[kind]).ravel().tolist()
        if kind == "float":
            data = [x if math.isfinite(x) else {"__float__": repr(x)} for x in data]
        return {"__array__": kind, "shape": list(array.shape), "data": data}

    return enc(value)


def _as_numpy(v: Any):
    """A numpy array of booleans or real numbers for a numpy array/scalar or a torch tensor, else None."""
    import numpy as np

    array = None
    if isinstance(v, (np.ndarray, np.generic)):
        array = np.asarray(v)
    elif "torch" in sys.modules and isinstance(v, sys.modules["torch"].Tensor):
        t = v.detach().cpu()
        array = (t.double() if t.is_floating_point() else t).numpy()
    return array if array is not None and array.dtype.kind in "biuf" else None


def record(grade_id: str, exercise_id: str, answer: Callable[[], tuple]) -> None:
    """Observe ``answer()`` (the check's arguments, evaluated here) and write ``out/<grade_id>.json``.

    Runs in the grading kernel. An exception is recorded by its type name only.
    """
    with open(SEED_FILE) as f:
        seed = int(json.load(f)["seed"])
    try:
        data = {"values": encode(lookup(exercise_id).fn(exercise_seed(seed, exercise_id), *answer()))}
    except Exception as err:
        data = {"error": type(err).__name__}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{grade_id}.json"), "w") as f:
        f.write(json.dumps(data))
