"""What an instructor's source notebook says about its exercises.

Exercise cells carry nbgrader metadata (schema v3, see ``notes/CONVENTIONS.md``):

* a **solution** cell (``solution: true``) holds the learner's answer between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION``;
* a **test** cell (``grade: true``, code, with ``points``) calls ``check("lessonNN.name", answer...)`` once
  (which exercise it grades, on which of the notebook's names) and may hold hidden tests between
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (for nbgrader);
* ``locked`` cells are read-only instructions; cells that are both ``grade`` and ``solution``, or
  ``task`` cells, are graded by hand.

Every such cell has a ``grade_id`` unique across the course. The grader matches a student's cells to
these by ``grade_id``; ``tlcourse grade`` never runs a test cell in a student's kernel, only an
observation of the answer that its ``check`` call names (``merge.py``, ``observe.py``).
"""
from __future__ import annotations

import ast
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
    check: tuple[str, str] | None = None  # test cells: (exercise id, source of the check's answer arguments)


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
        """The points the grader awards automatically (manually graded cells are not counted)."""
        return sum(c.points for c in self.tests)

    @property
    def manual(self) -> list[GradedCell]:
        """Cells an instructor grades by hand (nbgrader's "manually graded answer"): reported as pending."""
        return [c for c in self.cells if c.kind == "manual"]

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


def public_source(cell: NotebookNode) -> str:
    """A test cell's source without its hidden tests (nbgrader's own ``ClearHiddenTests``)."""
    from nbgrader.preprocessors import ClearHiddenTests

    copy = nbformat.from_dict(cell)
    ClearHiddenTests(enforce_metadata=False).preprocess_cell(copy, {}, 0)
    return copy.source


def check_call(source: str) -> tuple[str, str]:
    """(exercise id, source of the answer arguments) of the one ``check("id", args...)`` call in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"the test cell is not valid Python ({err.msg}, line {err.lineno})") from None
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
             and n.func.id == "check"]
    if len(calls) != 1:
        raise ValueError(f"a test cell must call check(\"lessonNN.name\", answer...) exactly once, "
                         f"this one calls it {len(calls)} times")
    (call,) = calls
    if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str) \
            or call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        raise ValueError("check's first argument must be the exercise id as a string literal, followed by "
                         "the answer as plain arguments (no keywords, no *args)")
    return call.args[0].value, ", ".join(ast.get_source_segment(source, a) for a in call.args[1:])


def load_assignment(path: str | Path) -> Assignment:
    """Read an instructor notebook; raise ValueError on missing/duplicate grade_ids."""
    return read_assignment(Path(path).read_bytes(), path)


def read_assignment(data: bytes, path: str | Path) -> Assignment:
    """An instructor notebook from its bytes (``path``: its name, for messages)."""
    path = Path(path)
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
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
        try:
            check = check_call(public_source(cell)) if kind == "test" else None
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"{path}: test cell {gid!r}: {err}") from None
        cells.append(GradedCell(gid, kind, cell.source, cell.cell_type, points, check))
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
