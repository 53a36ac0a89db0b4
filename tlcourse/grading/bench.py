"""Benchmark: grade many copies of one complete submission in parallel and report the wall time.

    python -m tlcourse.grading.bench [--notebook notebooks/00_start_here.ipynb] [--copies 20] [--jobs 2]

The submission is the notebook's student copy with the solutions filled back in, so every copy
should score full marks (the result says whether it did). ``bench_grading`` returns the numbers for
the course benchmark script.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat

from tlcourse.grading.grade import grade
from tlcourse.grading.limits import Limits
from tlcourse.grading.release import fill_solutions, release_notebook
from tlcourse.grading.seal import PRELOAD
from tlcourse.grading.spec import load_assignment, load_assignments

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def default_notebook() -> Path:
    graded = load_assignments([NOTEBOOKS]) if NOTEBOOKS.is_dir() else []
    if not graded:
        raise FileNotFoundError(f"no notebook with graded exercises in {NOTEBOOKS}; pass one with --notebook")
    return graded[0].path


def bench_grading(notebook: str | Path | None = None, copies: int = 20, jobs: int = 2,
                  limits: Limits | None = None, preload: tuple[str, ...] = PRELOAD) -> dict:
    source = load_assignment(notebook or default_notebook())
    answer = fill_solutions(release_notebook(source.notebook), source.notebook)
    with tempfile.TemporaryDirectory(prefix="tlcourse-bench-") as tmp:
        subs = Path(tmp) / "submissions"
        for i in range(copies):
            (subs / f"student{i:02d}").mkdir(parents=True)
            nbformat.write(answer, subs / f"student{i:02d}" / source.name)
        start = time.perf_counter()
        grades = grade([subs], [source.path], Path(tmp) / "grades.csv", Path(tmp) / "feedback", jobs=jobs,
                       limits=limits, preload=preload, log=lambda msg: None)
        wall = time.perf_counter() - start
    per_notebook = sorted(r.seconds for g in grades for r in g.results)
    return {"notebook": source.name, "copies": copies, "jobs": jobs, "cpus": os.cpu_count(),
            "wall_s": round(wall, 1), "per_submission_wall_s": round(wall / copies, 2),
            "median_notebook_s": per_notebook[len(per_notebook) // 2],
            "all_full_marks": all(g.total == source.max_points for g in grades)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", type=Path, default=None, help="instructor notebook (default: first graded lesson)")
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    result = bench_grading(args.notebook, args.copies, args.jobs)
    print(json.dumps(result, indent=2))
    return 0 if result["all_full_marks"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
