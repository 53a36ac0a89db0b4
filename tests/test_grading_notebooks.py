"""Round trip of the real lessons: for every notebooks/*.ipynb with graded test cells,

* nbgrader's own ``generate_assignment`` accepts it (one throwaway course directory for all lessons);
* the grader's reference run of the source notebook passes its own tests (hidden ones included) and
  observes every exercise;
* its released copy fails every graded test (as ``nbgrader validate --invert`` expects);
* the released copy with the solutions pasted back scores full marks.

The grader runs a submission's answer and ordinary cells with an observation in place of each test cell,
so the source and the filled release run exactly the same cells: the test checks that (no kernel needed),
then grades the filled release and the bare release against the source's reference run, which run whole
lessons (hence ``slow``). When no lesson has exercises, each test skips with a reason.
"""
from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from tlcourse.grading.grade import grade
from tlcourse.grading.limits import Limits
from tlcourse.grading.merge import merge
from tlcourse.grading.release import fill_solutions, release_notebook
from tlcourse.grading.spec import load_assignment

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "grading" / "example.ipynb"


def graded_notebooks() -> list[Path]:
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        try:
            if load_assignment(path).tests:
                found.append(path)
        except Exception:  # a lesson being written may be broken for a while; its own tests say so
            found.append(path)
    return found


GRADED = graded_notebooks()
LESSONS = pytest.mark.parametrize("lesson", GRADED or [pytest.param(None, marks=pytest.mark.skip(
    reason="no notebook in notebooks/ has graded exercises yet"))], ids=lambda p: p.stem if p else "none")


def test_nbgrader_generate_assignment_accepts_every_lesson(tmp_path, monkeypatch):
    """nbgrader's own converter and gradebook, in a throwaway course directory; the example assignment
    of the grading tests is included, so this runs even before any lesson has exercises."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # its alembic
    (tmp_path / "source" / "lessons").mkdir(parents=True)
    for path in [*GRADED, EXAMPLE]:
        shutil.copy(path, tmp_path / "source" / "lessons" / path.name)
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.course_id = "tlcourse"
    result = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config).generate_assignment("lessons")
    assert result["success"], result["error"] + result["log"]
    released = sorted(p.name for p in (tmp_path / "release" / "lessons").glob("*.ipynb"))
    assert released == sorted(p.name for p in [*GRADED, EXAMPLE])


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """Every selected lesson's bare release and filled release, graded in ONE run of the grader (so its two
    jobs stay busy across lessons instead of idling at the end of each); keyed by lesson path."""
    lessons = sorted({item.callspec.params["lesson"] for item in request.session.items
                      if item.originalname == "test_source_passes_release_fails_filled_release_passes"
                      and item.callspec.params.get("lesson") is not None})
    tmp = tmp_path_factory.mktemp("round-trip")
    subs = tmp / "submissions"
    for lesson in lessons:
        source = load_assignment(lesson)
        released = release_notebook(source.notebook)
        filled = fill_solutions(released, source.notebook)
        for student, nb in {"released": released, "filled": filled}.items():
            (subs / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, subs / student / lesson.name)
    log: list[str] = []
    grades = {g.student: g for g in grade([subs], lessons, tmp / "grades.csv", jobs=2,
                                          limits=Limits(cell_timeout=600, max_time=1800), log=log.append)}
    with open(tmp / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"grades": grades, "log": log, "rows": rows, "feedback": tmp / "feedback"}


@pytest.mark.slow
@LESSONS
def test_source_passes_release_fails_filled_release_passes(lesson, graded):
    source = load_assignment(lesson)
    released = release_notebook(source.notebook)
    filled = fill_solutions(released, source.notebook)
    def run_cells(nb):  # what runs, in order (cell numbers differ: a release leaves out instructor-only cells)
        return [(c.source, c.role, c.grade_id) for c in merge(source, nb).cells]

    assert run_cells(filled) == run_cells(source.notebook)
    log = [m for m in graded["log"] if lesson.name in m]
    assert not [m for m in log if "GRADER ERROR" in m], log  # the source fails none of its own tests
    results = {s: [r for r in g.results if r.notebook == lesson.name] for s, g in graded["grades"].items()}
    assert all(len(rs) == 1 for rs in results.values()), results
    assert all(not r.error for rs in results.values() for r in rs), [r.error for rs in results.values() for r in rs]
    full = {t.grade_id: t.points for t in source.tests}

    def got(student):
        return {gid: t.points for r in results[student] for gid, t in r.tests.items()}

    def why(student):
        return [f"{gid}: {t.message}" for r in results[student] for gid, t in r.tests.items()
                if not t.passed] + [n for r in results[student] for n in r.notes]

    assert got("filled") == full, why("filled")
    assert got("released") == dict.fromkeys(full, 0.0), "a graded test passes on the released stub"
    rows = graded["rows"]  # manually graded answers: pending, outside the total
    for cell in source.manual:
        assert {rows[s][cell.grade_id] for s in rows} == {f"pending/{cell.points:g}"}, rows
        feedback_text = (graded["feedback"] / "filled.md").read_text()
        assert f"`{cell.grade_id}` | ? / {cell.points:g} | \u23f3 pending" in feedback_text, feedback_text
    for gid, points in full.items():  # the CSV's columns are the judged points
        assert float(rows["filled"][gid]) == points and float(rows["released"][gid]) == 0.0, gid
