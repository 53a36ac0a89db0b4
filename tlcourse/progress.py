"""Which exercises pass in the learner's workspace.

Running a learner's notebooks to find out would take minutes, so ``check`` keeps the record as it
goes: each time it runs in a notebook of a workspace (the kernel's folder is in one), it writes the
outcome into ``.tlcourse/progress.json`` there. Elsewhere (``notebooks/``, the tests, the grader's
sandbox) it writes nothing. ``tlcourse progress`` and lesson 00 read the record back.
"""
from __future__ import annotations

import time
from pathlib import Path

from tlcourse.i18n import tr
from tlcourse.workspace import COURSE_NOTEBOOKS, STATE, find_workspace, load_json, save_json, workspace_dir

PROGRESS = "progress.json"


def record(exercise_id: str, passed: bool) -> str:
    """Note a check's outcome in the workspace that holds the current folder, if any. After a failure
    there, returns the line that offers the solution; otherwise ""."""
    try:
        workspace = find_workspace()
        if workspace is None:
            return ""
        path = workspace / STATE / PROGRESS
        done = load_json(path)
        done[exercise_id] = {"passed": passed, "at": time.strftime("%Y-%m-%d %H:%M")}
        save_json(path, done)
    except (OSError, ValueError):  # a read-only or damaged record must not break the check itself
        return ""
    if passed:
        return ""
    from tlcourse.solutions import offer

    return offer(exercise_id)


def report(workspace: Path | None = None, source: Path = COURSE_NOTEBOOKS) -> str:
    """A table of every exercise of the course: passed, failed at the last check, or not checked yet."""
    from tlcourse.solutions import course_exercises

    workspace = Path(workspace or find_workspace() or workspace_dir()).resolve()
    done = load_json(workspace / STATE / PROGRESS)
    exercises = course_exercises(source)
    lines = [tr("Your progress in {workspace}" if (workspace / STATE).is_dir()
                else "No workspace yet at {workspace}: `make lab` makes it on its first run.", workspace=workspace)]
    passed, points, total = 0, 0.0, 0.0
    notebook = None
    for ex in exercises:
        if ex.notebook != notebook:
            notebook = ex.notebook
            lines.append(f"\n{notebook.stem}")
        last = done.get(ex.id)
        if last is None:
            mark = "\u00b7  " + tr("not checked yet")
        else:
            mark = ("\u2705 " + tr("passed") if last["passed"] else "\u274c " + tr("failed")) + f" ({last['at']})"
        lines.append(f"  {ex.id:<36} {mark}")
        if last and last["passed"]:
            passed, points = passed + 1, points + ex.points
        total += ex.points
    lines.append("\n" + tr("{passed} of {n} exercises pass their public checks ({points:g} of {total:g} points; "
                            "your instructor's hidden tests decide the grade).", passed=passed, n=len(exercises),
                            points=points, total=total))
    return "\n".join(lines)
