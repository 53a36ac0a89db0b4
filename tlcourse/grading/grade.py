"""``tlcourse grade``: grade a batch of submissions in sandboxed kernels; write a CSV and per-student feedback.

The steps, each in its own module: find the students' notebooks and read them without trusting them
(``submissions.py``); draw a seed for this run; run, ``jobs`` at a time in worker processes (``pool.py``) or
on Dask workers (``cluster.py``), each instructor notebook's solutions (the reference run) and each
(student, notebook) pair beside them (``job.py``: plain functions of bytes, kernels confined by
``sandbox.py``; a student's run needs only the seed); judge every run here, in this process, against its
notebook's reference as soon as both are in (``job.judge_job``, ``judge.py``); when every worker, and so
every sandbox, is gone, write the CSV and the feedback (``outputs.py``, ``feedback.py``).

Isolation: every kernel runs in bubblewrap. Where that does not work, ``grade`` refuses with the reason and
the fix, unless the caller accepts weaker isolation (``weak_isolation=True``, ``--weak-isolation``); the CSV
records each row's isolation.
"""
from __future__ import annotations

import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

from tlcourse.grading import cluster, feedback, isolation as iso
from tlcourse.grading.job import BadSubmission, judge_job, reference_from, run_job, run_reference
from tlcourse.grading.judge import Result, TestResult
from tlcourse.grading.limits import Limits
from tlcourse.grading.outputs import file_names, safe_name, write_atomic, write_csv_atomic
from tlcourse.grading.pool import run_jobs
from tlcourse.workspace import student_copy
from tlcourse.grading.spec import Assignment, load_assignments
from tlcourse.grading.submissions import Submission, find_submissions, match, read_submission


class IsolationUnavailable(RuntimeError):
    """No OS sandbox here, and the caller did not accept weaker isolation."""


@dataclass
class StudentGrade:
    student: str
    results: list[Result] = field(default_factory=list)

    def points(self, grade_id: str) -> float:
        return next((r.tests[grade_id].points for r in self.results if grade_id in r.tests), 0.0)

    @property
    def total(self) -> float:
        return sum(t.points for r in self.results for t in r.tests.values())


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def choose_isolation(weak_isolation: bool, log: Callable[[str], None]) -> str:
    """``bwrap`` where it works; ``weak`` only if the caller accepted it; otherwise refuse with the reason."""
    probe = iso.probe()
    if probe.ok:
        return "bwrap"
    if not weak_isolation:
        raise IsolationUnavailable(f"refusing to grade without an OS sandbox: {probe.reason}")
    log(f"WARNING: grading WITHOUT an OS sandbox (--weak-isolation): {probe.reason}")
    return "weak"


def _refuse_visible_outputs(paths: list[Path]) -> None:
    """The CSV and feedback must not land where a kernel can read them (a folder mounted into every sandbox)."""
    for path in paths:
        for mounted in iso.read_only_paths():
            if path.resolve().is_relative_to(mounted):
                raise ValueError(f"refusing to write {path} inside {mounted}, which every grading kernel can read; "
                                 "choose a folder outside the course package and the Python environment")


def _refused(student: str, assignment: Assignment, reason: str) -> Result:
    """A submission file the grader would not read: zero points, with the reason."""
    tests = {t.grade_id: TestResult(0.0, t.points, False, reason) for t in assignment.tests}
    return Result(student, assignment.name, tests, notes=[f"{assignment.name}: {reason}."])


def _grader_failed(student: str, assignment: Assignment, error: str) -> Result:
    tests = {t.grade_id: TestResult(0.0, t.points, False, "not graded: the grader failed on this notebook (your "
                                    "instructor has been told).") for t in assignment.tests}
    return Result(student, assignment.name, tests, error=error)


def _row(g: StudentGrade, test_ids: list[str], manual: dict[str, list[tuple[str, float]]],
         maximum: float) -> list[str]:
    review = {f for r in g.results for f in r.flags} | ({"grader error"} if any(r.error for r in g.results) else set())
    isolation = ", ".join(sorted({r.isolation for r in g.results if r.isolation})) or "no kernel run"
    handed_in = {r.notebook for r in g.results}
    pending = [f"pending/{_fmt(points)}" if notebook in handed_in else ""
               for notebook, cells in manual.items() for _, points in cells]
    return [g.student, *(_fmt(g.points(t)) for t in test_ids), *pending, _fmt(g.total), _fmt(maximum),
            "; ".join(sorted(review)), isolation]


