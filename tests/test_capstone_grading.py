"""Lesson 09's graded `recommend`: a procedure passes every grading task, a fixed answer almost never passes.

Everything here judges stored data (the answer key's validation and test accuracies) with the rule the grader
uses: no training, except the slow test that re-measures the solution's evidence on one grading task."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from tlcourse import capstone
from tlcourse.four_cases import STRATEGIES
from tlcourse.grading.observe import lookup

SEEDS = range(3000)  # grading runs: each draws its tasks from its seed


@pytest.fixture(scope="module")
def rows():
    return capstone.load_reference()


def _evidence(rows, task, seed=0) -> list[float]:
    """What an honest recommend trained with `seed` reports on `task`: the stored validation accuracies."""
    val = {r["strategy"]: r["val_acc"] for r in rows if (r["variant"], r["task_seed"], r["seed"]) == (*task, seed)}
    return [val[s] for s in STRATEGIES]


def _passes(answer, seed: int) -> bool:
    """Whether `answer(task) -> (choice, val_acc list)` earns the points in the grading run with `seed`."""
    rule = lookup("lesson09.recommend").rule
    tasks = [list(t) for t in capstone.grading_tasks(seed)]
    mine = {"tasks": [{"task": t, **dict(zip(("choice", "val_acc"), answer(tuple(t))))} for t in tasks]}
    return rule(mine, {"tasks": [{"task": t} for t in tasks]}) is None


def _honest(rows, seed=0):
    def answer(task):
        val = _evidence(rows, task, seed)
        return STRATEGIES[int(np.argmax(val))], val
    return answer


def test_each_run_draws_different_tasks_from_its_seed():
    drawn = [capstone.grading_tasks(s) for s in range(200)]
    assert all(len(set(d)) == capstone.GRADED_PER_RUN and set(d) <= set(capstone.GRADING_TASKS) for d in drawn)
    assert drawn[7] == capstone.grading_tasks(7) and len({tuple(d) for d in drawn}) > 20


def test_the_solution_passes_every_grading_task(rows):
    """The solution reports its seed-0 measurements (the stored seed-0 rows; reproduced in the slow test)."""
    for task in capstone.GRADING_TASKS:
        val = _evidence(rows, task)
        assert capstone.judge_recommendation(*task, STRATEGIES[int(np.argmax(val))], val, rows) is None, task
    assert all(_passes(_honest(rows), s) for s in range(200))


def test_an_honest_procedure_with_another_training_seed_passes_too(rows):
    for seed in (1, 2):
        passed = np.mean([_passes(_honest(rows, seed), s) for s in SEEDS])
        assert passed >= 0.9, f"training seed {seed}: passes {passed:.0%} of grading runs"


def test_a_constant_name_never_passes(rows):
    for strategy in STRATEGIES:
        assert not any(_passes(lambda task, s=strategy: (s, None), seed) for seed in SEEDS), strategy


def _best_constant(rows, choice: str) -> tuple[list[float] | None, int]:
    """The fixed evidence that fits the most grading tasks with `choice` as its best value (and `choice` near-best
    there): the strongest constant answer that names `choice`. Returns (evidence, how many tasks it fits)."""
    best, fits = None, 0
    tasks = capstone.GRADING_TASKS
    for k in range(len(tasks), 0, -1):
        for group in itertools.combinations(tasks, k):
            ranges = [capstone.val_ranges(*t, rows) for t in group]
            lo = [max(r[s][0] for r in ranges) - capstone.VAL_SLACK for s in STRATEGIES]
            hi = [min(r[s][1] for r in ranges) + capstone.VAL_SLACK for s in STRATEGIES]
            val = [hi[i] if s == choice else lo[i] for i, s in enumerate(STRATEGIES)]
            if all(a <= b for a, b in zip(lo, hi)) and max(val) == val[STRATEGIES.index(choice)] and all(
                    capstone.judge_recommendation(*t, choice, val, rows) is None for t in group):
                return val, k
    return best, fits


def test_no_fixed_answer_passes_more_than_a_few_grading_runs(rows, capsys):
    """For each choice the strongest fixed answer (a name and invented evidence tuned on the key itself) passes
    only when both drawn tasks are among the few its numbers fit; the same name with honest numbers is no
    longer fixed. Without the evidence, the name alone would pass as often as the last line prints."""
    report = []
    for choice in STRATEGIES:
        val, fits = _best_constant(rows, choice)
        passed = 0.0 if val is None else np.mean([_passes(lambda task: (choice, val), s) for s in SEEDS])
        alone = np.mean([all(capstone.score_choice(*t, choice, rows) >= capstone.NEAR_BEST
                             for t in capstone.grading_tasks(s)) for s in SEEDS])
        report.append(f"{choice}: fixed evidence fits {fits} task(s), passes {passed:.1%} of grading runs "
                      f"(the name alone would pass {alone:.1%})")
        assert passed <= 0.05, report[-1]
    with capsys.disabled():
        print("\n" + "\n".join(report))


def test_evidence_from_another_task_fails(rows):
    """What the solution measured on one task (its evidence and choice), answered for another, fails."""
    for source, target in itertools.permutations(capstone.GRADING_TASKS, 2):
        val = _evidence(rows, source)
        assert capstone.judge_recommendation(*target, STRATEGIES[int(np.argmax(val))], val, rows), (source, target)


def test_the_judge_names_what_is_wrong_without_reference_numbers(rows):
    task = capstone.GRADING_TASKS[0]
    val = _evidence(rows, task)
    best, worst = STRATEGIES[int(np.argmax(val))], STRATEGIES[int(np.argmin(val))]
    said = {
        "none": str(capstone.judge_recommendation(*task, best, None, rows)),
        "short": str(capstone.judge_recommendation(*task, best, val[:3], rows)),
        "typed": str(capstone.judge_recommendation(*task, best, [1.0, 1.0, 1.0, 1.0], rows)),
        "not best": str(capstone.judge_recommendation(*task, worst, val, rows)),
    }
    assert "must return (choice, val_acc)" in said["none"] and "must return" in said["short"]
    assert "not what training" in said["typed"] and "not the strategy with the best" in said["not best"]
    numbers = {f"{r[k]:.3f}"[1:] for r in rows for k in ("val_acc", "test_acc")}  # ".833" and the like
    assert not [w for w in said.values() for n in numbers if n in w]
    rule = lookup("lesson09.recommend").rule
    ref = {"tasks": [{"task": list(t)} for t in capstone.grading_tasks(3)]}
    for forged in ([{"task": ["shapes", 99]}], "forged"):
        assert str(rule({"tasks": forged}, ref)) == "recommend was not run on the tasks the grader drew"


@pytest.mark.slow
def test_the_solution_reproduces_its_stored_evidence(rows):
    """The solution's recommend, really run on one grading task: the judge accepts it (4 short trainings)."""
    task = capstone.GRADING_TASKS[0]
    val = [capstone.validation_accuracy(capstone.make_task(*task), s) for s in STRATEGIES]
    assert val == pytest.approx(_evidence(rows, task), abs=0.02)
    assert capstone.judge_recommendation(*task, STRATEGIES[int(np.argmax(val))], val, rows) is None
