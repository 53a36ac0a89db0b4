"""Grading jobs: a sandboxed *run* (a plain function of bytes, run anywhere) and a trusted *judge* (grader only).

* ``run_reference(source, name, seed, limits)``: once per instructor notebook and grading run, the
  instructor's notebook with an observation after each test cell -> its raw observations;
  ``reference_from(run, source, name)`` (grader's process) turns them into the reference data;
* ``run_job(student, submission, source, name, seed, limits)``: a student's notebook with an observation in
  place of each test cell -> the raw observations (the ``out/`` JSON texts, per-cell statuses, review flags,
  timings): no reference data in, no verdict out;
* ``judge_job(run, reference, source, name)``: in the grader's process only, after the run: points and
  feedback (``judge.py``) from the run's data and the reference's.

The run functions take and return JSON-serialisable values and read or write no shared file: ``grade.py``
runs them in local worker processes, a Dask worker can run them anywhere; the reference data never leaves
the grader's process.
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import nbformat

from tlcourse.grading import judge
from tlcourse.grading.limits import Limits
from tlcourse.grading.merge import Merged, RunCell, merge, reference_cells, review_flags
from tlcourse.grading.observe import SEED_FILE
from tlcourse.grading.sandbox import CellRun, run_cells
from tlcourse.grading.spec import Assignment, read_assignment
from tlcourse.i18n import notebook_language, tr

MAX_SUBMISSION_BYTES = 50 * 2**20


class BadSubmission(Exception):
    """The file cannot be read as a notebook; the message is for the student."""


def read_notebook(data: bytes, lang: str = "en") -> nbformat.NotebookNode:
    """A submitted notebook from its bytes, tolerant of what editors leave behind; BadSubmission (its message in
    ``lang``) if unreadable."""
    if len(data) > MAX_SUBMISSION_BYTES:
        raise BadSubmission(tr("the file is {mb:.0f} MB, more than the {limit} MB allowed (clear the outputs and "
                               "submit again)", lang, mb=len(data) / 2**20, limit=MAX_SUBMISSION_BYTES >> 20))
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise BadSubmission(tr("the file is empty", lang))
    try:
        with warnings.catch_warnings():  # duplicate cell ids and the like: nbformat fixes them
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})
        if not isinstance(nb.get("cells"), list) or not all(isinstance(c, dict) for c in nb.cells):
            raise ValueError("it has no list of cells")
        for c in nb.cells:
            if not isinstance(c.get("metadata"), dict):
                c["metadata"] = {}
            c["source"] = "".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
    except Exception as err:
        raise BadSubmission(tr("the file is not a valid Jupyter notebook ({error})", lang,
                               error=type(err).__name__)) from None
    return nb


def _inputs(seed: int) -> dict[str, bytes]:
    return {SEED_FILE: json.dumps({"seed": seed}).encode()}


def _texts(outputs: dict[str, bytes], grade_ids) -> dict[str, str]:
    """The observation files of ``grade_ids`` as JSON-safe text (bytes kept exactly: ``surrogateescape``)."""
    return {g: outputs[f"{g}.json"].decode("utf-8", "surrogateescape") for g in grade_ids if f"{g}.json" in outputs}


def _raw(text: str | None) -> bytes | None:
    return None if text is None else text.encode("utf-8", "surrogateescape")


def _cells(cells: list[RunCell], records) -> list[dict]:
    return [{"role": c.role, "grade_id": c.grade_id, "origin": c.origin, "status": r.status, "ename": r.ename,
             "message": r.message, "seconds": r.seconds} for c, r in zip(cells, records)]


def _records(run: dict) -> tuple[list[RunCell], list[CellRun]]:
    cells = [RunCell("", c["role"], c["grade_id"], c["origin"]) for c in run["cells"]]
    return cells, [CellRun(c["status"], c["ename"], c["message"], c["seconds"]) for c in run["cells"]]


def run_reference(source: bytes, name: str, seed: int, limits: Limits, isolation: str = "bwrap",
                  keep: str | None = None) -> dict:
    """Run the instructor's notebook with observations (sandboxed); its raw observations, for ``reference_from``."""
    start = time.monotonic()
    cells = reference_cells(read_assignment(source, name))
    run = run_cells([c.source for c in cells], inputs=_inputs(seed), limits=limits, isolation=isolation,
                    keep=Path(keep) if keep else None)
    return {"seed": seed, "cells": _cells(cells, run.cells), "isolation": run.isolation,
            "outputs": _texts(run.outputs, {c.grade_id for c in cells if c.role == "observe"}),
            "seconds": round(time.monotonic() - start, 2)}


