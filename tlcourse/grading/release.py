"""Student copies of the lesson notebooks, made with nbgrader's own preprocessors.

``release_notebook`` runs the preprocessors of ``nbgrader generate_assignment`` that need no
gradebook database, in nbgrader's order: solutions become ``# YOUR CODE HERE`` /
``raise NotImplementedError()``, hidden tests and outputs go, exercise cells are locked, and the
nbgrader metadata (with checksums) stays so that ``tlcourse grade`` and nbgrader itself can match
the cells of a submission by ``grade_id``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tlcourse.grading.spec import cell_kind, find_notebooks, nbgrader_meta


def _preprocessors() -> list:
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                        ClearSolutions, ComputeChecksums, LockCells)

    # nbgrader's GenerateAssignment order, minus IncludeHeaderFooter/InstantiateTests (unused here)
    # and SaveCells (it writes the gradebook database).
    return [LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
            ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(), CheckCellMetadata()]


INSTRUCTOR_ONLY = "instructor-only"
MAY_FAIL = "raises-exception"


def has_exercises(nb: NotebookNode) -> bool:
    return any(cell_kind(c) is not None for c in nb.cells)


def is_instructor_only(cell: NotebookNode) -> bool:
    return INSTRUCTOR_ONLY in cell.get("metadata", {}).get("tags", [])


def needs_release(nb: NotebookNode) -> bool:
    """Whether a student copy differs from the source: it has exercises or instructor-only cells."""
    return has_exercises(nb) or any(is_instructor_only(c) for c in nb.cells)


def release_notebook(nb: NotebookNode) -> NotebookNode:
    """The student version of an instructor notebook (a new object; ``nb`` is not changed)."""
    nb = nbformat.from_dict(nb)  # deep copy
    resources: dict = {}
    for pre in _preprocessors():
        nb, resources = pre.preprocess(nb, resources)
    nb.cells = [c for c in nb.cells if not is_instructor_only(c)]
    for cell in nb.cells:
        if cell.cell_type == "code" and cell_kind(cell) in ("solution", "test"):
            tags = cell.metadata.setdefault("tags", [])
            if MAY_FAIL not in tags:
                tags.append(MAY_FAIL)
    return nb


def fill_solutions(released: NotebookNode, source: NotebookNode) -> NotebookNode:
    """A released notebook with the source's answer cells pasted back by grade_id (a perfect submission)."""
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if cell_kind(c) == "solution"}
    nb = nbformat.from_dict(released)
    for c in nb.cells:
        gid = nbgrader_meta(c).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return nb


def release(paths: list[str | Path], out: str | Path) -> list[Path]:
    """Write student copies of the notebooks in ``paths`` (files or folders) into ``out``.

    Notebooks without exercises or instructor-only cells are copied byte for byte. Refuses to write over a source notebook
    or into the folder the notebooks come from.
    """
    sources = find_notebooks(paths)
    if not sources:
        raise FileNotFoundError(f"no notebooks in {', '.join(map(str, paths))}")
    out = Path(out)
    resolved = {s.resolve() for s in sources}
    if out.resolve() in {s.parent for s in resolved}:
        raise ValueError(f"refusing to release into {out}: it holds the source notebooks; choose another --out")
    written = []
    for src in sources:
        target = out / src.name
        if target.resolve() in resolved:
            raise ValueError(f"refusing to overwrite the source notebook {src}")
        out.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(src, as_version=4)
        try:
            if needs_release(nb):
                nbformat.write(release_notebook(nb), target)
            else:
                shutil.copyfile(src, target)
        except Exception as err:  # nbgrader raises RuntimeError/ValidationError with a terse message
            raise ValueError(f"{src}: cannot release it: {err}") from err
        written.append(target)
    return written
