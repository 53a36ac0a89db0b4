"""The learner's workspace: student copies made once, course updates beside a learner's work, never over
it; progress recorded by ``check``; solutions on request; ``make lab`` as learner, instructor and root."""
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tlcourse import progress, solutions, workspace
from tlcourse.grading import CheckFailed, check, exercise
from tlcourse.grading.release import release

REPO = Path(__file__).resolve().parents[1]


@exercise("wstest.twice", hint="Multiply by two.")
def _(twice):
    assert twice(3) == 6, f"twice(3) should be 6, got {twice(3)!r}"


def _meta(grade_id: str, test: bool) -> dict:
    return {"nbgrader": {"schema_version": 3, "grade": test, "solution": not test, "locked": test,
                         "task": False, "grade_id": grade_id, **({"points": 2} if test else {})}}


def write_lesson(path: Path, intro: str = "# A lesson", hidden: str = "assert twice(0) == 0") -> Path:
    """An instructor's notebook with one exercise (wstest.twice): solution and hidden test."""
    cells = [new_markdown_cell(intro),
             new_code_cell("def twice(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                           metadata=_meta("wstest-twice", test=False)),
             new_code_cell(f'check("wstest.twice", twice)\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS',
                           metadata=_meta("wstest-twice-tests", test=True))]
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # as in a committed lesson: an edit keeps the other cells' ids
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture
def course(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_lesson(folder / "01_twice.ipynb")
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Read me")]), folder / "00_intro.ipynb")
    return folder


def released(src: Path, tmp_path: Path) -> bytes:
    """What ``tlcourse release`` writes for ``src``."""
    return release([src], tmp_path / "released")[0].read_bytes()


def test_first_run_writes_what_release_writes_and_a_second_run_changes_nothing(course, tmp_path):
    ws = tmp_path / "ws"
    assert workspace.sync(ws, course) == ["added 00_intro.ipynb", "added 01_twice.ipynb"]
    copy = (ws / "01_twice.ipynb").read_text()
    assert "raise NotImplementedError()" in copy and "BEGIN SOLUTION" not in copy and "HIDDEN" not in copy
    assert (ws / "01_twice.ipynb").read_bytes() == released(course / "01_twice.ipynb", tmp_path)
    assert (ws / "00_intro.ipynb").read_bytes() == (course / "00_intro.ipynb").read_bytes()
    assert workspace.sync(ws, course) == []


def test_a_course_update_never_touches_an_edited_copy_and_arrives_beside_it(course, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, course)
    mine = ws / "01_twice.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("raise NotImplementedError()", "return x + x")
    nbformat.write(nb, mine)
    edited = mine.read_bytes()

    write_lesson(course / "01_twice.ipynb", intro="# A lesson, corrected")        # the course changes it
    write_lesson(course / "02_new.ipynb")                                         # and adds a lesson
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Read me, v2")]), course / "00_intro.ipynb")
    done = workspace.sync(ws, course)

    assert mine.read_bytes() == edited                                            # byte for byte
    beside = ws / "01_twice (updated).ipynb"
    assert beside.read_bytes() == released(course / "01_twice.ipynb", tmp_path)
    assert (ws / "02_new.ipynb").exists()
    assert "Read me, v2" in (ws / "00_intro.ipynb").read_text()                 # untouched: refreshed
    assert done == ["updated 00_intro.ipynb (you had not changed it)",
                    "01_twice.ipynb changed in the course; your copy stays as it is, the new version is "
                    "beside it: 01_twice (updated).ipynb", "added 02_new.ipynb"]
    assert workspace.sync(ws, course) == []                                       # offered once

    # A second update replaces an updated copy left as it was, but not one the learner worked in.
    write_lesson(course / "01_twice.ipynb", intro="# A lesson, corrected twice")
    workspace.sync(ws, course)
    assert "corrected twice" in beside.read_text() and mine.read_bytes() == edited
    beside.write_text(beside.read_text().replace("corrected twice", "my notes"))
    write_lesson(course / "01_twice.ipynb", intro="# A lesson, third edition")
    workspace.sync(ws, course)
    assert "my notes" in beside.read_text()
    assert "third edition" in (ws / "01_twice (updated 2).ipynb").read_text()


def test_a_change_the_student_copy_does_not_show_offers_nothing(course, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, course)
    (ws / "01_twice.ipynb").write_text((ws / "01_twice.ipynb").read_text() + " ")
    write_lesson(course / "01_twice.ipynb", hidden="assert twice(-1) == -2")     # a hidden test only
    assert workspace.sync(ws, course) == []
    assert not (ws / "01_twice (updated).ipynb").exists()


def test_a_deleted_copy_comes_back_fresh(course, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, course)
    (ws / "01_twice.ipynb").unlink()
    assert workspace.sync(ws, course) == ["restored a fresh copy of 01_twice.ipynb"]
    assert (ws / "01_twice.ipynb").read_bytes() == released(course / "01_twice.ipynb", tmp_path)


def test_a_lost_record_never_costs_the_learners_edits(course, tmp_path):
    ws = tmp_path / "ws"
    workspace.sync(ws, course)
    (ws / "01_twice.ipynb").write_text((ws / "01_twice.ipynb").read_text() + " ")
    edited = (ws / "01_twice.ipynb").read_bytes()
    (ws / ".tlcourse" / "manifest.json").write_text("{not json")
    done = workspace.sync(ws, course)
    assert "was damaged" in done[0] and (ws / "01_twice.ipynb").read_bytes() == edited
    assert (ws / "01_twice (updated).ipynb").read_bytes() == released(course / "01_twice.ipynb", tmp_path)
    assert workspace.sync(ws, course) == []


def test_bad_places_for_a_workspace_are_refused(course, tmp_path):
    with pytest.raises(ValueError, match="course's own folder"):
        workspace.sync(course, course)
    with pytest.raises(FileNotFoundError, match="no course notebooks"):
        workspace.sync(tmp_path / "ws", tmp_path / "missing")


def test_check_records_progress_in_a_workspace_only_and_offers_the_solution(course, tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    workspace.sync(ws, course)
    monkeypatch.chdir(tmp_path)                                   # not a workspace: nothing written
    check("wstest.twice", lambda x: 2 * x)
    assert not (ws / ".tlcourse" / "progress.json").exists()

    monkeypatch.chdir(ws)                                         # a kernel of a workspace notebook
    with pytest.raises(CheckFailed, match=r"(?s)Hint: Multiply by two\..*tlcourse solution wstest\.twice"):
        check("wstest.twice", lambda x: x)
    monkeypatch.setenv("TLCOURSE_SOLUTIONS", "off")
    with pytest.raises(CheckFailed) as failed:
        check("wstest.twice", lambda x: x)
    assert "tlcourse solution" not in str(failed.value)
    assert "\u274c failed" in progress.report(ws, course)
    check("wstest.twice", lambda x: 2 * x)
    report = progress.report(ws, course)
    assert "wstest.twice" in report and "\u2705 passed" in report and "1 of 1 exercises pass" in report


def test_solution_prints_the_instructors_cell_without_hidden_tests(course, monkeypatch):
    text = solutions.solution("wstest.twice", course)
    assert "return 2 * x" in text and "HIDDEN" not in text and "assert twice(0)" not in text
    with pytest.raises(KeyError, match="no exercise 'wstest.nope'; the course has: wstest.twice"):
        solutions.solution("wstest.nope", course)
    monkeypatch.setenv("TLCOURSE_SOLUTIONS", "off")
    with pytest.raises(PermissionError, match="switched off"):
        solutions.solution("wstest.twice", course)


def test_the_learner_lab_config_switches_nbgrader_off(tmp_path, monkeypatch):
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyter_core.paths import jupyter_config_path
    from jupyterlab_server.config import get_page_config

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(workspace.jupyter_config(tmp_path)))
    manager = ExtensionConfigManager(read_config_path=jupyter_config_path())
    nbgrader = [name for name in manager.get_jpserver_extensions() if name.startswith("nbgrader")]
    assert nbgrader and not any(manager.enabled(name) for name in nbgrader)
    assert "@jupyter/nbgrader" in get_page_config([], None)["disabledExtensions"]


def test_the_commands(course, tmp_path, capsys):
    from tlcourse.cli import main

    ws = str(tmp_path / "ws")
    assert main(["workspace", "--dir", ws, "--source", str(course)]) == 0
    assert main(["workspace", "--dir", ws, "--source", str(course)]) == 0
    assert main(["progress", "--dir", ws, "--source", str(course)]) == 0
    assert main(["solution", "wstest.twice", "--source", str(course)]) == 0
    assert main(["solution", "wstest.nope", "--source", str(course)]) == 1
    out, err = capsys.readouterr()
    assert "added 01_twice.ipynb" in out and "(2 lessons, up to date)" in out and "not checked yet" in out
    assert "return 2 * x" in out and "no exercise 'wstest.nope'" in err


def _make_lab(*args: str, uid: int, tmp_path: Path) -> str:
    """What ``make -n lab ...`` would run, with ``id -u`` answering ``uid``."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (fake / "id").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("TLCOURSE_WORKSPACE", "MODE", "WORKSPACE")}
    env["PATH"] = f"{fake}:{env['PATH']}"
    run = subprocess.run(["make", "-n", "-C", str(REPO), "lab", "VENV=.venv", *args], env=env,
                         capture_output=True, text=True)
    return run.stdout + run.stderr


def test_make_lab_opens_the_workspace_as_learner_and_notebooks_as_instructor_with_allow_root_for_root(tmp_path):
    learner = _make_lab("ARGS=--no-browser", uid=0, tmp_path=tmp_path)
    assert "tlcourse workspace" in learner and "--allow-root" in learner and "running as root" in learner
    assert f'--notebook-dir="{REPO / "workspace"}"' in learner and "JUPYTER_CONFIG_PATH" in learner
    user = _make_lab(uid=1000, tmp_path=tmp_path)
    assert "--allow-root" not in user and "running as root" not in user
    instructor = _make_lab("MODE=instructor", uid=1000, tmp_path=tmp_path)
    assert "--notebook-dir=notebooks" in instructor and "JUPYTER_CONFIG_PATH" not in instructor
    assert "use MODE=learner" in _make_lab("MODE=teacher", uid=1000, tmp_path=tmp_path)


def test_under_the_chinese_setting_the_workspace_command_syncs_the_chinese_lessons(tmp_path, monkeypatch, capsys):
    """`tlcourse workspace` typed in the Chinese lab (TLCOURSE_LANG=zh) brings the Chinese lessons, not the English."""
    from tlcourse.cli import main as cli_main

    monkeypatch.setenv("TLCOURSE_LANG", "zh")
    assert cli_main(["workspace", "--dir", str(tmp_path / "ws")]) == 0
    got = sorted(p.name for p in (tmp_path / "ws").glob("*.ipynb"))
    assert got == sorted(p.name for p in (workspace.COURSE_NOTEBOOKS / "zh").glob("*.ipynb")), got
    assert all(nbformat.read(tmp_path / "ws" / name, as_version=4).metadata["tlcourse"]["lang"] == "zh" for name in got)
