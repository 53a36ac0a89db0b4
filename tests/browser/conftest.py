"""One JupyterLab server and one chromium page for the whole browser suite, and a second pair for the
learner's lab.

The server serves a temporary copy of ``notebooks/`` (so outputs a run leaves in the browser can
never reach the repository) plus the deliberately broken notebooks of the test of the test. The
learner's lab serves a fresh workspace of student copies with nbgrader switched off, as ``make lab``.
Screenshots go to ``build/browser/``. Everything is skipped, with the reason, where Debian's
chromium or Python Playwright is missing.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab_driver import CHROMIUM, LabServer, lab_in_browser
from broken_notebooks import NAME as FAULTS, write_broken_notebooks

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "browser"


@pytest.fixture(scope="session")
def playwright_api():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`, as root) "
                    "to run the browser test")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Python Playwright is not installed (`pip install -e '.[dev]'`)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Path:
    """A copy of the lessons and the broken notebooks, in one folder JupyterLab serves."""
    folder = tmp_path_factory.mktemp("notebooks")
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        shutil.copy(path, folder / path.name)
    write_broken_notebooks(folder)
    return folder


@pytest.fixture(scope="session")
def lab(playwright_api, served, tmp_path_factory):
    work = tmp_path_factory.mktemp("jupyterlab")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    with lab_in_browser(playwright_api, LabServer(served, work), work, "jupyterlab.log", ARTIFACTS) as driver:
        yield driver


@pytest.fixture(scope="module")
def learner_lab(playwright_api, tmp_path_factory):
    """The learner's lab as ``make lab`` opens it: a fresh workspace of student copies, nbgrader's
    extensions switched off. Yields the driver and the workspace folder."""
    from tlcourse import workspace

    work, ws = tmp_path_factory.mktemp("learner-lab"), tmp_path_factory.mktemp("workspace")
    workspace.sync(ws)
    server = LabServer(ws, work, env={"JUPYTER_CONFIG_PATH": str(workspace.jupyter_config(ws))})
    with lab_in_browser(playwright_api, server, work, "learner-jupyterlab.log", ARTIFACTS) as driver:
        yield driver, ws




@pytest.fixture(scope="session")
def faults(lab):
    """The widget-faults notebook, opened and run once for the tests of the test."""
    lab.open_notebook(FAULTS)
    try:
        lab.run_all("faults-run-all", timeout_s=180)
        yield lab
    finally:
        try:
            lab.close_notebook(FAULTS)
        finally:
            lab.server.shutdown_kernels()


@pytest.fixture
def notebook(lab):
    """Open a notebook by name (``notebook("00_start_here.ipynb")``); closed and its kernel stopped after."""
    opened = []

    def open_(name: str) -> Lab:
        lab.open_notebook(name)
        opened.append(name)
        return lab

    yield open_
    for name in opened:
        try:
            lab.close_notebook(name)
        finally:
            lab.server.shutdown_kernels()
