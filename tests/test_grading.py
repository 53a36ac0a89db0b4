"""``tlcourse release`` (nbgrader's own preprocessors) and the ``tlcourse grade`` command line, on the tiny
example assignment (tests/fixtures/grading/example.ipynb). Grading itself is tested on one shared batch of
submissions in ``test_grading_attacks.py`` (judging) and ``test_grading_isolation.py`` (the sandbox); the real
lessons' round trips are in ``test_grading_notebooks.py``.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tlcourse.cli import main as cli_main
from tlcourse.grading.release import release, release_notebook

EXAMPLE = Path(__file__).parent / "fixtures" / "grading" / "example.ipynb"


def source_nb() -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLE, as_version=4)


def with_solution(nb, grade_id: str, code: str):
    """A copy of ``nb`` whose answer cell ``grade_id`` holds ``code``."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = code
    return nb


# ----------------------------------------------------------------------------- release (no kernel)

def test_release_uses_nbgraders_stub_and_drops_hidden_tests(tmp_path):
    (out,) = release([EXAMPLE.parent], tmp_path / "release")
    nb = nbformat.read(out, as_version=4)
    text = json.dumps(nb)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "assert add(10, -3)" not in text
    add = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "example-add")
    assert add.source == "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "example-add-tests")
    assert test.source == 'check("example.add", add)' and test.metadata["nbgrader"]["points"] == 2
    assert test.metadata["editable"] is False and "checksum" in test.metadata["nbgrader"]
    assert all(c.get("outputs", []) == [] for c in nb.cells)


