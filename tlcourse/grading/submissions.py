"""Finding the students' notebooks, matching them to the instructor's, and reading them without trusting them.

Submission layout (what ``tlcourse grade SUBMISSIONS`` may name):

* a notebook file: one student, whose id is the file name without ``.ipynb`` (``alice.ipynb``);
* a folder that directly contains a notebook named like an instructor notebook: one student,
  whose id is the folder name (``submissions/alice/06_dann.ipynb``);
* any other folder: a collection; each notebook file in it is a student (as above:
  ``submissions/alice.ipynb``) and each sub-folder is a student whose notebooks are found at any
  depth, so nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` works when given
  ``submitted/``.

A student's notebook is matched to an instructor notebook by file name; failing that, by the grade_ids
inside it (a student who renamed the file), or, when both sides have exactly one notebook, to that one.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tlcourse.grading.job import MAX_SUBMISSION_BYTES, BadSubmission
from tlcourse.grading.spec import Assignment


@dataclass
class Submission:
    student: str
    files: list[Path]


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and not p.is_dir())


def find_submissions(paths: list[str | Path], names: set[str]) -> list[Submission]:
    """Students and their notebook files (layout: this module's docstring); ``names``: instructor notebooks.
    Links and other non-files are listed too, so that reading them is refused with a reason the student sees."""
    names = {n.lower() for n in names}
    found: list[Submission] = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(Submission(p.stem, [p]))
        elif p.is_dir() and any(q.name.lower() in names for q in p.iterdir()):
            found.append(Submission(p.name, _notebooks_in(p)))
        elif p.is_dir():
            for q in sorted(p.iterdir()):
                if q.suffix == ".ipynb" and not q.is_dir():
                    found.append(Submission(q.stem, [q]))
                elif q.is_dir() and not q.is_symlink() and not q.name.startswith("."):
                    found.append(Submission(q.name, _notebooks_in(q)))
        else:
            raise FileNotFoundError(f"no such submission file or folder: {p}")
    seen: dict[str, int] = {}
    for s in found:  # two students called the same (a/x.ipynb, b/x.ipynb): x, x-2
        seen[s.student] = seen.get(s.student, 0) + 1
        if seen[s.student] > 1:
            s.student = f"{s.student}-{seen[s.student]}"
    return found


def read_submission(path: Path) -> bytes:
    """The file's bytes; ``BadSubmission`` (a reason for the student) for a link, a non-file, an unreadable or
    oversized file. Opened without following links, then checked on the open descriptor (no race)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        if os.path.islink(path):
            raise BadSubmission("the file is a symbolic link, not a notebook: submit the notebook file itself") \
                from None
        raise BadSubmission(f"the file cannot be read ({err.strerror.lower()})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BadSubmission("it is not a regular file")
        if st.st_size > MAX_SUBMISSION_BYTES:
            raise BadSubmission(f"the file is {st.st_size / 2**20:.0f} MB, more than the "
                                f"{MAX_SUBMISSION_BYTES >> 20} MB allowed (clear the outputs and submit again)")
        return f.read(MAX_SUBMISSION_BYTES + 1)


def _grade_ids(path: Path) -> set[str]:
    """grade_ids in a (possibly broken) notebook file, read without trusting it."""
    try:
        cells = json.loads(read_submission(path).decode(errors="replace")).get("cells", [])
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
