"""Solutions on request: the instructor's answer to an exercise, for a learner who asks after trying.

``tlcourse solution lesson04.freeze_up_to`` prints the solution cells that the exercise's checking
cell follows in the instructor's notebook (``notebooks/``); hidden tests are never shown. A failed
``check`` in the learner's workspace offers it. A class that should not see solutions sets
``TLCOURSE_SOLUTIONS=off`` where its lab runs (a JupyterHub's environment, a container image): both
go quiet. That is a switch, not a lock: only a copy of the course without ``notebooks/`` (what
``tlcourse release`` hands out) keeps solutions from a determined learner.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tlcourse.i18n import tr
from tlcourse.workspace import COURSE_NOTEBOOKS, lessons

OFF = {"off", "0", "false", "no"}
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")


@dataclass(frozen=True)
class CourseExercise:
    """An exercise as the course's notebooks define it."""

    id: str  # what ``check`` is called with, e.g. "lesson04.freeze_up_to"
    notebook: Path
    test_cell: str  # the grade_id of the cell that calls ``check``
    points: float


def enabled() -> bool:
    """False when ``TLCOURSE_SOLUTIONS`` says off (off, 0, false, no)."""
    return os.environ.get("TLCOURSE_SOLUTIONS", "on").strip().lower() not in OFF


def course_exercises(source: Path = COURSE_NOTEBOOKS) -> list[CourseExercise]:
    """Every exercise of the course, in lesson order: the ids the graded cells pass to ``check``."""
    from tlcourse.grading.spec import load_assignment

    found = []
    for path in lessons(source):
        for cell in load_assignment(path).tests:
            found += [CourseExercise(i, path, cell.grade_id, cell.points) for i in _CHECK_CALL.findall(cell.source)]
    return found


def solution(exercise_id: str, source: Path = COURSE_NOTEBOOKS) -> str:
    """The instructor's solution cells of ``exercise_id``, as text to print."""
    if not enabled():
        raise PermissionError(tr("solutions are switched off for this class (TLCOURSE_SOLUTIONS=off): "
                                 "ask your instructor"))
    if not Path(source).is_dir():
        raise FileNotFoundError(tr("the instructor's notebooks are not in this copy of the course ({source})",
                                   source=source))
    from tlcourse.grading.spec import load_assignment

    exercises = {e.id: e for e in course_exercises(source)}
    if exercise_id not in exercises:
        raise KeyError(tr("no exercise {id!r}; the course has: {known}", id=exercise_id,
                          known=", ".join(exercises) or tr("none")))
    ex = exercises[exercise_id]
    assignment = load_assignment(ex.notebook)
    cells = [assignment.cell(gid) for gid in assignment.solutions_of(ex.test_cell)]
    parts = ["# " + tr("The instructor's solution of {id} ({notebook}, cell {cell}):", id=exercise_id,
                       notebook=ex.notebook.name, cell=c.grade_id) + f"\n{c.source}" for c in cells]
    return "\n\n".join(parts) if parts else tr("{id} has no solution cell (it is graded by hand)", id=exercise_id)


def offer(exercise_id: str) -> str:
    """The line a failed check adds in the learner's workspace: how to see the solution ("" when off)."""
    if not enabled() or not COURSE_NOTEBOOKS.is_dir():
        return ""
    from tlcourse.i18n import tr

    return "\n   " + tr("Stuck after trying? `tlcourse solution {id}` in a terminal (or `!tlcourse solution {id}` "
                        "in a cell) shows the instructor's solution.", id=exercise_id)
