"""tlcourse release / grade on the tiny example assignment (tests/fixtures/grading/example.ipynb).

One batch of submissions (good, released, hostile and broken ones) is graded once per module with
two parallel jobs; each test then checks one submission's score and feedback. Whatever a submission
does, the others keep their scores (the control submissions are in the same batch).
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tlcourse.cli import main as cli_main
from tlcourse.grading.limits import Limits
from tlcourse.grading.merge import merge
from tlcourse.grading.release import fill_solutions, release, release_notebook
from tlcourse.grading.spec import load_assignment

EXAMPLE = Path(__file__).parent / "fixtures" / "grading" / "example.ipynb"
FULL = {"example-add-tests": 2, "example-norm-tests": 1, "example-mean-tests": 1}
ZERO = dict.fromkeys(FULL, 0)
LIMITS = dict(cell_timeout=3, max_time=60, memory_mb=2048)


def source_nb() -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLE, as_version=4)


def with_solution(nb, grade_id: str, code: str):
    """A copy of ``nb`` whose answer cell ``grade_id`` holds ``code``."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = code
    return nb


def with_cell(nb, code: str, at: int = 2):
    nb = nbformat.from_dict(nb)
    nb.cells.insert(at, nbformat.v4.new_code_cell(code))
    return nb


WRONG = {  # answers that are wrong, but pass if the checks are fooled
    "example-add": "def add(a, b):\n    return 0",
    "example-norm": "def norm(v):\n    return 0",
    "example-mean": "def mean(xs):\n    return 0",
}


def wrong(nb):
    for gid, code in WRONG.items():
        nb = with_solution(nb, gid, code)
    return nb


def hostile_cases(tmp: Path) -> dict[str, object]:
    """name -> notebook (or raw bytes for broken files). Paths in tmp are targets for the file attacks."""
    src = source_nb()
    rel = release_notebook(src)
    outside = tmp / "outside.txt"
    other = tmp / "submissions" / "good.ipynb"
    files_attack = f"""
import os, shutil, pathlib, subprocess
attempts = {{
    "delete the instructor's notebook": lambda: os.remove({str(EXAMPLE)!r}),
    "read the instructor's notebook": lambda: open({str(EXAMPLE)!r}).read(),
    "list the instructor's folder": lambda: os.listdir({str(EXAMPLE.parent)!r}),
    "overwrite another submission": lambda: pathlib.Path({str(other)!r}).write_text("{{}}"),
    "edit a file outside": lambda: open({str(outside)!r}, "a").write("pwned"),
    "rename a file outside": lambda: os.rename({str(outside)!r}, {str(outside)!r} + ".moved"),
    "remove a folder outside": lambda: shutil.rmtree({str(tmp / "submissions")!r}),
    "run rm": lambda: subprocess.run(["rm", "-f", {str(outside)!r}]),
    "os.system": lambda: os.system("rm -f {outside}"),
    "symlink to the source": lambda: os.symlink({str(EXAMPLE)!r}, "link.ipynb"),
}}
refused = []
for what, attempt in attempts.items():
    try:
        attempt()
    except PermissionError:
        refused.append(what)
open("scratch.txt", "w").write("my own folder is writable")
assert len(refused) == len(attempts), sorted(set(attempts) - set(refused))
raise PermissionError("all " + str(len(refused)) + " attempts refused")
"""
    return {
        "good": src,
        "released": rel,
        "filled": fill_solutions(rel, src),
        "syntax": with_solution(src, "example-add", "def add(a, b) return a + b"),
        "stub": with_solution(src, "example-add", "# YOUR CODE HERE\nraise NotImplementedError()"),
        "exception": with_solution(src, "example-norm", "def norm(v):\n    return 1 / 0"),
        "loop": with_solution(src, "example-add", "while True:\n    pass"),
        "stuck": with_solution(src, "example-add", "while True:\n    try:\n        while True:\n            pass\n"
                                                    "    except BaseException:\n        pass"),
        "crash": with_solution(src, "example-norm", "import os\nos._exit(1)"),
        "memory": with_solution(src, "example-mean", "hog = bytearray(64 * 2**30)\ndef mean(xs):\n    return 0"),
        "files": with_cell(src, files_attack),
        "tamper_check": with_cell(wrong(src), """
import sys, types, builtins
import tlcourse.grading, tlcourse.grading.checks as C
always = lambda *a, **k: True
C.check = tlcourse.grading.check = builtins.check = check = always
for ex in list(C._REGISTRY.values()):
    C._REGISTRY[ex.id] = C.Exercise(ex.id, always)
fake = types.ModuleType("tlcourse.grading"); fake.check = always
sys.modules["tlcourse.grading"] = fake
sys.modules["tlcourse.grading.checks"] = fake
"""),
        "tamper_builtins": with_cell(wrong(src), """
import builtins, math, numpy
real_isinstance, real_abs = builtins.isinstance, builtins.abs
builtins.isinstance = lambda obj, cls: (cls is float and real_isinstance(obj, int) and obj == 0) or real_isinstance(obj, cls)
builtins.abs = lambda x: 0 if real_isinstance(x, float) and x < 0 else real_abs(x)
math.isclose = lambda *a, **k: True
numpy.allclose = lambda *a, **k: True
"""),
        "tamper_ipython": with_cell(wrong(src), """
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *a, **k: None)   # hide every error
ip.input_transformers_post.append(lambda lines: [l.replace("assert ", "assert True or ") for l in lines])
import tlcourse.grading.checks as C
C.check = lambda *a, **k: True
"""),
        "fake_score": with_cell(wrong(src), """
import os, stat
print("\\u2705 example.add: all public checks passed.\\nScore: 4 / 4")
for gid in ["example-add-tests", "example-norm-tests", "example-mean-tests"]:
    line = (gid + " " + "0" * 64 + "\\n").encode()
    print(line.decode())
    for fd in range(3, 64):   # write fake verdicts into every regular file this process has open
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.write(fd, line)
        except OSError:
            pass
"""),
        "moved": moved(src),
        "missing": nbformat.from_dict({**src, "cells": [c for c in src.cells
                                                        if c.metadata.get("nbgrader", {}).get("grade_id") != "example-norm"]}),
        "invalid": b'{"cells": [1, 2,',
        "empty": b"",
    }


