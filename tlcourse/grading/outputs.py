"""The grader's own files (the CSV and the feedback): written atomically, safe to open in a spreadsheet.

Called only after every sandbox of the run is gone, into a folder that no kernel has mounted.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what Excel, LibreOffice and Sheets may run as a formula


def spreadsheet_safe(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading formula character gets a ``'`` in front."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA) else text


def safe_name(student: str) -> str:
    """A file name for a student id (feedback/<name>.md): letters, digits, ``.``, ``_``, ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._-") or "student"


def file_names(students: list[str]) -> dict[str, str]:
    """A distinct ``safe_name`` per student id: a safe id keeps its name; ids that differ from one only in
    unsafe characters get ``-2``, ``-3``..."""
    names: dict[str, str] = {}
    for student in sorted(students, key=lambda s: (safe_name(s) != s, s)):
        base = name = safe_name(student)
        k = 1
        while name in names.values():
            k += 1
            name = f"{base}-{k}"
        names[student] = name
    return names


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_csv_atomic(path: Path, rows: list[list], header: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([spreadsheet_safe(h) for h in header])
    writer.writerows([[spreadsheet_safe(v) for v in row] for row in rows])
    write_atomic(path, buf.getvalue())
