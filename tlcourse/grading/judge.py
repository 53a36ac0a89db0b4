"""The trusted judge: compares what a student's kernel observed with what the instructor's solution gave.

Runs in the grader's own process, never where student code ran. Its inputs are plain data: the JSON files
a kernel wrote under ``out/`` (untrusted, parsed strictly and size-capped) and the reference observations
of the instructor's notebook on the same seed. Every message a student reads is built here, from public
names (the exercise id, the observation's keys, the check's arguments) and the sanitised type name of an
exception: no reference value, no hidden test, no text the student's code produced.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tlcourse.grading.checks import hint_of
from tlcourse.grading.observe import Observation, lookup
from tlcourse.grading.spec import GradedCell
from tlcourse.i18n import DEFAULT, Message, tr

MAX_OUTPUT_BYTES = 8 * 2**20


@dataclass
class TestResult:
    points: float
    max: float
    passed: bool
    message: str


@dataclass
class Result:
    """One (student, notebook) job: points and feedback per test cell, notes on the run."""

    student: str
    notebook: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""  # a failure of the grader itself, not of the student
    isolation: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        d = dict(d)
        d["tests"] = {k: TestResult(**v) for k, v in d["tests"].items()}
        return cls(**d)


def clean_name(text: str) -> str:
    """An exception's type name as the feedback may show it: identifier characters only, short."""
    return re.sub(r"[^A-Za-z0-9_.]", "", str(text))[:60] or "an error"


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def read_output(raw: bytes | None) -> dict | None:
    """A kernel's ``out/<grade_id>.json`` as ``{"values": ...}`` or ``{"error": name}``; None if absent or malformed."""
    if raw is None or len(raw) > MAX_OUTPUT_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        if isinstance(data, dict) and set(data) == {"error"} and isinstance(data["error"], str):
            return {"error": clean_name(data["error"])}
        if isinstance(data, dict) and set(data) == {"values"}:
            return {"values": decode(data["values"])}
    except (ValueError, RecursionError, UnicodeDecodeError):
        pass
    return None


def decode(v: Any) -> Any:
    """JSON data from ``observe.encode`` back to Python: arrays as numpy arrays; anything malformed raises ValueError."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [decode(x) for x in v]
    if not isinstance(v, dict):
        raise ValueError("not JSON data")
    if set(v) == {"__float__"} and v["__float__"] in ("nan", "inf", "-inf"):
        return float(v["__float__"])
    if set(v) == {"__object__"} and isinstance(v["__object__"], str):
        return {"__object__": v["__object__"]}
    if set(v) == {"__array__", "shape", "data"}:
        kind, shape, data = v["__array__"], v["shape"], v["data"]
        if kind not in ("bool", "int", "float") or not isinstance(shape, list) or not isinstance(data, list) \
                or not all(type(n) is int and n >= 0 for n in shape) or math.prod(shape) != len(data):
            raise ValueError("malformed array")
        values = [decode(x) for x in data]
        if not all(type(x) in (bool, int, float) for x in values):
            raise ValueError("malformed array")
        return np.array(values, dtype={"bool": bool, "int": np.int64, "float": np.float64}[kind]).reshape(shape)
    return {k: decode(x) for k, x in v.items()}


def same(mine: Any, ref: Any, rtol: float, atol: float) -> bool:
    """Whether the student's value matches the reference's: exact for text, flags and structure, close for numbers."""
    if isinstance(ref, np.ndarray):
        if not isinstance(mine, np.ndarray) or mine.shape != ref.shape:
            return False
        if ref.dtype == bool or mine.dtype == bool:
            return mine.dtype == ref.dtype and bool(np.array_equal(mine, ref))
        return bool(np.allclose(mine, ref, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(ref, bool) or ref is None or isinstance(ref, str):
        return type(mine) is type(ref) and mine == ref
    if isinstance(ref, (int, float)):
        if type(mine) not in (int, float):
            return False
        if math.isnan(ref) or math.isnan(mine):
            return math.isnan(ref) and math.isnan(mine)
        return math.isclose(mine, ref, rel_tol=rtol, abs_tol=atol)
    if isinstance(ref, list):
        return isinstance(mine, list) and len(mine) == len(ref) and all(same(a, b, rtol, atol) for a, b in zip(mine, ref))
    if isinstance(ref, dict):
        return isinstance(mine, dict) and list(mine) == list(ref) and all(same(mine[k], ref[k], rtol, atol) for k in ref)
    return False


def differences(mine: dict, ref: dict, obs: Observation) -> list[str]:
    """The keys of the reference observation on which the student's differs."""
    if not isinstance(mine, dict):
        return list(ref)
    return [k for k in ref if k not in mine or not same(mine[k], ref[k], obs.rtol, obs.atol)]


def verdict(test: GradedCell, mine: dict | None, ref: dict, why_missing: str,
            lang: str = DEFAULT) -> tuple[bool, str]:
    """(passed, message) for one test cell, the message in ``lang`` (the submission's language).
    ``mine``: the student's parsed output (None if absent)."""
    exercise_id, args = test.check
    if mine is None:
        return False, why_missing
    if "error" in mine:
        name = mine["error"]
        if name == "NotImplementedError":
            return False, tr("not done yet: replace `raise NotImplementedError()` with your code.", lang)
        if name == "NameError":
            return False, tr("`{args}` did not exist when the grader looked at your answer "
                             "(did its cell raise an error, or was it renamed?).", lang, args=args)
        return False, tr("your code raised {name} on the grader's inputs.", lang, name=name)
    obs = lookup(exercise_id)
    if obs.rule is not None:
        try:
            reason = obs.rule(mine["values"], ref)
        except Exception:  # the student's data has a shape the rule does not expect
            reason = Message("your answer does not have the expected form.")
        if reason is None:
            return True, "passed"
        text = reason.render(lang) if isinstance(reason, Message) else str(reason)
        return False, _with_hint(exercise_id, _printable(text, 300), lang)  # a rule may quote the student's data
    wrong = differences(mine["values"], ref, obs)
    if not wrong:
        return True, "passed"
    shown = ", ".join(f"'{k}'" for k in wrong[:4]) + (tr(" and {n} more", lang, n=len(wrong) - 4)
                                                      if len(wrong) > 4 else "")
    return False, _with_hint(exercise_id, tr("your answer differs from the solution on the grader's fresh inputs "
                                             "({shown}).", lang, shown=shown), lang)


def _printable(text: str, limit: int) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _with_hint(exercise_id: str, text: str, lang: str = DEFAULT) -> str:
    h = hint_of(exercise_id)
    return f"{text} " + tr("Hint: {hint}", lang, hint=tr(h, lang)) if h else text
