"""``tlcourse grade``: grade a batch of submissions in parallel; write a CSV and per-student feedback.

Submission layout (what SUBMISSIONS may name):

* a notebook file: one student, whose id is the file name without ``.ipynb`` (``alice.ipynb``);
* a folder that directly contains a notebook named like an instructor notebook: one student,
  whose id is the folder name (``submissions/alice/06_dann.ipynb``);
* any other folder: a collection; each notebook file in it is a student (as above:
  ``submissions/alice.ipynb``) and each sub-folder is a student whose notebooks are found at any
  depth, so nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` works when given
  ``submitted/``.

A student's notebook is matched to an instructor notebook by file name; failing that, by the
grade_ids inside it (a student who renamed the file), or, when both sides have exactly one notebook,
to that one. Each (student, notebook) pair runs in its own worker process (``sandbox.py``) and its own
confined kernel; ``jobs`` of them at a time.
"""
from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from tlcourse.grading import feedback, seal
from tlcourse.grading.limits import Limits
from tlcourse.grading.sandbox import Result, TestResult, grade_notebook
from tlcourse.grading.spec import Assignment, load_assignments


@dataclass
class Submission:
    student: str
    files: list[Path]


@dataclass
class StudentGrade:
    student: str
    results: list[Result] = field(default_factory=list)

    def points(self, grade_id: str) -> float:
        return next((r.tests[grade_id].points for r in self.results if grade_id in r.tests), 0.0)

    @property
    def total(self) -> float:
        return sum(t.points for r in self.results for t in r.tests.values())


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def find_submissions(paths: list[str | Path], names: set[str]) -> list[Submission]:
    """Students and their notebook files (layout: this module's docstring); ``names``: instructor notebooks."""
    names = {n.lower() for n in names}
    found: list[Submission] = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(Submission(p.stem, [p]))
        elif p.is_dir() and any(q.name.lower() in names and q.is_file() for q in p.iterdir()):
            found.append(Submission(p.name, _notebooks_in(p)))
        elif p.is_dir():
            for q in sorted(p.iterdir()):
                if q.is_file() and q.suffix == ".ipynb":
                    found.append(Submission(q.stem, [q]))
                elif q.is_dir() and not q.name.startswith("."):
                    found.append(Submission(q.name, _notebooks_in(q)))
        else:
            raise FileNotFoundError(f"no such submission file or folder: {p}")
    seen: dict[str, int] = {}
    for s in found:  # two students called the same (a/x.ipynb, b/x.ipynb): x, x-2
        seen[s.student] = seen.get(s.student, 0) + 1
        if seen[s.student] > 1:
            s.student = f"{s.student}-{seen[s.student]}"
    return found


def _grade_ids(path: Path) -> set[str]:
    """grade_ids in a (possibly broken) notebook file, read without trusting it."""
    try:
        if path.stat().st_size > 50 * 2**20:
            return set()
        cells = json.loads(path.read_text(errors="replace")).get("cells", [])
        return {c["metadata"]["nbgrader"]["grade_id"] for c in cells
                if isinstance(c, dict) and isinstance(c.get("metadata", {}).get("nbgrader"), dict)
                and isinstance(c["metadata"]["nbgrader"].get("grade_id"), str)}
    except Exception:
        return set()


def match(submission: Submission, assignments: list[Assignment]) -> dict[str, Path | None]:
    """Instructor notebook name -> the student's file for it (None if the student has none)."""
    files = list(submission.files)
    chosen: dict[str, Path | None] = {}
    for a in assignments:
        same = [f for f in files if f.name.lower() == a.name.lower()]
        chosen[a.name] = same[0] if same else None
        if same:
            files.remove(same[0])
    for a in assignments:
        if chosen[a.name] is None and files:
            ids = {c.grade_id for c in a.cells}
            best = max(files, key=lambda f: len(_grade_ids(f) & ids))
            if _grade_ids(best) & ids or (len(assignments) == 1 and len(submission.files) == 1):
                chosen[a.name] = best
                files.remove(best)
    return chosen


def _run_job(job_path: str) -> None:  # in a forked worker process
    job = json.loads(Path(job_path).read_text())
    result = grade_notebook(job)
    Path(job_path).with_name("result.json").write_text(json.dumps(asdict(result)))


def _run_parallel(job_paths: list[Path], jobs: int, hard_limit: float, on_done: Callable[[Path], None]) -> None:
    """Run each job in its own process, ``jobs`` at a time; kill one that outlives ``hard_limit`` seconds."""
    # fork: the workers inherit the imported nbclient/nbformat instead of importing them again (seconds each)
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    pending, running = list(job_paths), {}
    while pending or running:
        while pending and len(running) < jobs:
            path = pending.pop(0)
            proc = ctx.Process(target=_run_job, args=(str(path),), daemon=True)
            proc.start()
            running[path] = (proc, time.monotonic())
        for path, (proc, started) in list(running.items()):
            if proc.is_alive() and time.monotonic() - started > hard_limit:
                proc.kill()
            if not proc.is_alive():
                proc.join()
                del running[path]
                on_done(path)
        time.sleep(0.05)


