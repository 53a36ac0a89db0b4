"""Feedback for one student, in Markdown: the score, then what passed and what failed, and why.

Every sentence comes from the trusted judge (``judge.py``) and the grader's own cell statuses: no hidden
test, no reference value, no text the student's code printed or raised (an error shows by its type name).
"""
from __future__ import annotations

from tlcourse.grading.limits import Limits
from tlcourse.grading.judge import Result


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def render(student: str, results: list[Result], limits: Limits,
           manual: dict[str, list[tuple[str, float]]] | None = None) -> str:
    """The feedback file; ``manual`` maps a notebook to its manually graded cells ``(grade_id, points)``."""
    manual = manual or {}
    got = sum(t.points for r in results for t in r.tests.values())
    top = sum(t.max for r in results for t in r.tests.values())
    pending = sum(p for r in results for _, p in manual.get(r.notebook, []))
    lines = [f"# Feedback for {student}", "", f"**Score: {_fmt(got)} / {_fmt(top)}**"
             + (f" (and {_fmt(pending)} points pending manual grading)" if pending else ""), ""]
    for r in results:
        lines += [f"## {r.notebook}", "", "| exercise | points | result |", "|---|---|---|"]
        for gid, t in r.tests.items():
            mark = "\u2705 passed" if t.passed else "\u274c " + _one_line(t.message).replace("|", "\\|")
            lines.append(f"| `{gid}` | {_fmt(t.points)} / {_fmt(t.max)} | {mark} |")
        for gid, points in manual.get(r.notebook, []):
            lines.append(f"| `{gid}` | ? / {_fmt(points)} | \u23f3 pending: your instructor grades this answer by hand |")
        lines.append("")
        if r.notes:
            lines += ["What happened while your notebook ran:", ""]
            lines += [f"- {_one_line(n)}" for n in r.notes[:20]]
            if len(r.notes) > 20:
                lines.append(f"- ... and {len(r.notes) - 20} more.")
            lines.append("")
        if r.flags:
            lines += [f"Your instructor may look at this notebook by hand: it uses {', '.join(r.flags)}.", ""]
        if r.error:
            lines += ["The grader itself failed on this notebook; this is not your fault and your instructor "
                      "has been told.", ""]
    lines += [f"Each notebook ran in a fresh kernel with {_fmt(limits.cell_timeout)} s per cell, "
              f"{_fmt(limits.max_time)} s in all and {limits.memory_mb} MB of memory. Each answer was checked on "
              "new inputs drawn for this grading and compared with the solution's, so a failed exercise may "
              "have passed its public check.", ""]
    return "\n".join(lines)
