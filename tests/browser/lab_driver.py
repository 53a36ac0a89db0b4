"""Drive the course in a real JupyterLab with Debian's chromium, the way a learner does.

``LabServer`` starts ``jupyter lab --no-browser`` (as ``make lab ARGS=--no-browser`` does) on a free
localhost port with a random token and a fresh settings folder; ``Lab`` wraps a Playwright page:
open a notebook from the file browser, *Run -> Run All Cells*, find a widget by its visible labels,
click it and wait for what a learner would see. Every check raises ``LabCheckFailed`` with a
sentence saying what was missing, and saves a screenshot first.

Kept free of pytest so the test of the test can run the very same checks on broken notebooks.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]
#: JupyterLab user settings for a quiet, reproducible session: no news or update pop-up, no autosave.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # render every cell, so off-screen prompts and outputs are in the page to check
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# An error shown to a learner: a traceback in a cell, or a widget saying something went wrong.
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b|Something went wrong",
                        re.MULTILINE)


def _error_line(text: str) -> str:
    """The line that names the error (a traceback's last ``SomeError: ...`` line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    named = [line for line in lines if ERROR_TEXT.search(line) and "Traceback" not in line]
    return (named[-1] if named else lines[-1] if lines else "")[:300]


class LabCheckFailed(AssertionError):
    """What a learner would have seen go wrong (the message says what, the screenshot shows it)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` serving ``notebook_dir``, with its settings and logs under ``workdir`` and ``env``
    added to its environment (e.g. the learner's ``JUPYTER_CONFIG_PATH``, as ``make lab`` sets it)."""

    def __init__(self, notebook_dir: Path, workdir: Path, env: dict[str, str] | None = None):
        self.notebook_dir, self.workdir, self.env = Path(notebook_dir), Path(workdir), env or {}
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.log_path = self.workdir / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        return f"{self.base}/{path}?token={self.token}"

    def start(self, timeout: float = 180) -> "LabServer":
        settings = self.workdir / "lab-settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "lab-workspaces"), **self.env)
        jupyter = Path(sys.executable).with_name("jupyter")
        cmd = [str(jupyter), "lab", f"--notebook-dir={self.notebook_dir}", "--no-browser",
               f"--port={self.port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={self.token}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI containers run as root; jupyter refuses without it
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=self.log_path.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("lab"), timeout=10) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer on {self.base}/lab within {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (frees the CPU between notebooks)."""
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # jupyter shuts its kernels down on SIGTERM
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def launch_browser(playwright, profile: Path, viewport=(1400, 1000)):
    """Debian's chromium in a fresh profile, headless (Playwright's own browsers are not needed)."""
    shutil.rmtree(profile, ignore_errors=True)
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": viewport[0], "height": viewport[1]})


class Lab:
    """One JupyterLab page; ``shots`` is the folder for screenshots."""

    def __init__(self, page, server: LabServer, shots: Path, timeout_s: float = 120):
        self.page, self.server, self.shots = page, server, Path(shots)
        self.shots.mkdir(parents=True, exist_ok=True)
        self.timeout_ms = timeout_s * 1000
        self.page.set_default_timeout(self.timeout_ms)

    # ------------------------------------------------------------------ helpers
    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def fail(self, shot: str, message: str):
        path = self.screenshot(shot)
        raise LabCheckFailed(f"{message} (screenshot: {path})")

    def wait_for(self, condition, what: str, shot: str, timeout_s: float | None = None, every: float = 0.5):
        """Poll ``condition()`` until it returns something truthy; fail with ``what`` after the timeout."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.timeout_ms / 1000)
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail(shot, f"timed out waiting for {what}")
            self.page.wait_for_timeout(every * 1000)

    @property
    def notebook(self):
        """The notebook in the current main-area tab."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def kernel_status(self) -> str:
        """The kernel state the toolbar shows ('idle', 'busy', ...; '' while none is attached)."""
        indicator = self.notebook.locator(".jp-Notebook-ExecutionIndicator")
        return (indicator.get_attribute("data-status") or "") if indicator.count() else ""

    # ------------------------------------------------------------------ the learner's moves
    def open_lab(self) -> None:
        self.page.goto(self.server.url("lab"))
        self.page.locator(".jp-DirListing-content").wait_for()

    def open_notebook(self, name: str) -> None:
        """Double-click ``name`` in the file browser and wait until its kernel is idle."""
        item = self.page.locator(".jp-DirListing-item", has=self.page.locator(".jp-DirListing-itemText",
                                                                                 has_text=re.compile(f"^{re.escape(name)}$")))
        item.dblclick()
        self.page.locator(".lm-TabBar-tab.lm-mod-current[data-type='document-title']", has_text=name).wait_for()
        self.notebook.locator(".jp-Cell").first.wait_for()
        self.wait_for(lambda: self.kernel_status() == "idle" and "Idle" in self._statusbar_kernel(),
                      f"the kernel of {name} to start", f"{Path(name).stem}-kernel-start")

    def _statusbar_kernel(self) -> str:
        item = self.page.locator(".jp-StatusBar-Widget", has_text="|")
        return " ".join(item.all_inner_texts())

    def menu(self, *path: str) -> None:
        """Click a menu bar entry, then the items below it (exact labels)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(path[0])}$")).click()
        for label in path[1:]:
            self.page.locator(".lm-Menu:visible .lm-Menu-itemLabel",
                              has_text=re.compile(f"^{re.escape(label)}$")).click()

    def prompts(self) -> list[str]:
        """Every code cell's input prompt text: '[3]:' done, '[*]:' queued or running, '[ ]:' not run."""
        return [t.strip() for t in self.notebook.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()]

    def run_all(self, shot: str, timeout_s: float = 420) -> float:
        """*Run -> Run All Cells* and wait until no cell is queued or running; returns seconds."""
        start, before = time.monotonic(), self.prompts()
        self.notebook.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
        self.menu("Run", "Run All Cells")
        self.wait_for(lambda: self.prompts() != before or self.kernel_status() == "busy",
                      "the cells to start running", f"{shot}-start", timeout_s=60, every=0.2)
        self.wait_for(lambda: not any("*" in p for p in self.prompts()) and self.kernel_status() == "idle",
                      "every cell to finish", f"{shot}-timeout", timeout_s=timeout_s, every=1.0)
        return time.monotonic() - start

    def error_outputs(self) -> list[str]:
        """Error text a learner sees in the notebook: tracebacks in cell outputs, and widget
        messages saying something went wrong."""
        texts = self.notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                                      ".jp-OutputArea-output.jp-mod-error, .widget-html-content").all_text_contents()
        return [_error_line(t) for t in texts if ERROR_TEXT.search(t)]

    # JupyterLab's log console collects kernel output that belongs to no cell: a widget callback
    # that raises ends up there (a status-bar counter), not in the notebook.
    _LOG_ERRORS = ".jp-LogConsolePanel .jp-OutputArea-child:has(.jp-OutputArea-prompt[data-log-level='error'])"

    def log_count(self) -> int:
        """The status bar's count of log-console messages (0 while it is hidden)."""
        item = self.page.locator(".jp-LogConsoleStatusItem")
        if not item.count() or not item.is_visible():
            return 0
        digits = re.findall(r"\d+", item.inner_text())
        return int(digits[0]) if digits else 0

    def log_state(self) -> tuple[int, int]:
        return self.log_count(), self.page.locator(self._LOG_ERRORS).count()

    def logged_errors(self) -> list[str]:
        """The last line of every error-level entry of the log console (opened if it has entries)."""
        if self.log_count() and not self.page.locator(".jp-LogConsolePanel").count():
            self.page.locator(".jp-LogConsoleStatusItem").click()
            self.page.locator(".jp-LogConsolePanel").wait_for()
            self.page.wait_for_timeout(500)
        errors = []
        for text in self.page.locator(self._LOG_ERRORS).all_text_contents():
            errors.append(_error_line(text))
        return errors

    def not_run(self) -> list[int]:
        """Indices of code cells without an execution count (skipped after an error)."""
        return [i for i, p in enumerate(self.prompts()) if not re.search(r"\d", p)]

    def errors(self) -> list[str]:
        """Every error a learner can see: in the notebook and in the log console."""
        return self.error_outputs() + self.logged_errors()

    def check_no_errors(self, shot: str, before: list[str] | None = None) -> None:
        """Fail if the page shows an error (one not already in ``before``) or a cell did not run."""
        errors = list((Counter(self.errors()) - Counter(before or [])).elements())
        if errors:
            self.fail(shot, "the notebook shows an error: " + " | ".join(errors))
        skipped = self.not_run()
        if skipped:
            self.fail(shot, f"code cells {skipped} did not run (an earlier cell failed?)")

    def close_notebook(self, name: str) -> None:
        """Close the notebook's tab without saving, and the log console if it was opened."""
        self.page.keyboard.press("Escape")
        tabs = self.page.locator(".lm-TabBar-tab", has_text=re.compile(f"^(Log: )?{re.escape(name)}$"))
        for i in reversed(range(tabs.count())):
            tabs.nth(i).locator(".lm-TabBar-tabCloseIcon").click()
            dialog = self.page.locator(".jp-Dialog")
            try:
                dialog.wait_for(timeout=3000)
            except Exception:
                continue
            dialog.locator("button", has_text=re.compile("^(Discard|Don't Save)$")).first.click()
            dialog.wait_for(state="detached")

    def nbgrader_ui(self) -> list[str]:
        """nbgrader's menu, sidebars and the open notebook's Validate button, as found on the page."""
        found = [f"menu {t}" for t in self.page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
                 if "nbgrader" in t.lower()]
        titles = (tab.get_attribute("title") or "" for tab in self.page.locator(".lm-TabBar-tab").all())
        found += [f"sidebar {t}" for t in titles if "nbgrader" in t.lower()]
        toolbar = self.notebook.locator(".jp-Toolbar").first
        if toolbar.count() and "Validate" in toolbar.inner_text().split("\n"):
            found.append("toolbar Validate")
        return found

    def code_cells(self):
        return self.notebook.locator(".jp-CodeCell")

    def set_cell_text(self, index: int, text: str) -> None:
        """Replace code cell ``index``'s text as a learner would: click in, select all, type (pasted,
        so the editor adds no indentation or brackets of its own)."""
        editor = self.code_cells().nth(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")

    def run_cell(self, index: int, shot: str, timeout_s: float = 120) -> str:
        """Select code cell ``index``, press Shift+Enter, wait until it ran; returns its output text."""
        cell = self.code_cells().nth(index)
        prompt = cell.locator(".jp-InputPrompt")
        before = prompt.inner_text()
        prompt.click()
        self.page.keyboard.press("Shift+Enter")
        self.wait_for(lambda: (p := prompt.inner_text()) != before and "*" not in p and re.search(r"\d", p)
                      and self.kernel_status() == "idle", f"code cell {index} to run", shot, timeout_s)
        return "\n".join(cell.locator(".jp-OutputArea-output").all_inner_texts())

    # ------------------------------------------------------------------ widgets
    def cell(self, marker: str | None):
        """The code cell whose text contains ``marker`` (None: the whole notebook)."""
        return self.notebook.locator(".jp-CodeCell").filter(has_text=marker) if marker else self.notebook

    def widget_box(self, *labels: str, cell: str | None = None):
        """The innermost widget box (VBox) that holds a Train button and every given label."""
        box = self.cell(cell).locator(".widget-vbox").filter(has=self.page.locator("button", has_text="Train"))
        for label in labels:
            box = box.filter(has_text=label)
        return box.last

    def find_widget(self, shot: str, *labels: str, cell: str | None = None):
        box = self.widget_box(*labels, cell=cell)
        try:
            box.wait_for(timeout=10_000)
        except Exception:
            self.fail(f"{shot}-missing", f"no widget with a Train button and {', '.join(labels)} on the page")
        box.scroll_into_view_if_needed()
        return box

    @staticmethod
    def _mark_images(scope) -> None:
        scope.evaluate("el => el.querySelectorAll('img').forEach(i => i.dataset.seen = '1')")

    @staticmethod
    def _new_images(scope) -> int:
        """Images drawn since ``_mark_images`` (and loaded)."""
        return scope.evaluate("el => [...el.querySelectorAll('img:not([data-seen])')]"
                              ".filter(i => i.complete && i.naturalWidth > 0).length")

    _WATCH = """([button, plot]) => {
        // Record what a learner would only glimpse: the button greyed out while it trains, and
        // every frame of the live plot (new <img> elements), however quickly they come and go.
        window.__tlWatch = {disabled: false, frames: 0};
        new MutationObserver(records => {
            if (records.some(r => r.attributeName === 'disabled' && r.oldValue === null)) window.__tlWatch.disabled = true;
        }).observe(button, {attributes: true, attributeOldValue: true});
        if (plot) new MutationObserver(records => {
            for (const r of records) for (const n of r.addedNodes)
                if (n.nodeType === 1) window.__tlWatch.frames += (n.tagName === 'IMG') + n.querySelectorAll('img').length;
        }).observe(plot, {childList: true, subtree: true});
    }"""

    def click_and_wait(self, box, shot: str, steps: list, timeout_s: float, plot=None) -> dict:
        """Click the box's Train button, then wait for each ``(condition, what)`` in turn (the first
        up to ``timeout_s``, the others 10 s more: the widgets send them before the first). A traceback
        the click sends to the log console, or a widget message saying something went wrong, fails
        at once with that error."""
        button = box.locator("button", has_text="Train").last
        if not button.is_visible() or button.is_disabled():
            self.fail(f"{shot}-button", "the widget's Train button is not visible and enabled")
        log_before = self.log_state()
        errors_before = self.errors()
        self.page.evaluate(self._WATCH, [button.element_handle(), plot.element_handle() if plot else None])
        button.click()
        button.evaluate("el => el.scrollIntoView({block: 'start'})")  # screenshots show what follows it
        for i, (condition, what) in enumerate(steps):
            wait = timeout_s if i == 0 else 10  # the widgets send the later steps before the first one

            def done_or_failed():
                return condition() or self.log_state() != log_before or self._widget_errors(box)
            self.wait_for(done_or_failed, what, f"{shot}-timeout", wait)
            self.check_no_errors(f"{shot}-error", errors_before)
            if not condition():  # the log changed without an error: keep waiting for the condition
                self.wait_for(condition, what, f"{shot}-timeout", wait)
        self.wait_for(lambda: not button.is_disabled(), "the Train button to be enabled again", f"{shot}-button", 20)
        seen = self.page.evaluate("window.__tlWatch")
        if not seen["disabled"]:
            self.fail(f"{shot}-button", "the Train button was not disabled while the widget trained")
        return seen

    @staticmethod
    def _widget_errors(box) -> list[str]:
        return [t for t in box.locator(".widget-html-content").all_text_contents() if ERROR_TEXT.search(t)]

    @staticmethod
    def _run_number(text: str) -> int | None:
        found = re.search(r"Run (\d+):", text)
        return int(found.group(1)) if found else None

    # ------------------------------------------------------------------ lesson 00
    @staticmethod
    def _lr_rows(text: str) -> list[str]:
        return [line for line in text.splitlines()
                if re.match(r"\s*[\d.e+-]+\s+\d+\s+\S+\s+(converged|diverged)\s*$", line)]

    def check_lr_demo(self, shot: str = "00-lr-demo", lr: str = "0.2", timeout_s: float = 120,
                      cell: str | None = None) -> dict:
        """Lesson 00's LearningRateDemo: it shows its first run after Run All; set a learning rate
        on the slider, click Train, and see the message report the next run, a new loss plot, and
        the table gain a row with that learning rate."""
        box = self.find_widget(shot, "learning rate", cell=cell)
        message = box.locator(".widget-html-content").last
        output = box.locator(".widget-output").last
        before = self._run_number(message.inner_text())
        rows = len(self._lr_rows(output.inner_text()))
        if before is None or rows < 1 or output.locator("img").count() < 1:
            self.fail(f"{shot}-before", "after Run All the demo should show its first run: a message, a plot "
                                        "and a table")
        readout = box.locator(".widget-slider", has_text="learning rate").locator(".widget-readout")
        readout.click()
        readout.fill(lr)
        readout.press("Enter")
        self.screenshot(f"{shot}-before")
        self._mark_images(output)
        seen = self.click_and_wait(box, shot, [
            (lambda: self._run_number(message.inner_text()) == before + 1, f"the message to report run {before + 1}"),
            (lambda: self._new_images(output) >= 1, "a new loss plot"),
            (lambda: len(self._lr_rows(output.inner_text())) == rows + 1, f"the run table to have {rows + 1} rows"),
        ], timeout_s, plot=output)
        chosen = float(readout.inner_text())  # the log slider snaps to its grid (0.2 -> 0.1995)
        last_lr = float(self._lr_rows(output.inner_text())[-1].split()[0])
        if abs(last_lr - chosen) > 1e-3:
            self.fail(f"{shot}-table", f"the new run should use the slider's learning rate {chosen}; the table "
                                       f"says {last_lr}")
        self.screenshot(f"{shot}-after")
        return {"message": message.inner_text(), "table": output.inner_text(), **seen}

    # ------------------------------------------------------------------ lesson 04
    @staticmethod
    def _plan(box) -> dict[str, str]:
        """Layer name -> the choice its row shows as pressed, read from the page, bottom to top."""
        rows = box.locator(".widget-toggle-buttons").filter(
            has=box.page.locator(".widget-label", has_text=re.compile(r"^(conv|fc)\d")))
        return {row.locator(".widget-label").inner_text().split()[0]:
                row.locator("button.mod-active").inner_text().strip() for row in rows.all()}

    def check_freezelab(self, shot: str = "04-freezelab", trainable: tuple[str, ...] = ("fc2",),
                        timeout_s: float = 180, cell: str | None = None) -> dict:
        """Lesson 04's FreezeLab: click 'trainable' on the rows of ``trainable`` (found by their layer
        labels), click Train, and see the message report the new run, the live plot change and the
        run table gain a row with the new plan."""
        box = self.find_widget(shot, "FreezeLab", cell=cell)
        button = box.locator("button", has_text="Train").last
        message = button.locator("xpath=following::div[contains(@class,'widget-html-content')][1]")
        plot = box.locator(".widget-output").last
        table = box.locator("table").last
        runs = max(table.locator("tr").count() - 1, 0) if table.count() else 0
        self._mark_images(plot)
        first_src = plot.locator("img").first.get_attribute("src") if plot.locator("img").count() else None
        if len(self._plan(box)) < 2:
            self.fail(f"{shot}-no-layers", f"the FreezeLab should show a row per layer, found {self._plan(box)}")
        for layer in trainable:
            row = box.locator(".widget-toggle-buttons").filter(has=self.page.locator(
                ".widget-label", has_text=re.compile(f"^{re.escape(layer)}( \\(new head\\))?$")))
            if row.count() != 1:
                self.fail(f"{shot}-no-toggle", f"no frozen/trainable/removed row labelled {layer!r}")
            choice = row.locator("button", has_text=re.compile("^trainable$"))
            choice.click()
            self.wait_for(lambda: "mod-active" in (choice.get_attribute("class") or ""),
                          f"{layer} to show as trainable", f"{shot}-toggle", 20)
        self.screenshot(f"{shot}-before")
        seen = self.click_and_wait(box, shot, [
            (lambda: self._run_number(message.inner_text()) == runs + 1, f"the message to report run {runs + 1}"),
            (lambda: self._new_images(plot) >= 1 and plot.locator("img").first.get_attribute("src") != first_src,
             "the live plot to show the new run"),
            (lambda: table.count() and table.locator("tr").count() - 1 == runs + 1,
             f"the run table to list {runs + 1} runs"),
        ], timeout_s, plot=plot)
        if seen["frames"] < 2:  # the first epoch is always drawn, and the end of the run
            self.fail(f"{shot}-live", f"the plot should update while training (first epoch and end), "
                                      f"it drew {seen['frames']} frame(s)")
        last_row = table.locator("tr").last.inner_text()
        chosen = self._plan(box)
        if any(chosen[layer] != "trainable" for layer in trainable):
            self.fail(f"{shot}-toggle", f"the layer rows should show {trainable} as trainable: {chosen}")
        plan = "".join({"frozen": "F", "trainable": "T", "removed": "-"}[c] for c in chosen.values())
        if plan not in last_row.split():
            self.fail(f"{shot}-table", f"the new run's row should show the plan {plan}; it reads {last_row!r}")
        self.screenshot(f"{shot}-after")
        return {"message": message.inner_text(), "last_row": last_row, "runs": runs + 1, "plan": plan, **seen}


@contextlib.contextmanager
def lab_in_browser(playwright_api, server: LabServer, work: Path, log_name: str, artifacts: Path,
                   launch=None, driver=None):
    """``server`` started and opened in a fresh chromium profile (``launch``, default ``launch_browser``) by a
    driver (``driver``, default ``Lab``); its log kept in ``artifacts`` as ``log_name``."""
    server.start()
    context = None
    try:
        context = (launch or launch_browser)(playwright_api, work / "chromium-profile")
        driver = (driver or Lab)(context.new_page(), server, artifacts)
        driver.open_lab()
        yield driver
    finally:
        if context is not None:
            context.close()
        server.stop()
        if (work / "jupyterlab.log").exists():
            artifacts.mkdir(parents=True, exist_ok=True)
            shutil.copy(work / "jupyterlab.log", artifacts / log_name)
