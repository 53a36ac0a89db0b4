"""Put a student's answers and the instructor's tests together, matching cells by ``grade_id``.

The student's notebook gives the order (students move cells, add scratch cells, edit ordinary cells).
In it:

* a cell whose ``grade_id`` is one of the instructor's **solution** cells is the answer (the first
  such cell wins; later copies are dropped and reported);
* a cell whose ``grade_id`` is an instructor **test** or **locked** cell is replaced by the
  instructor's copy (with the hidden tests); a student's copy of a test cell never runs;
* every other cell (ordinary or added) runs as the student wrote it.

An instructor test or locked cell the student deleted is put back after the closest cell that comes
before it in the instructor's notebook. A test whose solution cell is missing is not run: it counts
as unanswered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from nbformat import NotebookNode

from tlcourse.grading.spec import Assignment, nbgrader_meta


@dataclass(frozen=True)
class RunCell:
    """A code cell to execute: ``role`` is ``student``, ``test`` (graded, by grade_id) or ``instructor``."""

    source: str
    role: str
    grade_id: str | None = None
    origin: int | None = None  # 1-based position in the student's notebook; None if put back by the grader


@dataclass
class Merged:
    cells: list[RunCell]
    unanswered: dict[str, str] = field(default_factory=dict)  # test grade_id -> why it is not run
    notes: list[str] = field(default_factory=list)


def merge(assignment: Assignment, student: NotebookNode) -> Merged:
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
            notes.append(f"cell `{gid}` appears more than once; the first copy was graded, the others ignored.")
            continue
        position[gid] = len(cells)
        if spec.kind == "solution":
            cells.append(RunCell(cell.source, "student", gid, number))
        else:
            cells.append(RunCell(spec.source, "test" if spec.kind == "test" else "instructor", gid, number))

    unanswered = {}
    for t in assignment.tests:
        missing = [s for s in assignment.solutions_of(t.grade_id) if s not in position]
        if missing:
            unanswered[t.grade_id] = (f"your notebook has no answer cell `{missing[0]}` (deleted, or its "
                                      "metadata lost?): paste your answer into a fresh copy of the notebook.")

    # Put back the instructor's test/locked cells the student deleted.
    previous: str | None = None
    for spec in assignment.cells:
        if spec.kind in ("test", "locked") and spec.grade_id not in position and spec.grade_id not in unanswered:
            at = position[previous] + 1 if previous in position else len(cells)
            cells.insert(at, RunCell(spec.source, "test" if spec.kind == "test" else "instructor", spec.grade_id))
            position = {k: (i + 1 if i >= at else i) for k, i in position.items()}
            position[spec.grade_id] = at
        if spec.grade_id in position:
            previous = spec.grade_id
    return Merged([c for c in cells if c.role != "test" or c.grade_id not in unanswered], unanswered, notes)


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
