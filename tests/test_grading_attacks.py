"""Judging outside the student's process, on the shared grading run of ``grading_batch``: the honest
student, the untouched release and the filled release keep their scores beside submissions that attack
judging in pure Python (``hostile_judging``); none earns a point it did not solve, none sees a hidden test.
The no-kernel tests at the end check the judge's pieces directly."""
from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from grading_batch import EXAMPLE, FULL, ZERO, batch as graded_batch, feedback, scores, source_nb
from hostile_judging import moved
from tlcourse.grading import judge
from tlcourse.grading.merge import merge, reference_cells
from tlcourse.grading.observe import encode, exercise_seed, lookup
from tlcourse.grading.spec import check_call, load_assignment

ATTACKS = ["fake_builtins", "shadow_modules", "tamper_check", "fake_score", "leak_tests", "hard_coded",
           "kill_after_forging", "poison_outputs"]
HIDDEN = ["HIDDEN", "assert add(10, -3)", "add(0.5, 0.25)", "isclose(norm", "allclose(norm", "isinstance(norm"]


@pytest.fixture(scope="module")
def batch():
    return graded_batch()


# ----------------------------------------------------------------------------- round trip, every exercise scored

def test_honest_released_and_filled_notebooks(batch):
    assert scores("honest") == FULL and batch["rows"]["honest"]["total"] == "4"
    assert scores("released") == ZERO and "not done yet" in feedback("released")
    assert scores("filled") == FULL
    assert feedback("honest").count("\u2705 passed") == 3


@pytest.mark.parametrize("student", ATTACKS)
def test_an_attack_earns_nothing_it_did_not_solve(batch, student):
    assert scores(student) == ZERO, feedback(student)
    assert batch["rows"][student]["total"] == "0"


@pytest.mark.parametrize("student, lost, reason", [
    ("always_equal", "example-add-tests", "differs from the solution"),
    ("kill_in_answer", "example-norm-tests", "kernel died while checking your answer"),
    ("syntax", "example-add-tests", "SyntaxError"),
    ("stub", "example-add-tests", "not done yet: your answer cell `example-add` still raises NotImplementedError"),
    ("exception", "example-norm-tests", "your code raised ZeroDivisionError on the grader's inputs"),
    ("missing", "example-norm-tests", "no answer cell `example-norm`"),
])
def test_a_failure_costs_only_its_own_exercise(batch, student, lost, reason):
    assert scores(student) == {**FULL, lost: 0.0}
    assert reason in feedback(student)


def test_moved_added_duplicated_and_deleted_cells_still_grade(batch):
    assert scores("moved") == FULL
    assert "appears more than once" in feedback("moved")


def test_no_grader_errors_and_csv_total_equals_feedback_score(batch):
    assert all(not r.error for g in batch["grades"].values() for r in g.results), \
        {g.student: [r.error for r in g.results] for g in batch["grades"].values()}
    for student, row in batch["rows"].items():
        assert f"**Score: {row['total']} / 4**" in feedback(student), student


def test_no_feedback_holds_hidden_tests_or_student_text(batch):
    for student in batch["rows"]:
        text = feedback(student)
        assert not [h for h in HIDDEN if h in text], (student, text)
    leak = feedback("leak_tests")
    assert "raised AssertionError." in leak and "record(" not in leak  # the type name only, never the message
    assert "Score: 4 / 4" not in feedback("fake_score").split("**Score")[0]


def test_submissions_and_instructor_files_unchanged(batch):
    assert batch["after"] == batch["before"]


def naive_passes(nb, cwd) -> set[str]:
    """The test cells a grader running the hidden tests in the student's own kernel would pass."""
    from nbclient import NotebookClient

    tests = {t.grade_id: t.source for t in load_assignment(EXAMPLE).tests}
    cells = [nbformat.v4.new_code_cell(tests.get(c.metadata.get("nbgrader", {}).get("grade_id"), c.source))
             for c in nb.cells if c.cell_type == "code"]
    run = nbformat.v4.new_notebook(cells=cells, metadata=source_nb().metadata)
    NotebookClient(run, timeout=20, allow_errors=True, kernel_name="python3").execute(cwd=str(cwd))
    return {gid for gid in tests for cell in run.cells if cell.source == tests[gid]
            and not any(o.output_type == "error" for o in cell.outputs)}


@pytest.mark.parametrize("student, fooled", [
    ("shadow_modules", {"example-norm-tests", "example-mean-tests"}),  # math/np shadowed, check faked
    ("tamper_check", {"example-mean-tests"}),  # the public check is its only test
])
def test_the_attack_would_fool_a_grader_that_judges_in_the_students_kernel(batch, student, fooled, tmp_path):
    nb = nbformat.read(batch["tmp"] / "submissions" / f"{student}.ipynb", as_version=4)
    assert naive_passes(nb, tmp_path) >= fooled


# ----------------------------------------------------------------------------- the pieces, no kernel