def reference_from(run: dict, source: bytes, name: str) -> dict:
    """The reference data from ``run_reference``'s run (grader's process): ``{"seed", "data": {grade_id: JSON
    text}, "problems", "isolation"}``. A problem (no observation, a failing test or any other failing cell of
    the instructor's own) is a grader error."""
    data, problems = {}, {}
    for cell, rec in zip(*_records(run)):
        if cell.role == "instructor" and rec.status != "ok":  # students are still graded; the instructor is told
            problems[f"cell {cell.origin}"] = f"the instructor's notebook failed in cell {cell.origin} " \
                                              f"({rec.status} {rec.ename}: {rec.message})"
        if cell.role == "test" and rec.status != "ok":
            problems[cell.grade_id] = f"the instructor's own test cell `{cell.grade_id}` failed ({rec.status} " \
                                      f"{rec.ename}: {rec.message})"
        if cell.role == "observe":
            out = judge.read_output(_raw(run["outputs"].get(cell.grade_id)))
            if out is None or "error" in out:
                problems.setdefault(cell.grade_id, f"no reference observation for `{cell.grade_id}` "
                                                   f"({rec.status} {rec.ename or (out or {}).get('error', '')})")
            else:
                data[cell.grade_id] = run["outputs"][cell.grade_id]
    return {"seed": run["seed"], "data": data, "problems": problems, "isolation": run["isolation"]}


def reference_job(source: bytes, name: str, seed: int, limits: Limits, isolation: str = "bwrap",
                  keep: str | None = None) -> dict:
    """``run_reference`` then ``reference_from``, in one process (tests, a single machine)."""
    return reference_from(run_reference(source, name, seed, limits, isolation, keep), source, name)


def _where(cell: RunCell, index: int, lang: str) -> str:
    where = (tr("cell {n}", lang, n=cell.origin) if cell.origin is not None
             else tr("cell {n} (put back by the grader)", lang, n=index + 1))
    return f"{where} (`{cell.grade_id}`)" if cell.grade_id else where


def _why_missing(rec, limits: Limits, lang: str) -> str:
    """Why a test cell's observation did not come back, from its cell's record."""
    if rec is None or rec.status == "not-run":
        return tr("not checked: the notebook used up its time limit ({seconds:.0f} s).", lang,
                  seconds=limits.max_time)
    if rec.status == "abandoned":
        return tr("not checked: the kernel had to be restarted more than {n} times.", lang, n=limits.restarts)
    if rec.status == "timeout":
        return tr("stopped after {seconds:.0f} s (the time limit per cell) while checking your answer.", lang,
                  seconds=limits.cell_timeout)
    if rec.status == "died":
        return tr("the kernel died while checking your answer (over the {mb} MB memory limit, "
                  "or the process was killed).", lang, mb=limits.memory_mb)
    return tr("the grader found no observation of your answer (did your code stop the kernel or remove files in "
              "out/?).", lang)


def _notes(merged: Merged, records: list, limits: Limits, lang: str) -> list[str]:
    notes = list(merged.notes)
    for i, (cell, rec) in enumerate(zip(merged.cells, records)):
        if cell.role == "observe" or rec.status in ("ok", "not-run", "abandoned"):
            continue
        where = _where(cell, i, lang)
        if rec.status == "error":
            memory = (tr(" (the memory limit is {mb} MB)", lang, mb=limits.memory_mb)
                      if rec.ename == "MemoryError" else "")
            notes.append(tr("{where} raised {name}{memory}.", lang, where=where, name=judge.clean_name(rec.ename),
                            memory=memory))
        elif rec.status == "timeout":
            notes.append(tr("{where} was stopped after {seconds:.0f} s (the time limit per cell).", lang,
                            where=where, seconds=limits.cell_timeout))
        else:
            notes.append(tr("{where}: the kernel died while running it (over the {mb} MB memory limit, or the "
                            "process was killed); the notebook was run again without it.", lang, where=where,
                            mb=limits.memory_mb))
    if any(r.status == "not-run" for r in records):
        notes.append(tr("The notebook ran out of its total time ({seconds:.0f} s); later cells were not run.", lang,
                        seconds=limits.max_time))
    return notes


