"""The cells a grading kernel runs: a student's answers with an observation in place of each test cell.

The student's notebook gives the order (students move cells, add scratch cells, edit ordinary cells).
In it:

* a cell whose ``grade_id`` is one of the instructor's **solution** cells is the answer (the first
  such cell wins; later copies are dropped and reported);
* a cell whose ``grade_id`` is an instructor **locked** cell is replaced by the instructor's copy;
* a cell whose ``grade_id`` is an instructor **test** cell is replaced by an **observation cell**: it
  evaluates the arguments of the test's ``check(...)`` call and writes data about them (``observe.py``).
  No test code, hidden or public, runs in a student's kernel;
* every other cell (ordinary or added) runs as the student wrote it.

An instructor test or locked cell the student deleted is put back after the closest cell that comes
before it in the instructor's notebook. A test whose solution cell is missing is not observed: it
counts as unanswered. ``reference_cells`` is the instructor's own notebook, test cells (with their
hidden tests, as a self-check) each followed by its observation cell.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from nbformat import NotebookNode

from tlcourse.grading.spec import Assignment, GradedCell, nbgrader_meta
from tlcourse.i18n import notebook_language, tr


@dataclass(frozen=True)
class RunCell:
    """A code cell to execute: ``role`` is ``student``, ``instructor``, ``test`` (reference run only) or
    ``observe`` (the observation of test cell ``grade_id``)."""

    source: str
    role: str
    grade_id: str | None = None
    origin: int | None = None  # 1-based position in the student's notebook; None if put back by the grader


@dataclass
class Merged:
    cells: list[RunCell]
    unanswered: dict[str, str] = field(default_factory=dict)  # test grade_id -> why it is not observed
    notes: list[str] = field(default_factory=list)


def observation_cell(test: GradedCell) -> str:
    """One line that observes the answer named by ``test``'s check call (see ``observe.record``)."""
    exercise_id, args = test.check
    return (f"__import__('tlcourse.grading.observe', fromlist=['record']).record("
            f"{test.grade_id!r}, {exercise_id!r}, lambda: ({args},))")


def _cell_for(spec: GradedCell, origin: int | None) -> RunCell:
    if spec.kind == "test":
        return RunCell(observation_cell(spec), "observe", spec.grade_id, origin)
    return RunCell(spec.source, "instructor", spec.grade_id, origin)


def merge(assignment: Assignment, student: NotebookNode) -> Merged:
    lang = notebook_language(assignment.notebook)  # its notes speak the lesson's language
    cells: list[RunCell] = []
    position: dict[str, int] = {}  # grade_id -> index in ``cells`` (for the instructor's cells)
    notes: list[str] = []
    for number, cell in enumerate(student.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        gid = nbgrader_meta(cell).get("grade_id")
        spec = assignment.cell(gid) if isinstance(gid, str) else None
        if spec is None or spec.kind == "manual":
            cells.append(RunCell(cell.source, "student", origin=number))
            continue
        if gid in position:
            notes.append(tr("cell `{gid}` appears more than once; the first copy was graded, the others ignored.",
                            lang, gid=gid))
            continue
        position[gid] = len(cells)
        cells.append(RunCell(cell.source, "student", gid, number) if spec.kind == "solution" else _cell_for(spec, number))

    unanswered = {}
    for t in assignment.tests:
        missing = [s for s in assignment.solutions_of(t.grade_id) if s not in position]
        if missing:
            unanswered[t.grade_id] = tr("your notebook has no answer cell `{cell}` (deleted, or its metadata lost?): "
                                        "paste your answer into a fresh copy of the notebook.", lang, cell=missing[0])

    # Put back the instructor's test/locked cells the student deleted.
    previous: str | None = None
    for spec in assignment.cells:
        if spec.kind in ("test", "locked") and spec.grade_id not in position and spec.grade_id not in unanswered:
            at = position[previous] + 1 if previous in position else len(cells)
            cells.insert(at, _cell_for(spec, None))
            position = {k: (i + 1 if i >= at else i) for k, i in position.items()}
            position[spec.grade_id] = at
        if spec.grade_id in position:
            previous = spec.grade_id
    return Merged([c for c in cells if c.role != "observe" or c.grade_id not in unanswered], unanswered, notes)


def reference_cells(assignment: Assignment) -> list[RunCell]:
    """The instructor's notebook as it is, each test cell followed by its observation cell."""
    cells: list[RunCell] = []
    for number, cell in enumerate(assignment.notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        gid = nbgrader_meta(cell).get("grade_id")
        spec = assignment.cell(gid) if isinstance(gid, str) else None
        if spec is not None and spec.kind == "test":
            cells += [RunCell(cell.source, "test", gid, number), RunCell(observation_cell(spec), "observe", gid, number)]
        else:
            cells.append(RunCell(cell.source, "instructor", gid, number))
    return cells


# Code that reaches into Python's or the kernel's machinery. Legitimate lessons never need it, so the
# grader lists it for a human to look at (it does not change the score).
_REVIEW = {
    "builtins": r"\b__builtins__\b|\bbuiltins\b",
    "sys.modules / import machinery": r"sys\s*\.\s*(modules|meta_path|path_hooks)|\bimportlib\b",
    "frames / garbage collector": r"_getframe|\bf_back\b|\bf_globals\b|\bf_locals\b|\bgc\s*\.\s*get_|inspect\s*\.\s*(stack|currentframe)",
    "IPython internals": r"get_ipython\s*\(|input_transformers|ast_transformers|set_custom_exc|events\s*\.\s*register",
    "tracing / audit hooks": r"settrace|setprofile|addaudithook|sys\s*\.\s*audit",
    "native code (ctypes)": r"\bctypes\b|\bcffi\b",
    "processes / shell": r"\bsubprocess\b|os\s*\.\s*(system|popen|exec|fork|kill|spawn)|^\s*!|%%?(sx|system|bash|sh|script)\b",
    "patching the checks": r"\bsetattr\s*\(|_REGISTRY|(^|[.\s])check\s*=[^=]",
}


def review_flags(merged: Merged) -> list[str]:
    """Labels of suspicious constructs found in the student's own cells."""
    text = "\n".join(c.source for c in merged.cells if c.role == "student")
    return [label for label, pattern in _REVIEW.items() if re.search(pattern, text, re.MULTILINE)]
