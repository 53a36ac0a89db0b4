"""中文版 in the browser: ``make lab-zh``'s workspace (student copies of notebooks/zh/, JupyterLab's interface in
Chinese, ``TLCOURSE_LANG=zh`` in the kernels) in Debian's chromium.

The learner opens the Chinese lesson 08 in a JupyterLab whose menus are Chinese, runs its first cells and the
cell that draws the shifted test set (a figure with a Chinese title), then writes a cell that shows the learning-
rate widget: its labels are Chinese; a click on 训练 trains and draws a figure with a Chinese title. No cell or
widget output says a glyph is missing from the fonts. Screenshots in build/browser/zh-*.png.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from lab_driver import CHROMIUM, CHROMIUM_ARGS, Lab, LabServer, lab_in_browser

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "browser"
ZH = REPO / "notebooks" / "zh"
LESSON = "08_a_real_backbone.ipynb"
MISSING_GLYPH = "missing from font"


class ChineseLab(Lab):
    def _statusbar_kernel(self) -> str:  # the status bar says 空闲 where the English one says Idle
        return super()._statusbar_kernel().replace("空闲", "Idle")


def launch_chinese_browser(playwright, profile: Path, viewport=(1400, 1000)):
    """Debian's chromium as ``lab_driver.launch_browser`` starts it, plus the course's CJK font through a
    fontconfig file of its own: a CI image has no Chinese font for web pages (a learner's desktop has one),
    and the screenshots should show JupyterLab's Chinese menus, not empty boxes."""
    from tlcourse.fonts import cjk_font_path

    shutil.rmtree(profile, ignore_errors=True)
    env = dict(os.environ)
    font = cjk_font_path()
    if font is not None:
        fonts = profile.parent / "cjk-fonts"
        fonts.mkdir(parents=True, exist_ok=True)
        link = fonts / font.name
        if not link.exists():
            link.symlink_to(font)
        conf = profile.parent / "fonts.conf"
        conf.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{fonts}</dir>
  <cachedir>{profile.parent / "fontconfig-cache"}</cachedir>
</fontconfig>
""")
        env["FONTCONFIG_FILE"] = str(conf)
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, env=env,
        viewport={"width": viewport[0], "height": viewport[1]})


@pytest.fixture(scope="module")
def zh_lab(playwright_api, tmp_path_factory):
    from tlcourse import workspace

    work, ws = tmp_path_factory.mktemp("zh-lab"), tmp_path_factory.mktemp("workspace-zh")
    workspace.sync(ws, ZH)
    for glossary in ZH.glob("*.md"):
        shutil.copy(glossary, ws / glossary.name)
    config = workspace.jupyter_config(ws, lang="zh")
    server = LabServer(ws, work, env={"JUPYTER_CONFIG_PATH": str(config), "TLCOURSE_LANG": "zh"})
    with lab_in_browser(playwright_api, server, work, "zh-jupyterlab.log", ARTIFACTS,
                        launch=launch_chinese_browser, driver=ChineseLab) as driver:
        yield driver


def code_index(lab: Lab, marker: str) -> int:
    sources = lab.code_cells().locator(".jp-InputArea-editor").all_inner_texts()
    found = [i for i, text in enumerate(sources) if marker in text]
    assert found, f"no code cell of {LESSON} contains {marker!r}"
    return found[0]


def test_chinese_lesson_in_a_chinese_jupyterlab_with_chinese_widgets_and_figures(zh_lab):
    lab = zh_lab
    menus = lab.page.locator(".lm-MenuBar-content").first.inner_text()
    lab.screenshot("zh-lab-opened")
    assert "编辑" in menus and "运行" in menus, f"JupyterLab's menus are not Chinese: {menus!r}"

    lab.open_notebook(LESSON)
    imports = code_index(lab, 'i18n.use_language("zh")')
    for i in range(imports + 1):  # the parameters and the imports, as a learner runs them from the top
        lab.run_cell(i, f"zh-08-cell-{i}", timeout_s=300)
    assert not lab.error_outputs(), lab.error_outputs()

    shifted = code_index(lab, "domains.show(shifted")
    said = lab.run_cell(shifted, "zh-08-shifted-figure", timeout_s=300)
    cell = lab.code_cells().nth(shifted)
    assert cell.locator(".jp-OutputArea-output img").count() >= 1, "the shifted test set's figure is missing"
    assert MISSING_GLYPH not in said, said
    cell.scroll_into_view_if_needed()
    lab.screenshot("zh-08-shifted-figure")

    answer = code_index(lab, "def lora_linear")  # the learner's own cell: where they would try things out
    lab.set_cell_text(answer, "from tlcourse.widgets.lr_demo import LearningRateDemo\n\nLearningRateDemo()")
    lab.run_cell(answer, "zh-08-widget-shown")
    box = lab.code_cells().nth(answer).locator(".widget-vbox").filter(
        has=lab.page.locator("button", has_text="训练")).last
    box.wait_for(timeout=30_000)
    box.scroll_into_view_if_needed()
    text = box.inner_text()
    assert "学习率" in text and "步数" in text, f"the widget's labels are not Chinese: {text!r}"
    message = box.locator(".widget-html-content").last
    output = box.locator(".widget-output").last
    box.locator("button", has_text="训练").last.click()
    lab.wait_for(lambda: re.search(r"第 1 次运行", message.inner_text()) and output.locator("img").count() >= 1,
                 "the widget's Chinese message and its figure", "zh-08-widget-timeout", 120)
    lab.screenshot("zh-08-widget-trained")
    assert "梯度下降" in message.inner_text(), message.inner_text()
    assert MISSING_GLYPH not in output.inner_text(), output.inner_text()
    assert not [t for t in lab.notebook.locator(".jp-OutputArea-output").all_inner_texts() if MISSING_GLYPH in t]
    assert not lab.error_outputs(), lab.error_outputs()
