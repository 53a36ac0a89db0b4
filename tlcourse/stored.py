"""Stored multi-seed results: what a lesson shows beside the one seed it runs live.

A lesson runs one seed in a minute; a claim about a method needs several. The experiment that makes
the claim is run over many seeds once, by one documented command, and its rows are stored in
``data/results/<name>.json`` with that command beside them. The notebook prints a summary of the stored
rows (mean, spread, a 95% interval); a slow test re-runs a seed and checks it reproduces the stored row.

Each producer module ends in ``main()`` and calls :func:`save`; ``make results`` runs them all.
"""
from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tlcourse.i18n import display_width, pad, tr
from tlcourse.runtime import DATA_DIR

RESULTS_DIR = DATA_DIR / "results"


def path(name: str) -> Path:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"a stored result's name is letters, digits, '-' and '_' only, not {name!r}")
    return RESULTS_DIR / f"{name}.json"


def save(name: str, rows: list[dict], *, command: str, **meta) -> Path:
    """Write ``rows`` (JSON-able dicts) with the ``command`` that regenerates them; returns the file."""
    import torch

    if not rows:
        raise ValueError(f"no rows to store for {name!r}")
    report = {"name": name, "command": command, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "torch": torch.__version__, "python": platform.python_version(), "meta": meta, "rows": rows}
    target = path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(target)
    return target


def load(name: str) -> dict:
    """The stored report ``{"command", "created", "meta", "rows", ...}``; a clear error if it is missing."""
    target = path(name)
    try:
        report = json.loads(target.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no stored results {target}: they ship with the course; "
                                f"`make results` (or the producer's own command) regenerates them") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{target} is not valid JSON ({err}); `make results` regenerates it") from None
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise ValueError(f"{target} has no list of rows; `make results` regenerates it")
    return report


def rows(name: str) -> list[dict]:
    return load(name)["rows"]


def interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of a Student-t confidence interval (half-width nan for one value)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("no values")
    if v.size == 1:
        return float(v[0]), math.nan
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), float(half)


def summarize(rows: Iterable[dict], by: str | Sequence[str], value: str) -> list[dict]:
    """Per group of ``by`` (one key or several): n, mean, std, min, max and the 95% half-width of ``value``.

    Groups keep the order of their first row.
    """
    keys = [by] if isinstance(by, str) else list(by)
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(float(row[value]))
    out = []
    for group, values in groups.items():
        mean, half = interval(values)
        v = np.asarray(values)
        out.append({**dict(zip(keys, group)), "n": v.size, "mean": mean, "std": float(v.std(ddof=1)) if v.size > 1
                    else math.nan, "min": float(v.min()), "max": float(v.max()), "ci95": half})
    return out


def table(summary: list[dict], digits: int = 3) -> str:
    """A plain-text table of a :func:`summarize` result (headers in the learner's language)."""
    if not summary:
        return tr("(no rows)")
    keys = list(summary[0])
    cols = [tr(c) for c in keys]
    cells = [[f"{r[c]:.{digits}f}" if isinstance(r[c], float) else str(r[c]) for c in keys] for r in summary]
    widths = [max(display_width(c), *(display_width(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(pad(c, w) for c, w in zip(cols, widths))]
    lines += ["  ".join(pad(x, w) for x, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
