"""The Chinese edition (notebooks/zh/) cannot drift from the English one.

For each ``notebooks/zh/NN_x.ipynb``, its cells are its English twin's cells one for one (same kinds, same order)
and its code cells are the English code cells up to string literals and comments: their syntax trees are equal
once every string literal (f-string text, docstrings and format specs included) is masked; the expressions inside
f-strings are code and must match. The nbgrader metadata of every cell (grade_id, points, solution / grade /
locked flags) and every cell's tags (``parameters``, ``instructor-only`` answers) are identical, so a Chinese
submission grades under the same ids and its student copy leaves out the same answers. A lesson whose code or
cells change in English fails here until its Chinese twin follows (a change of English prose alone does not).

``test_every_english_lesson_has_a_chinese_twin`` lists, per lesson, the twins still to translate.
"""
from __future__ import annotations

import ast
import difflib
import os
from pathlib import Path
from unittest import mock

import nbformat
import pytest

from tlcourse import i18n

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ZH = NOTEBOOKS / "zh"
GLOSSARY = ZH / "术语对照.md"
ENGLISH = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CHINESE = sorted(ZH.glob("[0-9][0-9]_*.ipynb"))


class _MaskStrings(ast.NodeTransformer):
    """Every string literal becomes "": what a translator may change."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant("") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        values = [self.visit(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
        return ast.JoinedStr([ast.FormattedValue(v, -1, None) for v in values])  # conversions / specs masked


def masked_code(source: str) -> str:
    """The cell's syntax tree with strings masked and comments gone (IPython magics turned into calls first)."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    return ast.dump(_MaskStrings().visit(tree), include_attributes=False, indent=1)


