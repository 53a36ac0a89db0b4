"""The language of what tlcourse says (tlcourse/i18n.py, tlcourse/locales/) and the CJK font of figures (fonts.py).

English is the default; ``TLCOURSE_LANG=zh`` (or ``i18n.use_language("zh")``) switches check(...), the widgets,
the doctor and grading feedback to Chinese; a sentence the catalog lacks stays English.
"""
from __future__ import annotations

import ast
import string
import warnings
from pathlib import Path

import pytest

from tlcourse import i18n
from tlcourse.locales import zh

PACKAGE = Path(i18n.__file__).resolve().parent
# catalog entries looked up with a computed message (tr(f"{key} {what}"), tr(choice)) rather than a literal
COMPUTED = {"train loss", "val loss", "train acc", "val acc",
            # stored.table headers: the keys of stored.summarize and of the lessons' stored rows
            "n", "mean", "std", "min", "max", "ci95", "network", "optimizer", "strategy", "rate", "target", "layer",
            "method", "budget",
            "val_acc", "train_acc"}  # train.History.plot legend


@pytest.fixture(autouse=True)
def _language(monkeypatch):
    """Every test starts in the default language, and leaves the environment as it found it."""
    monkeypatch.setenv(i18n.ENV, "en")  # recorded, so that teardown restores it even after use_language(...)
    monkeypatch.delenv(i18n.ENV)


