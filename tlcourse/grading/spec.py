"""What an instructor's source notebook says about its exercises.

Exercise cells carry nbgrader metadata (schema v3, see ``notes/CONVENTIONS.md``):

* a **solution** cell (``solution: true``) holds the learner's answer between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION``;
* a **test** cell (``grade: true``, code, with ``points``) calls ``check(...)`` and holds the hidden
  tests between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``;
* ``locked`` cells are read-only instructions; cells that are both ``grade`` and ``solution``, or
  ``task`` cells, are graded by hand.

Every such cell has a ``grade_id`` unique across the course. The grader matches a student's cells to
these by ``grade_id``; only the instructor's copy of a test cell is ever run.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

KINDS = ("solution", "test", "manual", "locked")


@dataclass(frozen=True)
class GradedCell:
    """One nbgrader cell of the instructor's notebook."""

    grade_id: str
    kind: str  # one of KINDS
    source: str
    cell_type: str
    points: float = 0.0


@dataclass(frozen=True)
class Assignment:
    """An instructor's notebook with exercises: its nbgrader cells in notebook order."""

    path: Path
    notebook: NotebookNode
    cells: tuple[GradedCell, ...]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def tests(self) -> list[GradedCell]:
        return [c for c in self.cells if c.kind == "test"]

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.tests)

    def cell(self, grade_id: str) -> GradedCell | None:
        return next((c for c in self.cells if c.grade_id == grade_id), None)

    def solutions_of(self, test_id: str) -> list[str]:
        """The solution cells a test cell checks: those between the previous test cell and it."""
        answers: list[str] = []
        for c in self.cells:
            if c.kind == "test":
                if c.grade_id == test_id:
                    return answers
                answers = []
            elif c.kind == "solution":
                answers.append(c.grade_id)
        raise KeyError(f"{self.name} has no test cell {test_id!r}")


def nbgrader_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def cell_kind(cell: NotebookNode) -> str | None:
    """``solution``, ``test``, ``manual``, ``locked`` or None (an ordinary cell), as nbgrader reads it."""
    meta = nbgrader_meta(cell)
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    if meta.get("task") or (grade and solution) or (grade and cell.cell_type != "code"):
        return "manual"
    if grade:
        return "test"
    if solution:
        return "solution"
    if meta.get("locked"):
        return "locked"
    return None


def load_assignment(path: str | Path) -> Assignment:
    """Read an instructor notebook; raise ValueError on missing/duplicate grade_ids."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    cells, seen = [], set()
    for index, cell in enumerate(nb.cells):
        kind = cell_kind(cell)
        if kind is None:
            continue
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not gid or not isinstance(gid, str):
            raise ValueError(f"{path}: cell {index} has nbgrader metadata but no grade_id")
        if gid in seen:
            raise ValueError(f"{path}: grade_id {gid!r} is used twice")
        seen.add(gid)
        points = float(meta.get("points", 0) or 0) if kind in ("test", "manual") else 0.0
        cells.append(GradedCell(gid, kind, cell.source, cell.cell_type, points))
    return Assignment(path, nb, tuple(cells))


def find_notebooks(paths: list[str | Path]) -> list[Path]:
    """Notebook files named directly, or the ``*.ipynb`` files directly inside named folders."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.glob("*.ipynb") if q.is_file())
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such notebook or folder: {p}")
    return found


def load_assignments(paths: list[str | Path]) -> list[Assignment]:
    """The notebooks among ``paths`` that have graded test cells; grade_ids must be unique across them."""
    assignments = [a for a in map(load_assignment, find_notebooks(paths)) if a.tests]
    owner: dict[str, Path] = {}
    for a in assignments:
        for c in a.cells:
            if c.grade_id in owner:
                raise ValueError(f"grade_id {c.grade_id!r} is used in both {owner[c.grade_id]} and {a.path}")
            owner[c.grade_id] = a.path
    return assignments