def moved(src):
    """Cells moved, added, duplicated (a wrong later copy) and a test cell deleted: still full marks."""
    nb = nbformat.from_dict(src)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    norm_cells = [by_id["example-norm"], by_id["example-norm-tests"]]
    rest = [c for c in nb.cells if c not in norm_cells and c is not by_id["example-add-tests"]]
    dup = nbformat.from_dict(by_id["example-add"])
    dup.source, dup["id"] = "def add(a, b):\n    return -1", "dup-add"
    scratch = nbformat.v4.new_code_cell("print('my scratch work')\nx = add(1, 1)")
    nb.cells = rest + [scratch, dup] + norm_cells
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    subs = tmp / "submissions"
    subs.mkdir()
    cases = hostile_cases(tmp)
    for name, nb in cases.items():
        path = subs / f"{name}.ipynb"
        if isinstance(nb, bytes):
            path.write_bytes(nb)
        else:
            nbformat.write(nb, path)
    (tmp / "outside.txt").write_text("precious")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in [EXAMPLE, tmp / "outside.txt", *subs.iterdir()]}
    out = tmp / "out" / "grades.csv"
    from tlcourse.grading.grade import grade

    grades = grade([subs], [EXAMPLE], out, jobs=2, limits=Limits(**LIMITS), preload=("math", "operator", "numpy"),
                   log=lambda msg: None)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before if p.exists()}
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return {"tmp": tmp, "out": out, "rows": rows, "grades": {g.student: g for g in grades},
            "before": before, "after": after, "names": list(cases)}


def naive_passes(nb, cwd: Path) -> set[str]:
    """The test cells a naive grader would pass: run the merged notebook (instructor test cells with their
    hidden tests) in a plain kernel, and count a test cell as passed when it shows no error."""
    from nbclient import NotebookClient

    merged = merge(load_assignment(EXAMPLE), nb)
    run = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in merged.cells],
                                   metadata=source_nb().metadata)
    NotebookClient(run, timeout=20, allow_errors=True, kernel_name="python3").execute(cwd=str(cwd))
    return {c.grade_id for c, cell in zip(merged.cells, run.cells)
            if c.role == "test" and not any(o.output_type == "error" for o in cell.outputs)}