def structure(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    return {"code": [masked_code(c.source) for c in nb.cells if c.cell_type == "code"],
            "cells": [c.cell_type for c in nb.cells],
            "tags": [sorted(c.metadata.get("tags", [])) for c in nb.cells],
            "nbgrader": [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata],
            "kernelspec": nb.metadata.get("kernelspec")}


def differences(english: Path, chinese: Path) -> list[str]:
    """What differs between the twins beyond strings and comments, in words (empty when they agree)."""
    en, zh = structure(english), structure(chinese)
    src = {p: [c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"]
           for p in (english, chinese)}
    problems = []
    if len(en["code"]) != len(zh["code"]):
        problems.append(f"{len(en['code'])} code cells in English, {len(zh['code'])} in Chinese")
    for i, (a, b) in enumerate(zip(en["code"], zh["code"])):
        if a != b:
            diff = "\n".join(difflib.unified_diff(src[english][i].splitlines(), src[chinese][i].splitlines(),
                                                  "English", "Chinese", lineterm="", n=1))
            problems.append(f"code cell {i} differs beyond strings and comments:\n{diff}")
    for key in ("cells", "tags", "nbgrader", "kernelspec"):
        if en[key] != zh[key]:
            problems.append(f"{key} differ: English {en[key]!r}, Chinese {zh[key]!r}")
    return problems


def test_masking_ignores_strings_and_comments_and_sees_code():
    english = 'x = f"{a:.3f} points"  # a comment\nprint("hello", x, sep="")'
    assert masked_code(english) == masked_code('x = f"{a:.1%} 分"\nprint("你好", x, sep=" ")  # 注释')
    assert masked_code(english) != masked_code('x = f"{b:.3f} points"\nprint("hello", x, sep="")')
    assert masked_code(english) != masked_code('x = f"{a:.3f} points"\nprint("hello", x)')
    assert masked_code("y = 1") != masked_code("y = 2")


@pytest.mark.parametrize("chinese", CHINESE or [pytest.param(None, marks=pytest.mark.skip("no Chinese lesson"))],
                         ids=lambda p: p.stem if p else "none")
def test_chinese_lesson_has_its_english_twins_code(chinese):
    english = NOTEBOOKS / chinese.name
    assert english.is_file(), f"{chinese.name} has no English twin in notebooks/: remove it or rename it"
    problems = differences(english, chinese)
    assert not problems, f"notebooks/zh/{chinese.name} drifted from notebooks/{english.name}:\n\n" + "\n\n".join(
        problems) + "\n\n(Change the Chinese lesson's code to the English one's; translate only strings and comments.)"


@pytest.mark.parametrize("chinese", CHINESE or [pytest.param(None, marks=pytest.mark.skip("no Chinese lesson"))],
                         ids=lambda p: p.stem if p else "none")
def test_chinese_lesson_is_marked_chinese_and_links_the_glossary(chinese):
    nb = nbformat.read(chinese, as_version=4)
    assert i18n.notebook_language(nb) == "zh", "set the notebook's metadata.tlcourse.lang to \"zh\""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert 'i18n.use_language("zh")' in code, "the lesson's imports cell calls i18n.use_language(\"zh\")"
    assert any(GLOSSARY.name in c.source for c in nb.cells if c.cell_type == "markdown"), "link the glossary"
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit it without outputs"


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_every_english_lesson_has_a_chinese_twin(english):
    twin = ZH / english.name
    assert twin.is_file(), (f"notebooks/zh/{english.name} is missing: translate notebooks/{english.name} "
                            "(checklist in README.zh-CN.md)")


def test_glossary_lists_the_usual_terms():
    text = GLOSSARY.read_text(encoding="utf-8")
    for term in ("迁移学习", "源域", "目标域", "微调", "线性探测", "领域自适应", "梯度反转层", "负迁移"):
        assert term in text, term


#: What matplotlib says when a figure's text has a glyph its font lacks: the text font's fallback ("Glyph ... missing
#: from font(s) ...") and mathtext, which draws a whole ``$...$`` string without the CJK font ("Font 'default' does
#: not have a glyph for ...").
MISSING_GLYPH = ("missing from font", "does not have a glyph")


def missing_glyphs(said: list[str]) -> list[str]:
    return [t for t in said if any(warning in t for warning in MISSING_GLYPH)]


@pytest.mark.parametrize("title", ["中文标题", "中文标题 $\\lambda_p$"])
def test_missing_glyph_warnings_are_recognised(title, monkeypatch, caplog):
    """The whole-lesson test below trusts these patterns: a Chinese title without the CJK font, and Chinese inside
    a mathtext string even with it, must each produce a warning they match; the plain title with the font none.
    (The first is a Python warning, the second a log record; in a kernel both reach stderr.)"""
    import io
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    from tlcourse import fonts

    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["DejaVu Sans"])
    for with_font in (False, True):
        if with_font:
            fonts.use_cjk_font()
        fig, ax = plt.subplots()
        ax.set_title(title)
        caplog.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
        said = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
        assert bool(missing_glyphs(said)) == (not with_font or "$" in title), (title, with_font, said)


@pytest.fixture(scope="module")
def chinese_runs(request) -> dict[str, tuple[nbformat.NotebookNode, float]]:
    """The selected Chinese lessons, each executed whole in a fresh kernel: two kernels at a time, one thread each
    (as the grading round trip runs the English lessons). Wall times go to build/zh-lessons.json."""
    import asyncio
    import json
    import time

    from nbclient import NotebookClient

    wanted = [item.callspec.params["chinese"] for item in request.session.items
              if getattr(item, "originalname", "") == "test_chinese_lesson_runs_whole_and_draws_every_glyph"]
    env = {**os.environ, "TLCOURSE_PROGRESS": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    slots = asyncio.Semaphore(2)
    runs: dict[str, tuple[nbformat.NotebookNode, float]] = {}

    async def run(path: Path) -> None:
        async with slots:
            nb = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                    resources={"metadata": {"path": str(ZH)}})
            await client.async_execute(env=env)
            runs[path.stem] = (nb, time.perf_counter() - started)

    async def run_all() -> None:
        await asyncio.gather(*(run(p) for p in wanted if p is not None), return_exceptions=False)

    load = [os.getloadavg()[0]]
    asyncio.run(run_all())
    load.append(os.getloadavg()[0])
    build = NOTEBOOKS.parent / "build"
    build.mkdir(exist_ok=True)
    seconds = {k: round(v[1], 1) for k, v in sorted(runs.items())}
    (build / "zh-lessons.json").write_text(json.dumps({"seconds": seconds, "load average (1 min) before, after": load},
                                                      indent=1))
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("chinese", CHINESE or [pytest.param(None, marks=pytest.mark.skip("no Chinese lesson"))],
                         ids=lambda p: p.stem if p else "none")
def test_chinese_lesson_runs_whole_and_draws_every_glyph(chinese, chinese_runs):
    """The code test masks strings; running the lesson catches a translated string that was data (a domain name,
    a dict key). Its figures' Chinese text must find its glyphs (matplotlib warns on stderr otherwise)."""
    nb, _ = chinese_runs[chinese.stem]
    said = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "stream"]
    assert not missing_glyphs(said), missing_glyphs(said)
    assert any("✅" in t and "全部公开检查均已通过" in t for t in said) or not any(
        "nbgrader" in c.metadata for c in nb.cells), "the lesson's checks should answer in Chinese"


# --- a released Chinese lesson round-trips through grading -------------------------------------------------------
# Lesson 08's exercises need only its imports, so the round trip grades the Chinese lesson cut down to its parameters,
# its imports cell and its exercises: the same grade_ids and points, a run of seconds instead of minutes (x3).

