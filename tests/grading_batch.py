"""One grading run shared by the grading tests: the example assignment, an honest student, an untouched
release, a filled release and every hostile or broken submission, graded together with two parallel jobs.

``batch()`` grades once per pytest process and returns what the tests check. The submissions come from
``hostile_judging.cases`` (attacks on judging, broken notebooks) and, where it exists,
``hostile_sandbox.cases`` (attacks on the sandbox); both take a folder for the files an attack targets.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import importlib
import importlib.util
import tempfile
from pathlib import Path

import nbformat

from tlcourse.grading.grade import grade
from tlcourse.grading.limits import Limits
from tlcourse.grading.release import fill_solutions, release_notebook

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "grading" / "example.ipynb"
FULL = {"example-add-tests": 2.0, "example-norm-tests": 1.0, "example-mean-tests": 1.0}
ZERO = dict.fromkeys(FULL, 0.0)
LIMITS = Limits(cell_timeout=8, max_time=90, memory_mb=2048)


def source_nb() -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLE, as_version=4)


def _hashes(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def _cases(tmp: Path) -> dict[str, object]:
    src = source_nb()
    cases: dict[str, object] = {"honest": src, "released": release_notebook(src),
                                "filled": fill_solutions(release_notebook(src), src)}
    for module in ("hostile_judging", "hostile_sandbox"):
        if importlib.util.find_spec(module) is not None:
            cases.update(importlib.import_module(module).cases(tmp))
    return cases


@functools.lru_cache(maxsize=1)
def batch() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="tlcourse-grading-batch-"))
    subs = tmp / "submissions"
    subs.mkdir()
    cases = _cases(tmp)
    for name, nb in cases.items():
        path = subs / f"{name}.ipynb"
        if isinstance(nb, bytes):
            path.write_bytes(nb)
        else:
            nbformat.write(nb, path)
    files = [EXAMPLE, *(p for p in tmp.rglob("*") if p.is_file())]
    before = _hashes(files)
    out = tmp / "out" / "grades.csv"
    grades = grade([subs], [EXAMPLE], out, jobs=2, limits=LIMITS, log=lambda msg: None)
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return {"tmp": tmp, "out": out, "rows": rows, "grades": {g.student: g for g in grades}, "names": list(cases),
            "before": before, "after": _hashes(list(before))}


def scores(student: str) -> dict[str, float]:
    row = batch()["rows"][student]
    return {gid: float(row[gid]) for gid in FULL}


def feedback(student: str) -> str:
    return (batch()["out"].parent / "feedback" / f"{student}.md").read_text()