def test_merge_puts_an_observation_where_each_test_cell_was_and_no_test_code():
    merged = merge(load_assignment(EXAMPLE), source_nb())
    roles = [(c.role, c.grade_id) for c in merged.cells if c.grade_id]
    assert roles == [("student", "example-add"), ("observe", "example-add-tests"), ("student", "example-norm"),
                     ("observe", "example-norm-tests"), ("student", "example-mean"), ("observe", "example-mean-tests")]
    text = "\n".join(c.source for c in merged.cells)
    assert "check(" not in text and "assert" not in text
    ids = [c.grade_id for c in merge(load_assignment(EXAMPLE), moved(source_nb())).cells]
    assert ids.index("example-add-tests") == ids.index("example-add") + 1  # a deleted test cell put back
    ref = reference_cells(load_assignment(EXAMPLE))
    assert [c.role for c in ref if c.grade_id == "example-add-tests"] == ["test", "observe"]


def test_check_call_names_the_exercise_and_its_arguments():
    assert check_call('check("lesson03.choose", choice, evidence, rows[0])') == ("lesson03.choose",
                                                                               "choice, evidence, rows[0]")
    for bad in ["assert add(1, 2) == 3", 'check("a.b", x)\ncheck("a.c", y)', "check(name, x)", 'check("a.b", *xs)']:
        with pytest.raises(ValueError, match="check"):
            check_call(bad)


def test_judge_reads_untrusted_outputs_strictly():
    ok = json.dumps({"values": encode({"x": np.arange(6.0).reshape(2, 3), "y": float("nan")})}).encode()
    got = judge.read_output(ok)
    assert got["values"]["x"].shape == (2, 3) and np.isnan(got["values"]["y"])
    for raw in [b"[" * 100_000 + b"]" * 100_000, b'{"values": NaN}', b"\xff", b'{"values": 1, "extra": 2}',
                json.dumps({"values": {"__array__": "float", "shape": [10**9], "data": []}}).encode(),
                json.dumps({"values": {"__array__": "float", "shape": [1], "data": ["1"]}}).encode(), None,
                b" " * (judge.MAX_OUTPUT_BYTES + 1)]:
        assert judge.read_output(raw) is None, raw[:40] if raw else raw
    assert judge.read_output(b'{"error": "Bad\\u001b[31m name!<b>"}') == {"error": "Bad31mnameb"}


@pytest.mark.parametrize("mine, ref, same", [
    (1.0, 1.0 + 1e-9, True), (1, 1.0, True), (True, 1.0, False), ("1.0", 1.0, False), (2.0, 1.0, False),
    (np.zeros(3), np.zeros(3), True), (np.zeros(3), np.zeros((3, 1)), False), ([0.0, 0.0, 0.0], np.zeros(3), False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False), (np.array([True]), np.array([1]), False),
    ({"__object__": "float"}, 0.0, False), (float("nan"), float("nan"), True), (None, None, True),
])
def test_same_compares_numbers_closely_and_everything_else_exactly(mine, ref, same):
    assert judge.same(mine, ref, 1e-6, 0.0) is same


def test_every_lesson_test_cell_names_an_exercise_with_an_observation():
    lessons = sorted((EXAMPLE.parents[3] / "notebooks").glob("*.ipynb"))
    checked = [t.check[0] for path in lessons for t in load_assignment(path).tests]
    assert checked, "no lesson has graded exercises"
    for exercise_id in checked:
        assert lookup(exercise_id).id == exercise_id


def test_an_observation_changes_with_the_seed():
    def add(a, b):
        return a + b

    first, second = (encode(lookup("example.add").fn(exercise_seed(s, "example.add"), add)) for s in (1, 2))
    assert first != second and exercise_seed(1, "example.add") != exercise_seed(1, "example.norm")


def _judged(exercise_id: str, answer, reference, seed: int = 7) -> tuple[bool, str]:
    """Observe ``answer`` and ``reference`` as a kernel would, then judge the first against the second."""
    from tlcourse.grading.spec import GradedCell

    def observed(fn):
        return judge.read_output(json.dumps({"values": encode(lookup(exercise_id).fn(
            exercise_seed(seed, exercise_id), *fn))}).encode())

    test = GradedCell("t", "test", "", "code", 1.0, (exercise_id, "answer"))
    return judge.verdict(test, observed(answer), observed(reference)["values"], "missing")


def test_a_rule_accepts_every_right_answer_and_rejects_wrong_ones():
    import torch

    def solution(y, proportions, n, seed):
        rng = np.random.default_rng(seed)
        y = np.asarray(y)
        return np.concatenate([rng.choice(np.flatnonzero(y == c), int(round(p * n)), replace=False)
                               for c, p in enumerate(proportions)])

    def other_rng(y, proportions, n, seed):  # right too: another random generator
        g = torch.Generator().manual_seed(seed)
        return torch.cat([torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()), generator=g)]
                          [:round(p * n)] for c, p in enumerate(proportions)])

    def first_ones(y, proportions, n, seed):  # the right counts, but not random
        return other_rng(y, proportions, n, 0)

    assert _judged("lesson01.label-shift", (other_rng,), (solution,)) == (True, "passed")
    assert not _judged("lesson01.label-shift", (first_ones,), (solution,))[0]
    edge = [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]
    assert _judged("lesson05.edge_filter", (lambda: torch.tensor(edge) * 3,), (lambda: torch.tensor(edge),))[0]
    assert not _judged("lesson05.edge_filter", (lambda: -torch.tensor(edge),), (lambda: torch.tensor(edge),))[0]