def scores(batch, student) -> dict[str, float]:
    row = batch["rows"][student]
    return {gid: float(row[gid]) for gid in FULL}


def feedback(batch, student) -> str:
    return (batch["out"].parent / "feedback" / f"{student}.md").read_text()


# ----------------------------------------------------------------------------- the CSV and feedback

def test_csv_has_one_row_per_student_and_one_column_per_exercise(batch):
    header = list(next(iter(batch["rows"].values())))
    assert header == ["student", *FULL, "total", "max", "review"]
    assert sorted(batch["rows"]) == sorted(batch["names"])
    assert all(r["max"] == "4" for r in batch["rows"].values())
    assert not list(batch["out"].parent.glob(".grades.csv.*")), "the temporary CSV was left behind"


# ----------------------------------------------------------------------------- round trip

def test_source_notebook_passes_all_its_tests(batch):
    assert scores(batch, "good") == FULL
    assert batch["rows"]["good"]["total"] == "4"
    assert feedback(batch, "good").count("\u2705 passed") == 3


def test_released_notebook_fails_every_graded_test(batch):
    assert scores(batch, "released") == ZERO
    assert "not done yet" in feedback(batch, "released")


def test_released_notebook_with_solutions_filled_back_scores_full_marks(batch):
    assert scores(batch, "filled") == FULL


def test_moved_added_duplicated_and_deleted_cells_still_grade(batch):
    assert scores(batch, "moved") == FULL
    assert "appears more than once" in feedback(batch, "moved")


def test_missing_answer_cell_counts_as_unanswered(batch):
    assert scores(batch, "missing") == {**FULL, "example-norm-tests": 0}
    assert "no answer cell `example-norm`" in feedback(batch, "missing")


# ----------------------------------------------------------------------------- broken and hostile

def test_an_answer_left_as_the_stub_is_reported_as_not_done(batch):
    assert scores(batch, "stub") == {**FULL, "example-add-tests": 0}
    assert "not done yet: your answer cell `example-add` still raises NotImplementedError" in feedback(batch, "stub")


def test_syntax_error_costs_only_its_exercise(batch):
    assert scores(batch, "syntax") == {**FULL, "example-add-tests": 0}
    assert "SyntaxError" in feedback(batch, "syntax")


def test_exception_in_one_exercise_leaves_the_others(batch):
    assert scores(batch, "exception") == {**FULL, "example-norm-tests": 0}
    assert "ZeroDivisionError" in feedback(batch, "exception")


def test_infinite_loop_is_interrupted_and_reported(batch):
    assert scores(batch, "loop") == {**FULL, "example-add-tests": 0}
    assert "stopped after 3 s" in feedback(batch, "loop")


def test_loop_that_swallows_interrupts_is_skipped_in_a_new_kernel(batch):
    assert scores(batch, "stuck") == {**FULL, "example-add-tests": 0}
    text = feedback(batch, "stuck")
    assert "stopped after 3 s" in text and "run again without it" in text


def test_killed_kernel_is_restarted_without_the_cell(batch):
    assert scores(batch, "crash") == {**FULL, "example-norm-tests": 0}
    assert "kernel died" in feedback(batch, "crash")


def test_huge_allocation_hits_the_memory_limit(batch):
    assert scores(batch, "memory") == {**FULL, "example-mean-tests": 0}
    assert "MemoryError" in feedback(batch, "memory")


def test_files_outside_the_working_folder_are_untouchable(batch):
    assert batch["after"] == batch["before"], "a file outside the sandbox changed"
    text = feedback(batch, "files")
    assert "all 10 attempts refused" in text, text
    assert scores(batch, "files") == FULL


@pytest.mark.parametrize("student", ["tamper_check", "tamper_builtins", "tamper_ipython", "fake_score"])
def test_tampering_earns_nothing(batch, student):
    assert scores(batch, student) == ZERO, feedback(batch, student)
    assert batch["rows"][student]["total"] == "0"
    text = feedback(batch, student)
    assert "stopped after" not in text and "died" not in text, "the tampering cell did not run to its end"