def grade(submissions: list[str | Path], source: list[str | Path], out: str | Path,
          feedback_dir: str | Path | None = None, jobs: int | None = None, limits: Limits | None = None,
          keep: bool = False, log: Callable[[str], None] = print, weak_isolation: bool = False,
          dask: str | None = None) -> list[StudentGrade]:
    """Grade every submission against the instructor notebooks in ``source``; write ``out`` (CSV) and one
    Markdown feedback file per student into ``feedback_dir`` (default: ``feedback/`` beside the CSV).
    ``keep``: keep each kernel's log in a temporary folder (printed), for debugging the grader. ``dask``: the
    address of a Dask scheduler whose workers run the jobs (``cluster.py``); each worker's own ``run_cells``
    refuses to run a kernel without bubblewrap there, so this machine needs none."""
    if dask:
        isolation = "weak" if weak_isolation else "bwrap"
        run = partial(cluster.run_jobs, address=dask)
    else:
        isolation, run = choose_isolation(weak_isolation, log), run_jobs
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    jobs = jobs or cpus
    limits = replace(limits or Limits(), threads=max(1, cpus // jobs))
    assignments = load_assignments(source)
    if not assignments:
        raise ValueError(f"no notebook with graded test cells in {', '.join(map(str, source))}")
    students = find_submissions(submissions, {a.name for a in assignments})
    out = Path(out)
    feedback_dir = Path(feedback_dir) if feedback_dir else out.parent / "feedback"
    _refuse_visible_outputs([out, feedback_dir])
    logs = Path(tempfile.mkdtemp(prefix="tlcourse-grade-logs-")) if keep else None
    seed = secrets.randbits(63)  # drawn per run, never stored: every observation's inputs derive from it
    sources = {a.name: a.path.read_bytes() for a in assignments}
    # a student's run needs only the student copy (the instructor's locked and test cells, no solutions, no
    # hidden tests): that is what travels to a worker; the full notebook goes only to its reference run
    public = {a.name: student_copy(a.path) for a in assignments}
    hard_limit = limits.max_time + 120  # run_cells stops a notebook at max_time, restarts included
    start = time.monotonic()

    def keep_at(name: str) -> str | None:
        return str(logs / safe_name(name)) if logs else None

    # one batch: the reference runs first in the queue, every student's run beside them (it needs only the seed);
    # same limits (threads included) as the students': the reference's numbers must be computed the same way
    calls: list = [(run_reference, (sources[a.name], a.name, seed, limits, isolation, keep_at(f"reference-{a.name}")))
                   for a in assignments]
    grades = {s.student: StudentGrade(s.student) for s in students}
    pairs: list[tuple[Submission, Assignment]] = []
    for sub in students:
        chosen = match(sub, assignments)
        for a in assignments:
            file = chosen[a.name]
            try:
                data = read_submission(file) if file is not None else None
            except BadSubmission as err:
                grades[sub.student].results.append(_refused(sub.student, a, f"{file.name}: {err}"))
                continue
            pairs.append((sub, a))
            calls.append((run_job, (sub.student, data, public[a.name], a.name, seed, limits, isolation,
                                    keep_at(f"{sub.student}-{a.name}"))))
    references: dict[str, dict] = {}  # never leaves this process: the workers get only the seed
    waiting: dict[str, list[tuple[int, object, str]]] = {a.name: [] for a in assignments}

    def judged(i: int, run: object, error: str) -> None:  # here, in the grader's process
        sub, a = pairs[i]
        if error:
            r = _grader_failed(sub.student, a, error)
        else:
            try:
                r = Result.from_dict(judge_job(run, references[a.name], sources[a.name], a.name, limits))
            except Exception as err:  # a malformed run: the grader's fault, not the student's
                r = _grader_failed(sub.student, a, f"judging failed ({type(err).__name__}: {err})")
        grades[sub.student].results.append(r)
        got, top = sum(t.points for t in r.tests.values()), sum(t.max for t in r.tests.values())
        log(f"graded {r.student} / {r.notebook}: {_fmt(got)}/{_fmt(top)} ({r.seconds:.1f} s)"
            + (f"  GRADER ERROR: {r.error}" if r.error else "") + (f"  review: {', '.join(r.flags)}" if r.flags else ""))

    def done(i: int, result: object, error: str) -> None:
        if i < len(assignments):  # a reference run: judge the students' runs that waited for it
            a = assignments[i]
            try:
                ref = reference_from(result, sources[a.name], a.name) if not error else None
            except Exception as err:
                ref, error = None, f"{type(err).__name__}: {err}"
            if ref is None:
                ref = {"seed": seed, "data": {}, "isolation": isolation,
                       "problems": dict.fromkeys((t.grade_id for t in a.tests), f"the reference run failed: {error}")}
            references[a.name] = ref
            for why in ref["problems"].values():
                log(f"GRADER ERROR in the reference run of {a.name}: {why}")
            for args in waiting.pop(a.name):
                judged(*args)
            return
        i -= len(assignments)
        name = pairs[i][1].name
        if name in references:
            judged(i, result, error)
        else:
            waiting[name].append((i, result, error))

    run(calls, jobs, hard_limit, done)
    # every worker has ended, and each waited for its sandbox to vanish: nothing of the run can touch these files
    order = {a.name: i for i, a in enumerate(assignments)}
    for g in grades.values():
        g.results.sort(key=lambda r: order[r.notebook])
    test_ids = [t.grade_id for a in assignments for t in a.tests]
    # manually graded answers: a column each, "pending/<points>", outside the automatic total
    manual = {a.name: [(c.grade_id, c.points) for c in a.manual] for a in assignments if a.manual}
    manual_ids = [gid for cells in manual.values() for gid, _ in cells]
    maximum = sum(a.max_points for a in assignments)
    rows = [_row(g, test_ids, manual, maximum) for g in sorted(grades.values(), key=lambda g: g.student)]
    write_csv_atomic(out, rows, ["student", *test_ids, *manual_ids, "total", "max", "review", "isolation"])
    names = file_names(list(grades))
    lang = feedback.language_of([a.notebook for a in assignments])  # the sources' metadata.tlcourse.lang
    for g in grades.values():
        write_atomic(feedback_dir / f"{names[g.student]}.md", feedback.render(g.student, g.results, limits, manual,
                                                                              lang=lang))
    log(f"{len(grades)} students, {len(pairs)} notebooks graded in {time.monotonic() - start:.1f} s with "
        f"{jobs} parallel jobs ({isolation} isolation) -> {out}, feedback in {feedback_dir}/"
        + (f"; kernel logs in {logs}/" if logs else ""))
    return list(grades.values())
