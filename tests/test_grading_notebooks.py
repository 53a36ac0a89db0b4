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


@pytest.mark.slow
@LESSONS
def test_source_passes_release_fails_filled_release_passes(lesson, tmp_path):
    source = load_assignment(lesson)
    released = release_notebook(source.notebook)
    filled = fill_solutions(released, source.notebook)
    assert merge(source, filled).cells == merge(source, source.notebook).cells
    subs = tmp_path / "submissions"
    for student, nb in {"released": released, "filled": filled}.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / lesson.name)
    log: list[str] = []
    grades = {g.student: g for g in grade([subs], [lesson], tmp_path / "grades.csv", jobs=2,
                                          limits=Limits(cell_timeout=600, max_time=1800), log=log.append)}
    assert not [m for m in log if "GRADER ERROR" in m], log  # the source fails none of its own tests
    assert all(not r.error for g in grades.values() for r in g.results), [r.error for g in grades.values()
                                                                           for r in g.results]
    full = {t.grade_id: t.points for t in source.tests}

    def got(student):
        return {gid: t.points for r in grades[student].results for gid, t in r.tests.items()}

    def why(student):
        return [f"{gid}: {t.message}" for r in grades[student].results for gid, t in r.tests.items()
                if not t.passed] + [n for r in grades[student].results for n in r.notes]

    assert got("filled") == full, why("filled")
    assert got("released") == dict.fromkeys(full, 0.0), "a graded test passes on the released stub"
    with open(tmp_path / "grades.csv", newline="") as f:  # manually graded answers: pending, outside the total
        rows = {row["student"]: row for row in csv.DictReader(f)}
    for cell in source.manual:
        assert {rows[s][cell.grade_id] for s in rows} == {f"pending/{cell.points:g}"}, rows
        feedback_text = (tmp_path / "feedback" / "filled.md").read_text()
        assert f"`{cell.grade_id}` | ? / {cell.points:g} | \u23f3 pending" in feedback_text, feedback_text
    assert float(rows["filled"]["total"]) == sum(full.values()) == float(rows["filled"]["max"])
