"""Feedback for one student, in Markdown: the score, then what passed and what failed, and why.

Every sentence comes from the trusted judge (``judge.py``) and the grader's own cell statuses: no hidden
test, no reference value, no text the student's code printed or raised (an error shows by its type name).
The framing is in the submission's language (``lang``: the grader reads a notebook's ``metadata.tlcourse.lang``,
see ``tlcourse.i18n``); the judge's own sentences stay English until the catalog has them.
"""
from __future__ import annotations

from tlcourse.grading.limits import Limits
from tlcourse.grading.judge import Result
from tlcourse.i18n import language, tr


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def render(student: str, results: list[Result], limits: Limits,
           manual: dict[str, list[tuple[str, float]]] | None = None, lang: str | None = None) -> str:
    """The feedback file; ``manual`` maps a notebook to its manually graded cells ``(grade_id, points)``;
    ``lang``: its language (default: the current one, ``$TLCOURSE_LANG``)."""
    manual = manual or {}
    lang = lang or language()

    def say(message: str, **fields) -> str:
        return tr(message, lang, **fields)

    got = sum(t.points for r in results for t in r.tests.values())
    top = sum(t.max for r in results for t in r.tests.values())
    pending = sum(p for r in results for _, p in manual.get(r.notebook, []))
    lines = [say("# Feedback for {student}", student=student), "",
             say("**Score: {got} / {top}**", got=_fmt(got), top=_fmt(top))
             + (say(" (and {pending} points pending manual grading)", pending=_fmt(pending)) if pending else ""), ""]
    for r in results:
        lines += [f"## {r.notebook}", "", say("| exercise | points | result |"), "|---|---|---|"]
        for gid, test in r.tests.items():
            mark = "\u2705 " + say("passed") if test.passed else "\u274c " + _one_line(test.message).replace("|", "\\|")
            lines.append(f"| `{gid}` | {_fmt(test.points)} / {_fmt(test.max)} | {mark} |")
        for gid, points in manual.get(r.notebook, []):
            lines.append(f"| `{gid}` | ? / {_fmt(points)} | \u23f3 "
                         + say("pending: your instructor grades this answer by hand") + " |")
        lines.append("")
        if r.notes:
            lines += [say("What happened while your notebook ran:"), ""]
            lines += [f"- {_one_line(n)}" for n in r.notes[:20]]
            if len(r.notes) > 20:
                lines.append("- " + say("... and {n} more.", n=len(r.notes) - 20))
            lines.append("")
        if r.flags:
            lines += [say("Your instructor may look at this notebook by hand: it uses {flags}.",
                        flags=", ".join(r.flags)), ""]
        if r.error:
            lines += [say("The grader itself failed on this notebook; this is not your fault and your instructor "
                        "has been told."), ""]
    lines += [say("Each notebook ran in a fresh kernel with {cell} s per cell, {total} s in all and {memory} MB of "
                "memory. Each answer was checked on new inputs drawn for this grading and compared with the "
                "solution's, so a failed exercise may have passed its public check.",
                cell=_fmt(limits.cell_timeout), total=_fmt(limits.max_time), memory=limits.memory_mb), ""]
    return "\n".join(lines)


def language_of(notebooks: list) -> str:
    """The language of a student's feedback: that of the notebooks graded (``metadata.tlcourse.lang`` of the
    instructor's sources), when they all share one; else the current language."""
    from tlcourse.i18n import notebook_language

    found = {notebook_language(nb) for nb in notebooks}
    return found.pop() if len(found) == 1 else language()
