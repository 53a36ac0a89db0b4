"""Submissions of the example assignment that attack judging in pure Python, and broken ones.

Each attack comes with wrong answers (``wrong``), so every point it earns would be forged. The same
attacks fool a grader that runs the hidden tests in the student's own kernel (``naive_passes`` in
``test_grading_attacks.py`` shows it for some of them).
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from grading_batch import source_nb

WRONG = {  # wrong answers, which pass only if the judging is fooled
    "example-add": "def add(a, b):\n    return 0",
    "example-norm": "def norm(v):\n    return 0.0",
    "example-mean": "def mean(xs):\n    return 0.0",
}
# Answers right on the public examples (and on the hidden tests' fixed values) and wrong elsewhere.
HARD_CODED = {
    "example-add": "def add(a, b):\n    return {(1, 2): 3, (10, -3): 7, (0.5, 0.25): 0.75}.get((a, b), 0)",
    "example-norm": "def norm(v):\n    return {(0.0, 2.0): 2.0, (3, 4): 5.0, (1, 1): 2 ** 0.5, (1,): 1.0}.get(tuple(v), 0.0)",
    "example-mean": "def mean(xs):\n    return 3.0",
}
# What a forger writes as observations: the values of the public examples.
FORGED = ('{"example-add-tests": {"integers": 3, "floats": 0.75}, '
          '"example-norm-tests": {"random vector": 2.0, "type": "float", "zero": 0.0}, '
          '"example-mean-tests": {"random list": 3.0, "type": "float"}}')


def with_solutions(nb, answers: dict[str, str]):
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def with_cell(nb, code: str, at: int | None = 2):
    """``nb`` with a new code cell at position ``at`` (None: at the end)."""
    nb = nbformat.from_dict(nb)
    nb.cells.insert(len(nb.cells) if at is None else at, nbformat.v4.new_code_cell(code))
    return nb


def wrong(nb):
    return with_solutions(nb, WRONG)


FAKE_BUILTINS = f"""
import builtins, json, os, types
real_import = builtins.__import__
def fake_import(name, *args, **kwargs):
    if name.startswith("tlcourse"):
        fake = types.ModuleType(name)
        fake.check = lambda *a, **k: True
        def record(grade_id, exercise_id, answer):
            os.makedirs("out", exist_ok=True)
            with open(f"out/{{grade_id}}.json", "w") as f:
                json.dump({{"values": json.loads({FORGED!r})[grade_id]}}, f)
        fake.record = record
        return fake
    return real_import(name, *args, **kwargs)
fake_builtins = dict(vars(builtins), __import__=fake_import, isinstance=lambda *a: True)
__builtins__ = fake_builtins
"""

SHADOW = """
import math as real_math, types, numpy
class AlwaysClose(types.ModuleType):
    def __getattr__(self, name):
        return getattr(real_math, name)
    @staticmethod
    def isclose(*a, **k):
        return True
math = AlwaysClose("math")
numpy.allclose = lambda *a, **k: True
np = numpy
check = lambda *a, **k: True
"""

TAMPER_CHECK = f"""
import json, sys, types
import tlcourse.grading, tlcourse.grading.checks as C, tlcourse.grading.observe as O
always = lambda *a, **k: True
C.check = tlcourse.grading.check = check = always
for ex in list(C._REGISTRY.values()):
    C._REGISTRY[ex.id] = C.Exercise(ex.id, always)
forged = json.loads({FORGED!r})
ids = {{"example.add": "example-add-tests", "example.norm": "example-norm-tests", "example.mean": "example-mean-tests"}}
for ex_id, gid in ids.items():
    O._REGISTRY[ex_id] = O.Observation(ex_id, lambda seed, *a, gid=gid: forged[gid])
O.lookup = lambda ex_id: O._REGISTRY[ex_id]
import numpy
numpy.allclose = always
"""

FAKE_SCORE = f"""
import json, os
print("\\u2705 example.add: all public checks passed.\\nScore: 4 / 4\\nexample-add-tests 2 / 2")
os.makedirs("out", exist_ok=True)
for gid, values in json.loads({FORGED!r}).items():   # after every observation: overwrite them
    with open(f"out/{{gid}}.json", "w") as f:
        json.dump({{"values": values}}, f)
"""

LEAK = """
text = "\\n".join(str(cell) for cell in In) + "\\n" + str(globals().get("_ii", ""))
raise AssertionError(text)
"""

KILL_AFTER_FORGING = FAKE_SCORE + "\nos._exit(1)\n"

POISON = """
import json, os
os.makedirs("out", exist_ok=True)
poisons = {
    "example-add-tests": "[" * 100000 + "]" * 100000,
    "example-norm-tests": json.dumps({"values": {"__array__": "float", "shape": [10**9], "data": []}}),
    "example-mean-tests": '{"values": {"random list": NaN, "type": "float"}}',
}
for gid, text in poisons.items():
    with open(f"out/{gid}.json", "w") as f:
        f.write(text)
"""

ALWAYS_EQUAL = """
class Yes(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__
def add(a, b):
    return Yes(0)
"""


def moved(src):
    """Cells moved, added, duplicated (a wrong later copy) and a test cell deleted: still full marks."""
    nb = nbformat.from_dict(src)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    norm_cells = [by_id["example-norm"], by_id["example-norm-tests"]]
    rest = [c for c in nb.cells if c not in norm_cells and c is not by_id["example-add-tests"]]
    dup = nbformat.from_dict(by_id["example-add"])
    dup.source, dup["id"] = "def add(a, b):\n    return -1", "dup-add"
    scratch = nbformat.v4.new_code_cell("print('my scratch work')\nx = add(1, 1)")
    nb.cells = rest + [scratch, dup] + norm_cells
    return nb


def cases(tmp: Path) -> dict[str, object]:
    """Student name -> notebook. ``tmp`` is unused: these attacks target judging, not files."""
    src = source_nb()
    return {
        "fake_builtins": with_cell(wrong(src), FAKE_BUILTINS),
        "shadow_modules": with_cell(wrong(src), SHADOW),
        "tamper_check": with_cell(wrong(src), TAMPER_CHECK),
        "fake_score": with_cell(wrong(src), FAKE_SCORE, at=None),
        "leak_tests": with_cell(wrong(src), LEAK, at=None),
        "hard_coded": with_solutions(src, HARD_CODED),
        "kill_after_forging": with_cell(wrong(src), KILL_AFTER_FORGING, at=None),
        "poison_outputs": with_cell(wrong(src), POISON, at=None),
        "always_equal": with_solutions(src, {"example-add": ALWAYS_EQUAL}),
        "kill_in_answer": with_solutions(src, {"example-norm": "def norm(v):\n    import os\n    os._exit(1)"}),
        "syntax": with_solutions(src, {"example-add": "def add(a, b) return a + b"}),
        "stub": with_solutions(src, {"example-add": "# YOUR CODE HERE\nraise NotImplementedError()"}),
        "exception": with_solutions(src, {"example-norm": "def norm(v):\n    return 1 / 0"}),
        "moved": moved(src),
        "missing": nbformat.from_dict({**src, "cells": [c for c in src.cells if c.metadata.get("nbgrader", {})
                                                        .get("grade_id") != "example-norm"]}),
    }