PILOT = ZH / "08_a_real_backbone.ipynb"


def exercises_only(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first_exercise = min(i for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata) - 1  # its markdown
    keep = set(code[:2]) | set(range(first_exercise, len(nb.cells)))
    nb.cells = [c for i, c in enumerate(nb.cells) if i in keep]
    return nb


@pytest.fixture(scope="module")
def graded_pilot(tmp_path_factory):
    """The cut-down Chinese lesson as the instructor's source; a released copy and a filled one, graded."""
    from tlcourse.grading.grade import grade
    from tlcourse.grading.limits import Limits
    from tlcourse.grading.release import fill_solutions, release_notebook
    from tlcourse.grading.spec import load_assignment

    if not PILOT.is_file():
        pytest.skip(f"{PILOT} is missing")
    tmp = tmp_path_factory.mktemp("zh-grading")
    source_path = tmp / "source" / PILOT.name
    source_path.parent.mkdir()
    nbformat.write(exercises_only(PILOT), source_path)
    source = load_assignment(source_path)
    released = release_notebook(source.notebook)
    for student, nb in {"released": released, "filled": fill_solutions(released, source.notebook)}.items():
        (tmp / "submissions" / student).mkdir(parents=True)
        nbformat.write(nb, tmp / "submissions" / student / PILOT.name)
    log: list[str] = []
    with mock.patch.dict(os.environ, {i18n.ENV: "en"}):  # the grader's own setting is English: the lesson decides
        grades = grade([tmp / "submissions"], [source_path], tmp / "out" / "grades.csv", jobs=2,
                       limits=Limits(cell_timeout=300, max_time=600), log=log.append)
    return source, released, {g.student: g for g in grades}, tmp / "out" / "feedback", log


@pytest.mark.heavy
def test_released_chinese_lesson_grades_under_the_english_grade_ids(graded_pilot):
    from tlcourse.grading.feedback import language_of, render
    from tlcourse.grading.limits import Limits
    from tlcourse.grading.spec import load_assignment

    source, released, grades, _, log = graded_pilot
    assert not [m for m in log if "GRADER ERROR" in m], log
    english = load_assignment(NOTEBOOKS / PILOT.name)
    full = {t.grade_id: t.points for t in english.tests}
    assert {t.grade_id: t.points for t in source.tests} == full  # the same ids and points as in English
    assert i18n.notebook_language(released) == "zh"  # the student copy says which language it speaks
    assert not [c for c in released.cells if "instructor-only" in c.metadata.get("tags", [])]  # 参考答案 left out
    assert any("instructor-only" in c.metadata.get("tags", []) for c in source.notebook.cells)

    def got(student):
        return {gid: t.points for r in grades[student].results for gid, t in r.tests.items()}

    assert got("filled") == full, [t.message for r in grades["filled"].results for t in r.tests.values()]
    assert got("released") == dict.fromkeys(full, 0.0)
    lang = language_of([source.notebook])
    assert lang == "zh"
    text = render("filled", grades["filled"].results, Limits(), lang=lang)
    assert f"**得分：{sum(full.values()):g} / {sum(full.values()):g}**" in text, text
    assert all(f"`{gid}`" in text for gid in full) and "\u2705 通过" in text, text


@pytest.mark.heavy
def test_grader_writes_feedback_in_the_submissions_language(graded_pilot):
    *_, feedback_dir, _ = graded_pilot
    text = (feedback_dir / "filled.md").read_text(encoding="utf-8")
    assert text.startswith("# 给 filled 的反馈"), text
    unsolved = (feedback_dir / "released.md").read_text(encoding="utf-8")  # the judge's reasons, in Chinese too
    assert "还没有完成" in unsolved and "not done yet" not in unsolved, unsolved


def test_chinese_workspace_config_shows_jupyterlab_in_chinese(tmp_path):
    import json

    from tlcourse.workspace import jupyter_config

    folder = jupyter_config(tmp_path, lang="zh")
    overrides = json.loads((folder / "lab-settings" / "overrides.json").read_text())
    assert overrides == {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}
    lab = json.loads((folder / "jupyter_lab_config.json").read_text())
    assert lab == {"LabApp": {"app_settings_dir": str(folder / "lab-settings")}}
    assert (folder / "labconfig" / "page_config.json").is_file()  # nbgrader stays off, as in English
    jupyter_config(tmp_path, lang="en")  # back to English: the Chinese override is gone
    assert not (folder / "jupyter_lab_config.json").exists()
    assert not (folder / "lab-settings" / "overrides.json").exists()