def _result_of(path: Path, job: dict) -> Result:
    out = path.with_name("result.json")
    if out.exists():
        return Result.from_dict(json.loads(out.read_text()))
    # the worker crashed or was killed: report it as a grader failure, with zero points
    from tlcourse.grading.spec import load_assignment

    a = load_assignment(job["source"])
    return Result(job["student"], a.name, {t.grade_id: TestResult(0.0, t.points, False, "not graded: the grader "
                                                                   "failed on this notebook.") for t in a.tests},
                  error="the worker process stopped without a result (killed after the hard time limit?)")


def write_csv_atomic(path: Path, rows: list[list], header: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"


def _plan(students: list[Submission], assignments: list[Assignment], root: Path, common: dict) -> dict[Path, dict]:
    """One job file per (student, instructor notebook), each in its own private folder under ``root``."""
    jobs: dict[Path, dict] = {}
    for sub in students:
        chosen = match(sub, assignments)
        for a in assignments:
            file = chosen[a.name]
            jobdir = root / f"job{len(jobs):04d}"
            jobdir.mkdir(mode=0o700)
            job = {"student": sub.student, "submission": str(file.resolve()) if file else None,
                   "source": str(a.path.resolve()), "jobdir": str(jobdir), **common}
            (jobdir / "job.json").write_text(json.dumps(job))
            jobs[jobdir / "job.json"] = job
    return jobs


def _row(g: StudentGrade, test_ids: list[str], maximum: float) -> list[str]:
    review = {f for r in g.results for f in r.flags} | ({"grader error"} if any(r.error for r in g.results) else set())
    return [g.student, *(_fmt(g.points(t)) for t in test_ids), _fmt(g.total), _fmt(maximum), "; ".join(sorted(review))]


def grade(submissions: list[str | Path], source: list[str | Path], out: str | Path,
          feedback_dir: str | Path | None = None, jobs: int | None = None, limits: Limits | None = None,
          preload: tuple[str, ...] = seal.PRELOAD, keep: bool = False,
          log: Callable[[str], None] = print) -> list[StudentGrade]:
    """Grade every submission against the instructor notebooks in ``source``; write ``out`` (CSV) and
    one Markdown feedback file per student into ``feedback_dir`` (default: ``feedback/`` beside the CSV)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    jobs = jobs or cpus
    limits = replace(limits or Limits(), threads=max(1, cpus // jobs))
    assignments = load_assignments(source)
    if not assignments:
        raise ValueError(f"no notebook with graded test cells in {', '.join(map(str, source))}")
    students = find_submissions(submissions, {a.name for a in assignments})
    out = Path(out)
    feedback_dir = Path(feedback_dir) if feedback_dir else out.parent / "feedback"
    root = Path(tempfile.mkdtemp(prefix="tlcourse-grade-"))
    # what no kernel may read: the instructor's files, every submission, the outputs, all job folders
    protected = sorted({str(Path(p).resolve()) for p in [*source, *(a.path.parent for a in assignments),
                                                         *submissions, out, feedback_dir, root]})
    job_of = _plan(students, assignments, root, {"protected": protected, "preload": list(preload),
                                                  "mpl_fontlist": _matplotlib_fontlist(), "limits": asdict(limits)})
    grades = {s.student: StudentGrade(s.student) for s in students}
    start = time.monotonic()

    def done(path: Path) -> None:
        r = _result_of(path, job_of[path])
        grades[r.student].results.append(r)
        got, top = sum(t.points for t in r.tests.values()), sum(t.max for t in r.tests.values())
        log(f"graded {r.student} / {r.notebook}: {_fmt(got)}/{_fmt(top)} ({r.seconds:.1f} s)"
            + (f"  GRADER ERROR: {r.error}" if r.error else "") + (f"  review: {', '.join(r.flags)}" if r.flags else ""))

    try:
        _run_parallel(list(job_of), jobs, limits.max_time + 120, done)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    order = {a.name: i for i, a in enumerate(assignments)}
    for g in grades.values():
        g.results.sort(key=lambda r: order[r.notebook])
    test_ids = [t.grade_id for a in assignments for t in a.tests]
    maximum = sum(a.max_points for a in assignments)
    rows = [_row(g, test_ids, maximum) for g in sorted(grades.values(), key=lambda g: g.student)]
    write_csv_atomic(out, rows, ["student", *test_ids, "total", "max", "review"])
    for g in grades.values():
        write_atomic(feedback_dir / f"{safe_name(g.student)}.md", feedback.render(g.student, g.results, limits))
    log(f"{len(grades)} students, {len(job_of)} notebooks graded in {time.monotonic() - start:.1f} s with "
        f"{jobs} parallel jobs -> {out}, feedback in {feedback_dir}/")
    return list(grades.values())


def _matplotlib_fontlist() -> str | None:
    """The grader's matplotlib font cache, copied into each kernel so none rebuilds it."""
    try:
        import matplotlib.font_manager  # builds the cache if it is missing

        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
        return str(found[-1]) if found else None
    except Exception:
        return None