@pytest.mark.parametrize("student, fooled", [
    ("tamper_check", {"example-mean-tests"}),  # the public check is its only test
    ("tamper_builtins", {"example-norm-tests", "example-mean-tests"}),
    ("tamper_ipython", set(FULL)),  # errors are hidden
])
def test_the_tampering_would_fool_a_naive_grader(batch, student, fooled, tmp_path):
    """Control: these wrong answers pass when test cells merely run in the student's kernel."""
    nb = nbformat.read(batch["tmp"] / "submissions" / f"{student}.ipynb", as_version=4)
    assert naive_passes(nb, tmp_path) >= fooled


def test_tampering_is_flagged_for_review(batch):
    assert "patching the checks" in batch["rows"]["tamper_check"]["review"]
    assert "builtins" in batch["rows"]["tamper_builtins"]["review"]
    assert "IPython internals" in batch["rows"]["tamper_ipython"]["review"]
    assert batch["rows"]["good"]["review"] == ""


@pytest.mark.parametrize("student, reason", [("invalid", "not a valid Jupyter notebook"), ("empty", "the file is empty")])
def test_unreadable_files_score_zero_with_a_reason(batch, student, reason):
    assert scores(batch, student) == ZERO
    assert reason in feedback(batch, student)


def test_no_grader_errors(batch):
    assert all(not r.error for g in batch["grades"].values() for r in g.results), \
        {g.student: [r.error for r in g.results] for g in batch["grades"].values()}


# ----------------------------------------------------------------------------- release and merge (no kernel)

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


def test_release_reports_a_broken_solution_region(tmp_path):
    nb = with_solution(source_nb(), "example-add", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b")
    nbformat.write(nb, tmp_path / "broken.ipynb")
    with pytest.raises(ValueError, match="broken.ipynb.*no end solution"):
        release([tmp_path / "broken.ipynb"], tmp_path / "out")


def test_merge_uses_the_instructors_test_cells_never_the_students():
    student = source_nb()
    test = next(c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "example-add-tests")
    test.source = "pass  # the student emptied the test"
    merged = merge(load_assignment(EXAMPLE), student)
    runs = {c.grade_id: c for c in merged.cells if c.role == "test"}
    assert "assert add(10, -3) == 7" in runs["example-add-tests"].source
    assert [c.grade_id for c in merged.cells if c.grade_id] == [
        "example-add", "example-add-tests", "example-norm", "example-norm-tests", "example-mean", "example-mean-tests"]


def test_merge_puts_a_deleted_test_cell_back_after_its_answer():
    nb = moved(source_nb())
    merged = merge(load_assignment(EXAMPLE), nb)
    ids = [c.grade_id for c in merged.cells]
    assert ids.index("example-add-tests") == ids.index("example-add") + 1
    assert merged.cells[ids.index("example-add")].source.endswith("return a + b\n    ### END SOLUTION")


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


def test_benchmark_runs_and_reports_wall_time():
    from tlcourse.grading.bench import bench_grading

    result = bench_grading(EXAMPLE, copies=2, jobs=2, limits=Limits(**LIMITS), preload=("math", "numpy"))
    assert result["all_full_marks"] and result["copies"] == 2 and result["wall_s"] > 0


def test_grade_command_line(tmp_path, capsys):
    """The CLI end to end on two unreadable submissions (no kernel needed)."""
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "ann.ipynb").write_text("")
    (tmp_path / "subs" / "ben.ipynb").write_text("not json")
    code = cli_main(["grade", str(tmp_path / "subs"), "--source", str(EXAMPLE), "--out", str(tmp_path / "g.csv"),
                     "--feedback", str(tmp_path / "fb"), "--jobs", "1", "--timeout", "5", "--memory", "1024"])
    assert code == 0
    assert (tmp_path / "g.csv").read_text().splitlines()[1:] == ["ann,0,0,0,0,4,", "ben,0,0,0,0,4,"]
    assert "the file is empty" in (tmp_path / "fb" / "ann.md").read_text()
    assert "graded ben / example.ipynb: 0/4" in capsys.readouterr().out