def _score(assignment: Assignment, result: judge.Result, why) -> None:
    for t in assignment.tests:
        passed, message = why(t)
        result.tests[t.grade_id] = judge.TestResult(t.points if passed else 0.0, t.points, passed, message)


def run_job(student: str, submission: bytes | None, source: bytes, name: str, seed: int, limits: Limits,
            isolation: str = "bwrap", keep: str | None = None) -> dict:
    """Run one student's notebook (bytes, None if missing) in a sandboxed kernel on ``seed``; the raw observations
    as JSON-serialisable data for ``judge_job``: no reference data in, no verdict out."""
    start = time.monotonic()
    assignment = read_assignment(source, name)
    result = {"student": student, "notebook": assignment.name, "refused": "", "note": False, "cells": [],
              "outputs": {}, "unanswered": {}, "notes": [], "flags": [], "isolation": "", "seconds": 0.0}
    if submission is None:
        result["refused"] = tr("your submission has no notebook {name}.", notebook_language(assignment.notebook),
                               name=assignment.name)
    else:
        try:
            nb = read_notebook(submission, notebook_language(assignment.notebook))
        except BadSubmission as err:
            result["refused"], result["note"] = str(err), True
        else:
            merged = merge(assignment, nb)
            run = run_cells([c.source for c in merged.cells], inputs=_inputs(seed), limits=limits,
                            isolation=isolation, keep=Path(keep) if keep else None)
            result.update(cells=_cells(merged.cells, run.cells), unanswered=dict(merged.unanswered),
                          notes=list(merged.notes), flags=review_flags(merged), isolation=run.isolation,
                          outputs=_texts(run.outputs, {c.grade_id for c in merged.cells if c.role == "observe"}))
    result["seconds"] = round(time.monotonic() - start, 2)
    return result


def judge_job(run: dict, reference: dict, source: bytes, name: str, limits: Limits) -> dict:
    """Judge ``run_job``'s run against the reference, in the grader's process; a ``judge.Result`` as a dict
    (``limits``: the run's, quoted in the feedback)."""
    start = time.monotonic()
    assignment = read_assignment(source, name)
    result = judge.Result(run["student"], assignment.name)
    if run["refused"]:
        reason = run["refused"]
        _score(assignment, result, lambda t: (False, reason))
        if run["note"]:
            result.notes.append(f"{reason}.")
        return _done(result, start, run["seconds"])
    lang = notebook_language(assignment.notebook)  # feedback in the language of the lesson
    cells, records = _records(run)
    merged = Merged(cells, dict(run["unanswered"]), list(run["notes"]))
    result.flags = list(run["flags"])
    result.isolation = run["isolation"]
    at = {c.grade_id: i for i, c in enumerate(cells) if c.grade_id}

    def why(test) -> tuple[bool, str]:
        if test.grade_id in merged.unanswered:
            return False, merged.unanswered[test.grade_id]
        if test.grade_id not in reference["data"]:
            result.error = reference["problems"].get(test.grade_id, f"no reference for `{test.grade_id}`")
            return False, tr("not graded: the grader failed on this exercise (your instructor has been told).", lang)
        rec = records[at[test.grade_id]] if test.grade_id in at else None
        ref = judge.read_output(reference["data"][test.grade_id].encode())["values"]
        passed, message = judge.verdict(test, judge.read_output(_raw(run["outputs"].get(test.grade_id))), ref,
                                        _why_missing(rec, limits, lang), lang)
        if not passed:
            for answer in assignment.solutions_of(test.grade_id):  # an answer cell left as the stub
                if answer in at and records[at[answer]].ename == "NotImplementedError":
                    return False, tr("not done yet: your answer cell `{answer}` still raises NotImplementedError.",
                                     lang, answer=answer)
        return passed, message

    _score(assignment, result, why)
    result.notes = _notes(merged, records, limits, lang)
    return _done(result, start, run["seconds"])


def _done(result: judge.Result, start: float, ran: float = 0.0) -> dict:
    result.seconds = round(ran + time.monotonic() - start, 2)
    return asdict(result)
