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
# The same checks against notebooks with one planted fault each must report that fault.

def test_driver_fails_when_the_lr_demo_train_callback_raises(notebook):
    lab = notebook("broken_lr_demo_train_raises.ipynb")
    lab.run_all("broken-lr-run-all", timeout_s=120)
    with pytest.raises(LabCheckFailed, match="RuntimeError: planted failure: the Train callback raises"):
        lab.check_lr_demo("broken-lr-demo", timeout_s=20)


def test_driver_fails_when_freezelab_train_raises(notebook):
    lab = notebook("broken_freezelab_train_raises.ipynb")
    lab.run_all("broken-fl-raises-run-all", timeout_s=120)
    with pytest.raises(LabCheckFailed, match="planted failure: training crashed"):
        lab.check_freezelab("broken-fl-raises", timeout_s=60)


def test_driver_fails_when_freezelab_plot_never_appears(notebook):
    lab = notebook("broken_freezelab_no_plot.ipynb")
    lab.run_all("broken-fl-noplot-run-all", timeout_s=120)
    with pytest.raises(LabCheckFailed, match="live plot"):
        lab.check_freezelab("broken-fl-noplot", timeout_s=60)


def test_driver_passes_the_same_widgets_without_a_fault(notebook):
    lab = notebook("control_freezelab.ipynb")
    lab.run_all("control-fl-run-all", timeout_s=120)
    assert lab.check_freezelab("control-fl", timeout_s=60)["plan"] == "FFFFTT"