def test_release_copies_notebooks_without_exercises_and_refuses_the_source_folder(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    shutil.copy(EXAMPLE, src / "10_ex.ipynb")
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", outputs=[], execution_count=3)])
    nbformat.write(plain, src / "00_intro.ipynb")
    assert cli_main(["release", str(src), "--out", str(tmp_path / "rel")]) == 0
    assert (tmp_path / "rel" / "00_intro.ipynb").read_bytes() == (src / "00_intro.ipynb").read_bytes()
    assert "BEGIN SOLUTION" not in (tmp_path / "rel" / "10_ex.ipynb").read_text()
    with pytest.raises(ValueError, match="refusing"):
        release([src], src)
    with pytest.raises(ValueError, match="refusing"):
        release([src / "10_ex.ipynb"], tmp_path / "notebooks" / ".." / "notebooks")


def test_release_leaves_out_instructor_only_cells(tmp_path):
    """The answers to "Check your understanding" are tagged instructor-only: gone from the student copy,
    also from a notebook without exercises (which would otherwise be copied byte for byte)."""
    answer = nbformat.v4.new_markdown_cell("**Answers.** 1. secret", metadata={"tags": ["instructor-only"]})
    graded, plain = source_nb(), nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Q"), answer])
    graded.cells.append(answer)
    for name, nb in {"graded.ipynb": graded, "plain.ipynb": plain}.items():
        nbformat.write(nb, tmp_path / name)
    for out in release([tmp_path / "graded.ipynb", tmp_path / "plain.ipynb"], tmp_path / "release"):
        text = out.read_text()
        assert "secret" not in text and "instructor-only" not in text, out.name
    assert nbformat.read(tmp_path / "release" / "plain.ipynb", as_version=4).cells[0].source == "# Q"


def test_release_lets_run_all_go_past_unsolved_exercises():
    """Answer and test cells of a student copy are tagged raises-exception (Run All does not stop at the
    first stub); ordinary cells are not, so a real error elsewhere still stops it."""
    released = release_notebook(source_nb())
    for cell in released.cells:
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        kind = cell.metadata.get("nbgrader", {})
        assert tagged == (cell.cell_type == "code" and bool(kind.get("solution") or kind.get("grade"))), cell.source


def test_release_reports_a_broken_solution_region(tmp_path):
    nb = with_solution(source_nb(), "example-add", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b")
    nbformat.write(nb, tmp_path / "broken.ipynb")
    with pytest.raises(ValueError, match="broken.ipynb.*no end solution"):
        release([tmp_path / "broken.ipynb"], tmp_path / "out")


# ----------------------------------------------------------------------------- nbgrader itself

def test_release_runs_the_preprocessors_of_nbgrader_generate_assignment():
    """Release is nbgrader's own generate_assignment chain, minus the steps that need a gradebook or are
    unused; it accepts the source (CheckCellMetadata validates it). The full converter, gradebook
    included, runs in test_grading_notebooks.py."""
    from nbgrader.converters import GenerateAssignment

    from tlcourse.grading.release import _preprocessors

    theirs = [c.__name__ for c in GenerateAssignment.class_traits()["preprocessors"].default()
              if c.__name__ not in ("IncludeHeaderFooter", "InstantiateTests", "SaveCells")]
    assert [type(p).__name__ for p in _preprocessors()] == theirs
    released = release_notebook(source_nb())
    assert released.cells[3].metadata["nbgrader"]["checksum"]


def test_grade_command_line(tmp_path, capsys):
    """The CLI end to end on two unreadable submissions (only the reference run needs a kernel)."""
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "ann.ipynb").write_text("")
    (tmp_path / "subs" / "ben.ipynb").write_text("not json")
    code = cli_main(["grade", str(tmp_path / "subs"), "--source", str(EXAMPLE), "--out", str(tmp_path / "g.csv"),
                     "--feedback", str(tmp_path / "fb"), "--jobs", "1", "--timeout", "5", "--memory", "1024"])
    assert code == 0
    assert (tmp_path / "g.csv").read_text().splitlines()[1:] == ["ann,0,0,0,0,4,,no kernel run",
                                                                 "ben,0,0,0,0,4,,no kernel run"]
    assert "the file is empty" in (tmp_path / "fb" / "ann.md").read_text()
    assert "graded ben / example.ipynb: 0/4" in capsys.readouterr().out


def test_a_failing_cell_of_the_instructors_notebook_is_a_grader_error():
    """The reference run is the instructor's notebook run whole: any cell that fails there is reported (the round
    trips of every lesson rely on it), and the exercises it did observe are still graded."""
    from tlcourse.grading.job import reference_from

    def cell(role, status, grade_id=None, origin=1, ename=""):
        return {"role": role, "grade_id": grade_id, "origin": origin, "status": status, "ename": ename,
                "message": "", "seconds": 0.1}

    observed = json.dumps({"values": {"y": 1}})
    run = {"seed": 3, "isolation": "bwrap", "outputs": {"example-add-tests": observed},
           "cells": [cell("instructor", "ok", origin=1), cell("instructor", "error", origin=2, ename="ValueError"),
                     cell("test", "ok", "example-add-tests", 3), cell("observe", "ok", "example-add-tests", 3)]}
    ref = reference_from(run, b"", "example.ipynb")
    assert list(ref["problems"]) == ["cell 2"] and "ValueError" in ref["problems"]["cell 2"]
    assert list(ref["data"]) == ["example-add-tests"]
    run["cells"][1]["status"] = "ok"
    assert reference_from(run, b"", "example.ipynb")["problems"] == {}


def test_student_runs_get_the_student_copy_only_the_reference_gets_the_instructors(tmp_path, monkeypatch):
    """What travels to a pool or Dask worker for a student's run: no solution, no hidden test."""
    from tlcourse.grading import grade as grading

    class Stop(Exception):
        pass

    sent: dict[str, list[bytes]] = {}

    def capture(calls, jobs, hard_limit, on_done):
        for fn, args in calls:
            sent.setdefault(fn.__name__, []).append(args[0] if fn.__name__ == "run_reference" else args[2])
        raise Stop

    monkeypatch.setattr(grading, "run_jobs", capture)
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    nbformat.write(release_notebook(source_nb()), tmp_path / "subs" / "ann" / EXAMPLE.name)
    with pytest.raises(Stop):
        grading.grade([tmp_path / "subs"], [EXAMPLE], tmp_path / "g.csv", jobs=1, weak_isolation=True,
                      log=lambda m: None)
    (reference,), (student,) = sent["run_reference"], sent["run_job"]
    assert b"BEGIN HIDDEN TESTS" in reference and b"BEGIN SOLUTION" in reference
    assert b"HIDDEN TESTS" not in student and b"BEGIN SOLUTION" not in student
    assert b"raise NotImplementedError()" in student
