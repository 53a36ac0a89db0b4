"""The course as a learner sees it: JupyterLab in Debian's chromium, Run All, click the widgets.

Screenshots: ``build/browser/*.png``. Run with ``make test`` (browser step) or
``.venv/bin/pytest tests/browser``; skipped with a reason where chromium is missing.
"""
import pytest

from lab_driver import LabCheckFailed

pytestmark = pytest.mark.browser


def test_lesson00_runs_and_its_widget_demo_trains(notebook):
    lab = notebook("00_start_here.ipynb")
    lab.run_all("00-run-all", timeout_s=300)
    lab.check_no_errors("00-run-all-error")
    lab.screenshot("00-after-run-all")
    seen = lab.check_lr_demo("00-lr-demo")
    assert "Run 2:" in seen["message"]


def test_lesson04_freezelab_freeze_choice_train_plot_and_table(notebook):
    lab = notebook("04_freeze_lab.ipynb")
    lab.run_all("04-run-all", timeout_s=420)
    lab.check_no_errors("04-run-all-error")
    seen = lab.check_freezelab("04-freezelab", trainable=("fc2",))
    assert seen["plan"] == "FFFFTT" and seen["last_row"].split()[1] == "FFFFTT"


# ---------------------------------------------------------------- the test of the test
# The same checks on widgets with one planted fault each (tests/browser/broken_notebooks.py) must
# report that fault; on the same widgets without a fault they pass.

def test_checks_pass_on_the_healthy_widgets(faults):
    assert "Run 2:" in faults.check_lr_demo("control-lr", cell="control: lr demo", timeout_s=60)["message"]
    assert faults.check_freezelab("control-fl", cell="control: freezelab", timeout_s=60)["plan"] == "FFFFTT"


def test_checks_fail_when_the_lr_demo_train_callback_raises(faults):
    with pytest.raises(LabCheckFailed, match="RuntimeError: planted failure: the Train callback raises"):
        faults.check_lr_demo("fault-lr-raises", cell="fault: lr demo train raises", timeout_s=60)


def test_checks_fail_when_freezelab_training_raises(faults):
    with pytest.raises(LabCheckFailed, match="planted failure: training crashed"):
        faults.check_freezelab("fault-fl-raises", cell="fault: freezelab train raises", timeout_s=60)


def test_checks_fail_when_the_freezelab_plot_never_appears(faults):
    with pytest.raises(LabCheckFailed, match="live plot"):
        faults.check_freezelab("fault-fl-no-plot", cell="fault: freezelab no plot", timeout_s=60)


def test_checks_fail_when_a_cell_raises(faults):
    with pytest.raises(LabCheckFailed, match="RuntimeError: planted failure: a cell raises"):
        faults.check_no_errors("fault-cell-raises")
