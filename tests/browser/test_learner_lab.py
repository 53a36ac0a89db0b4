"""The learner's side of ``make lab``: their own copy of lesson 04 in a JupyterLab without nbgrader.

The learner sees the exercise's stub and no solution or hidden test, finds no nbgrader menu, sidebar
or button, tries a wrong answer (the check offers the solution), then the right one, and sees it
pass; the check records the pass in the workspace for ``tlcourse progress``.
"""
import json

import pytest

from tlcourse.solutions import solution

pytestmark = pytest.mark.browser

EXERCISE = "lesson04.freeze_up_to"


def test_the_instructor_lab_shows_nbgrader(lab):
    """The test of the test: the same look finds nbgrader's menu and sidebar where it is on."""
    found = lab.nbgrader_ui()
    assert any(f.startswith("menu") for f in found) and any(f.startswith("sidebar") for f in found), found


def test_the_learner_fills_in_an_exercise_of_lesson04_and_its_check_passes(learner_lab):
    lab, ws = learner_lab
    lab.open_notebook("04_freeze_lab.ipynb")
    sources = lab.code_cells().locator(".jp-InputArea-editor").all_inner_texts()
    assert not [t for t in sources if "BEGIN SOLUTION" in t or "HIDDEN TESTS" in t]
    checking = [i for i, t in enumerate(sources) if f'check("{EXERCISE}"' in t]
    assert len(checking) == 1, f"one cell should check {EXERCISE}; found {len(checking)}"
    answer = checking[0] - 1  # nbgrader's layout: the answer cell, then the cell that checks it
    assert "raise NotImplementedError()" in sources[answer]
    assert lab.nbgrader_ui() == []
    lab.screenshot("learner-04-opened")

    setup = next(i for i, t in enumerate(sources) if "import check" in t)
    for i in range(setup + 1):  # the parameters and the imports, as a learner runs them from the top
        lab.run_cell(i, f"learner-04-cell-{i}")
    assert not lab.error_outputs(), f"lesson 04's first cells fail: {lab.error_outputs()}"
    lab.set_cell_text(answer, sources[answer].replace("raise NotImplementedError()", "return None"))
    lab.run_cell(answer, "learner-04-wrong-answer")
    said = lab.run_cell(checking[0], "learner-04-wrong-check")
    assert "\u274c" in said and f"tlcourse solution {EXERCISE}" in said, said

    lab.set_cell_text(answer, solution(EXERCISE))  # what `tlcourse solution` prints is a working answer
    lab.run_cell(answer, "learner-04-answer")
    said = lab.run_cell(checking[0], "learner-04-check")
    lab.screenshot("learner-04-check-passed")
    assert f"\u2705 {EXERCISE}: all public checks passed." in said, said
    assert json.loads((ws / ".tlcourse" / "progress.json").read_text())[EXERCISE]["passed"] is True
    lab.close_notebook("04_freeze_lab.ipynb")
    lab.server.shutdown_kernels()


def test_run_all_goes_past_the_exercises_a_learner_has_not_solved(learner_lab):
    """A fresh student copy, Run All: the unsolved exercises say so, and every later cell still runs
    (answer and check cells carry the raises-exception tag in the student copy)."""
    lab, _ = learner_lab
    lab.open_notebook("00_start_here.ipynb")
    lab.run_all("learner-00-run-all", timeout_s=300)
    lab.screenshot("learner-00-run-all-done")
    said = lab.notebook.locator(".jp-OutputArea-output").all_inner_texts()
    assert any("\u274c" in t and "not done yet" in t for t in said), "an unsolved exercise should say so"
    assert lab.not_run() == [], f"code cells {lab.not_run()} did not run after an unsolved exercise"
    lab.close_notebook("00_start_here.ipynb")
    lab.server.shutdown_kernels()