def placeholders(text: str) -> list[tuple[str, str, str | None]]:
    return sorted((name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None)


def translated_literals() -> dict[str, Path]:
    """Every string literal passed as the message of ``tr(...)``, ``Message(...)`` (or feedback's ``say(...)``) in
    tlcourse, and
    every exercise's hint (``@exercise(..., hint="...")``: check(...) shows it through ``tr``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            options = []
            if node.func.id in ("tr", "say", "Message") and node.args:
                first = node.args[0]
                options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            elif node.func.id == "exercise":
                options = [k.value for k in node.keywords if k.arg == "hint"] + node.args[1:2]
            for arg in options:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                    found[arg.value] = path
    return found


def package_literals() -> set[str]:
    return {node.value for path in PACKAGE.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_language_defaults_to_english_and_follows_the_setting(monkeypatch):
    assert i18n.language() == "en"
    for value, expected in [("zh", "zh"), ("zh_CN.UTF-8", "zh"), ("zh-Hans", "zh"), ("en_US", "en"),
                            ("fr", "en"), ("", "en")]:
        monkeypatch.setenv(i18n.ENV, value)
        assert i18n.language() == expected, value
    with pytest.raises(ValueError, match="choose one of en, zh"):
        i18n.use_language("klingon")


def test_tr_translates_fills_placeholders_and_falls_back_to_english():
    message = "{id}: all public checks passed."
    assert i18n.tr(message, "en", id="x.y") == "x.y: all public checks passed."
    assert i18n.tr(message, "zh", id="x.y") == "x.y：全部公开检查均已通过。"
    assert i18n.tr("a sentence nobody translated: {n}", "zh", n=3) == "a sentence nobody translated: 3"


def test_every_translation_keeps_the_english_placeholders():
    wrong = {key: (placeholders(key), placeholders(text)) for key, text in zh.MESSAGES.items()
             if placeholders(key) != placeholders(text)}
    assert not wrong, wrong


def test_every_message_of_the_package_is_in_the_chinese_catalog_and_no_entry_is_stale():
    used = translated_literals()
    assert len(used) > 40, sorted(used)  # the scan finds the calls
    missing = {m: str(p.relative_to(PACKAGE)) for m, p in used.items() if m not in zh.MESSAGES}
    assert not missing, f"translate these in tlcourse/locales/zh.py: {missing}"
    literals = package_literals()
    stale = [k for k in zh.MESSAGES if k not in literals and k not in COMPUTED]
    assert not stale, f"catalog entries no code uses any more: {stale}"


def test_check_answers_in_chinese_under_the_chinese_setting(monkeypatch, capsys):
    from tlcourse.grading.checks import CheckFailed, check

    def add(a, b):
        return a + b

    def stub(a, b):
        raise NotImplementedError()

    def wrong(a, b):
        return a - b

    def crash(a, b):
        raise ZeroDivisionError("boom")

    check("example.add", add)
    assert "example.add: all public checks passed." in capsys.readouterr().out
    monkeypatch.setenv(i18n.ENV, "zh")
    check("example.add", add)
    assert "example.add：全部公开检查均已通过。" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="还没有完成"):
        check("example.add", stub)
    with pytest.raises(CheckFailed, match="未通过：add\\(1, 2\\) 应该等于 3，得到的是 -1\n   提示：返回 a \\+ b。"):
        check("example.add", wrong)  # the exercise's own sentence and hint are translated too
    with pytest.raises(CheckFailed, match="你的代码抛出了异常 ZeroDivisionError: boom"):
        check("example.add", crash)


def test_a_failing_lesson_check_gives_its_message_and_hint_in_chinese(monkeypatch):
    from tlcourse.grading.checks import CheckFailed, check

    def as_tensor(logits, labels):  # the common slip: a tensor where a Python float is asked for
        return (logits.argmax(1) == labels).float().mean()

    def half(logits, labels):
        return 0.5

    with pytest.raises(CheckFailed) as english:
        check("lesson00.accuracy", as_tensor)
    assert str(english.value) == (
        "lesson00.accuracy: return a Python float (use .item()), not Tensor\n   Hint: Take the argmax over the class "
        "dimension (dim=1), compare with the labels, and average the matches as floats.")
    monkeypatch.setenv(i18n.ENV, "zh")
    with pytest.raises(CheckFailed) as chinese:
        check("lesson00.accuracy", as_tensor)
    assert str(chinese.value) == (
        "lesson00.accuracy：未通过：请返回 Python 的 float（用 .item()），而不是 Tensor\n   "
        "提示：在类别维度（dim=1）上取 argmax，与标签比较，再把比较结果转成浮点数求平均。")
    with pytest.raises(CheckFailed, match="这 4 个预测中有 3 个正确，所以应为 0.75；得到的是 0.5000\n   提示：在类别维度"):
        check("lesson00.accuracy", half)  # a message with a formatted number


def test_every_registered_exercise_hint_is_in_the_chinese_catalog():
    from tlcourse.grading import checks

    parts = ["example"] + [p.stem for p in (PACKAGE / "exercises").glob("lesson*.py")]
    for part in parts:
        checks.import_home(f"{part}.x")
    hinted = {ex.id: ex.hint for ex in checks._REGISTRY.values()  # other tests register exercises of their own
              if ex.hint and ex.id.split(".")[0] in parts}
    assert len(hinted) >= 25, sorted(hinted)  # the exercises of every lesson were loaded
    assert not [key for key, hint in hinted.items() if hint not in zh.MESSAGES]


def test_the_progress_report_speaks_chinese(tmp_path, monkeypatch):
    from tlcourse import progress
    from tlcourse.workspace import STATE, save_json

    (tmp_path / STATE).mkdir()
    save_json(tmp_path / STATE / progress.PROGRESS, {"lesson00.accuracy": {"passed": True, "at": "2026-01-01 10:00"},
                                                     "lesson02.probe": {"passed": False, "at": "2026-01-01 10:05"}})
    english = progress.report(tmp_path)
    assert english.startswith(f"Your progress in {tmp_path.resolve()}\n"), english
    assert "\u2705 passed (2026-01-01 10:00)" in english and "\u274c failed (2026-01-01 10:05)" in english
    assert "\u00b7  not checked yet" in english and "exercises pass their public checks" in english
    monkeypatch.setenv(i18n.ENV, "zh")
    chinese = progress.report(tmp_path)
    assert chinese.startswith(f"你在 {tmp_path.resolve()} 中的进度\n"), chinese
    assert "\u2705 通过 (2026-01-01 10:00)" in chinese and "\u274c 未通过 (2026-01-01 10:05)" in chinese
    assert "\u00b7  尚未检查" in chinese and "道练习中有 1 道通过了公开检查" in chinese
    assert "lesson00.accuracy" in chinese  # exercise ids are never translated
    assert "No workspace yet" not in progress.report(tmp_path / "nowhere") and "还没有工作区" in progress.report(
        tmp_path / "nowhere")


def test_plots_and_tables_of_the_library_are_labelled_in_chinese(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tlcourse import domains, shift, stored
    from tlcourse.lr_finder import LRFinderResult
    from tlcourse.train import History

    finder = LRFinderResult(lrs=[1e-4, 1e-3, 1e-2, 1e-1], losses=[2.3, 2.0, 1.5, 4.0], smoothed=[2.3, 2.1, 1.7, 2.5],
                            steepest_lr=1e-2, min_loss_lr=1e-2)
    history = History(rows=[{"epoch": 1, "train_acc": 0.5, "val_acc": 0.4}, {"epoch": 2, "train_acc": 0.7,
                                                                            "val_acc": 0.6}])
    summary = stored.summarize([{"target": "letters", "acc": 0.5}, {"target": "letters", "acc": 0.7}], "target", "acc")

    def labels():
        fig, (a, b) = plt.subplots(1, 2)
        finder.plot(a)
        history.plot(b)
        out = (a.get_title(), a.get_xlabel(), a.get_ylabel(), [t.get_text() for t in a.get_legend().get_texts()],
               b.get_xlabel(), b.get_ylabel())
        plt.close(fig)
        return out

    title, x, y, legend, hx, hy = labels()
    assert (title, x, y, hx, hy) == ("Learning-rate finder", "learning rate", "training loss", "epoch", "val acc")
    assert legend[:3] == ["loss per batch", "smoothed loss", "minimum: 1.0e-02"]
    english_table = stored.table(summary)
    assert english_table.splitlines()[0].split() == ["target", "n", "mean", "std", "min", "max", "ci95"]
    assert domains.available()["letters"].startswith("similar target")
    monkeypatch.setenv(i18n.ENV, "zh")
    title, x, y, legend, hx, hy = labels()
    assert (title, x, y, hx, hy) == ("学习率查找器", "学习率", "训练损失", "轮次", "验证准确率")
    assert legend[:3] == ["每批次的损失", "平滑后的损失", "最小值：1.0e-02"]
    head, row = stored.table(summary).splitlines()
    assert head.split() == ["目标域", "次数", "均值", "标准差", "最小值", "最大值", "95%半宽"]
    assert i18n.display_width(head) == len(row)  # the Chinese headers stay aligned with their columns
    assert domains.available()["letters"].startswith("相似的目标域")
    measure = shift.ShiftMeasure("glyphs", "letters", 0.1234, 0.75, 100)
    assert shift.format_table([measure]).splitlines()[0].split() == ["域对", "MMD^2", "领域分类准确率", "代理", "A", "距离"]


def test_library_errors_are_reported_in_chinese(tmp_path, monkeypatch):
    from tlcourse import domains, surgery, zoo
    from tlcourse.models import CourseNet

    with pytest.raises(ValueError, match="unknown domain 'nope'; available: glyphs, "):
        domains.load("nope")
    monkeypatch.setenv(i18n.ENV, "zh")
    with pytest.raises(zoo.CheckpointError, match="课程检查点 .* 不存在。请用 `tlcourse pretrain` 重新生成"):
        zoo.load_pretrained(tmp_path / "none.pt")
    with pytest.raises(ValueError, match="未知的域 'nope'；可用的有：glyphs, "):
        domains.load("nope")
    with pytest.raises(KeyError, match="没有名为 'fc9' 的层；这个模型的层有："):
        surgery.freeze_up_to(CourseNet(3), "fc9")


def test_widgets_speak_chinese_and_keep_their_values(monkeypatch):
    from tlcourse.widgets.freezelab import FreezeLab
    from tlcourse.widgets.lr_demo import LearningRateDemo

    monkeypatch.setenv(i18n.ENV, "zh")
    demo = LearningRateDemo()
    assert (demo.button.description, demo.lr.description) == ("训练", "学习率")
    demo.steps.value = 0
    demo.button.click()
    assert "请至少选 10 步" in demo.message.value
    lab = FreezeLab(epochs=1, n_per_class=2, val_per_class=2, live_plot=False)
    toggle = next(iter(lab.layers.values()))
    assert toggle.value == "frozen" and toggle.label == "冻结"  # code sets and reads the English values
    toggle.value = "trainable"
    assert toggle.label == "可训练"
    assert lab.button.description == "训练" and lab.schedule.label == "同时训练"
    lab.size.value = 0
    lab.button.click()
    assert "无法训练" in lab.message.value and "每类至少选 1 张图像" in lab.message.value


def test_feedback_follows_the_language_of_the_graded_notebooks():
    from tlcourse.grading.feedback import language_of, render
    from tlcourse.grading.judge import Result, TestResult
    from tlcourse.grading.limits import Limits

    results = [Result("ana", "08_a_real_backbone.ipynb", {"lesson08-lora-tests": TestResult(2, 2, True, "")})]
    english = render("ana", results, Limits())
    assert "# Feedback for ana" in english and "\u2705 passed" in english
    chinese = render("ana", results, Limits(), lang="zh")
    assert "# 给 ana 的反馈" in chinese and "**得分：2 / 2**" in chinese and "\u2705 通过" in chinese
    assert "`lesson08-lora-tests`" in chinese  # grade_ids are never translated
    zh_nb, en_nb = {"metadata": {"tlcourse": {"lang": "zh"}}}, {"metadata": {}}
    assert i18n.notebook_language(zh_nb) == "zh" and i18n.notebook_language(en_nb) == "en"
    assert language_of([zh_nb]) == "zh" and language_of([en_nb]) == "en"


def test_doctor_speaks_chinese(monkeypatch):
    from tlcourse import doctor

    monkeypatch.setenv(i18n.ENV, "zh")
    for name in ("_checkpoint", "_embedded_data", "_isolation", "_online"):  # the slow checks
        monkeypatch.setattr(doctor, name, lambda: ("x", True, "y"))
    monkeypatch.setattr(doctor, "_versions", lambda: [])
    lines: list[str] = []
    assert doctor.run_doctor(lines.append)
    assert any("设备" in line for line in lines) and any("中文字体" in line for line in lines), lines
    assert lines[-1] == "课程所需的一切都已就绪。"


def test_chinese_title_draws_with_a_cjk_font_and_no_missing_glyph(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ft2font

    from tlcourse import fonts

    title = "线性探测：源域与目标域的冻结特征（微调、负迁移）"
    with matplotlib.rc_context():
        with warnings.catch_warnings(record=True) as before:  # the control: matplotlib's own fonts lack Chinese
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.set_title(title)
            fig.savefig(tmp_path / "without.png")
            plt.close(fig)
        assert any("missing from font" in str(w.message) for w in before)

    with matplotlib.rc_context():
        i18n.use_language("zh")
        path = fonts.cjk_font_path()
        assert path is not None and "CJK" in path.name
        charmap = ft2font.FT2Font(str(path)).get_charmap()
        assert all(ord(c) in charmap for c in title)  # the font really holds these Chinese glyphs
        with warnings.catch_warnings(record=True) as after:
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.set_title(title)
            ax.set_xlabel("目标域 (target domain) −1")
            fig.savefig(tmp_path / "with.png")
            plt.close(fig)
        missing = [str(w.message) for w in after if "missing from font" in str(w.message)]
        assert not missing, missing



def test_the_judge_gives_its_verdicts_in_the_submissions_language():
    """A Chinese lesson's feedback: the judge's own reasons, a rule's reason (a Message made in English) and the
    hint are Chinese for lang="zh", and exactly the English text for the default."""
    from tlcourse.grading import judge
    from tlcourse.grading.spec import GradedCell

    def verdicts(exercise_id: str, mine: dict, ref: dict) -> dict[str, str]:
        test = GradedCell("t", "test", "", "code", 1.0, (exercise_id, "answer"))
        return {lang: judge.verdict(test, mine, ref, "missing", lang)[1] for lang in ("en", "zh")}

    stub = verdicts("example.add", {"error": "NotImplementedError"}, {})
    assert stub == {"en": "not done yet: replace `raise NotImplementedError()` with your code.",
                    "zh": "还没有完成：请把 `raise NotImplementedError()` 换成你的代码。"}
    ref = {"chosen_lr": 1e-3, "lrs": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1], "min_loss_lr": 1e-2, "steepest_lr": 1e-3,
           "smoothed": [2.0, 1.9, 1.5, 1.0, 3.0]}
    ruled = verdicts("lesson04.read_lr_finder", {"values": {**ref, "chosen_lr": 0.5}}, ref)
    assert ruled["en"].startswith("your learning rate is outside the range where the loss still falls before its "
                                  "minimum Hint: Look where the smoothed loss falls steeply"), ruled["en"]
    assert ruled["zh"].startswith("你的学习率不在损失到达最低点之前仍在下降的范围内 提示："), ruled["zh"]
    assert "Hint" not in ruled["zh"] and "learning rate" not in ruled["zh"], ruled["zh"]
    differs = verdicts("example.add", {"values": {"three": 4.0}}, {"three": 3.0})
    assert "('three')" in differs["en"] and differs["zh"].startswith("在评分程序新抽取的输入上"), differs


def test_a_submissions_notes_and_refusals_speak_its_lessons_language():
    import nbformat

    from tlcourse.grading.job import BadSubmission, read_notebook
    from tlcourse.grading.merge import merge
    from tlcourse.grading.spec import load_assignment

    notebooks = PACKAGE.parent / "notebooks"
    empty = nbformat.v4.new_notebook()
    for path, says in [(notebooks / "00_start_here.ipynb", "has no answer cell"),
                       (notebooks / "zh" / "00_start_here.ipynb", "没有答案单元格")]:
        unanswered = merge(load_assignment(path), empty).unanswered
        assert unanswered and all(says in why for why in unanswered.values()), unanswered
    for lang, says in [("en", "the file is empty"), ("zh", "文件是空的")]:
        with pytest.raises(BadSubmission, match=says):
            read_notebook(b"  ", lang)
