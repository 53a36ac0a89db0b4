"""Benchmark: grade many copies of one complete submission in parallel, each in its own sandbox.

    python tests/benchmarks/grading_bench.py [--notebook notebooks/00_start_here.ipynb] [--copies 20] [--jobs 2]
    python tests/benchmarks/grading_bench.py --dask --copies 4   # the pool beside Dask with 1 and 2 workers

The submission is the notebook's student copy with the solutions filled back in, so every copy should
score full marks (the result says whether it did). The bar (issue 12): 20 copies of lesson 00 on 2 cores
within 1.5x of the 77.9 s that grading took before every kernel ran in bubblewrap. ``bench.py`` (``make
bench``) calls ``bench_grading`` for its report.
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
from tlcourse.grading.spec import load_assignment, load_assignments

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
BEFORE_S = 77.9  # 20 copies of lesson 00, 2 jobs, before the OS sandbox (README, 2026-11-22)


def default_notebook() -> Path:
    graded = load_assignments([NOTEBOOKS]) if NOTEBOOKS.is_dir() else []
    if not graded:
        raise FileNotFoundError(f"no notebook with graded exercises in {NOTEBOOKS}; pass one with --notebook")
    return graded[0].path


def bench_grading(notebook: str | Path | None = None, copies: int = 20, jobs: int = 2,
                  limits: Limits | None = None, dask: str | None = None) -> dict:
    source = load_assignment(notebook or default_notebook())
    answer = fill_solutions(release_notebook(source.notebook), source.notebook)
    with tempfile.TemporaryDirectory(prefix="tlcourse-bench-") as tmp:
        subs = Path(tmp) / "submissions"
        for i in range(copies):
            (subs / f"student{i:02d}").mkdir(parents=True)
            nbformat.write(answer, subs / f"student{i:02d}" / source.name)
        start = time.perf_counter()
        grades = grade([subs], [source.path], Path(tmp) / "grades.csv", Path(tmp) / "feedback", jobs=jobs,
                       limits=limits, log=lambda msg: None, dask=dask)
        wall = time.perf_counter() - start
    per_notebook = sorted(r.seconds for g in grades for r in g.results)
    return {"notebook": source.name, "copies": copies, "jobs": jobs, "cpus": os.cpu_count(),
            "isolation": sorted({r.isolation for g in grades for r in g.results}),
            "wall_s": round(wall, 1), "per_submission_wall_s": round(wall / copies, 2),
            "median_notebook_s": per_notebook[len(per_notebook) // 2],
            "all_full_marks": all(g.total == source.max_points for g in grades)}


def bench_cluster(notebook: str | Path | None = None, copies: int = 4, workers: tuple[int, ...] = (1, 2)) -> dict:
    """Throughput of the local pool (2 jobs) beside a local Dask cluster of 1 and 2 worker processes (issue 13),
    on the same copies: submissions graded per minute, the reference run included."""
    from distributed import LocalCluster

    runs = {"local pool, 2 jobs": bench_grading(notebook, copies, jobs=2)}
    for n in workers:
        with LocalCluster(n_workers=n, processes=True, threads_per_worker=1, dashboard_address=":0") as lc:
            runs[f"dask, {n} worker(s)"] = bench_grading(notebook, copies, jobs=n, dask=lc.scheduler_address)
    return {name: {"wall_s": r["wall_s"], "submissions_per_min": round(60 * copies / r["wall_s"], 1),
                   "all_full_marks": r["all_full_marks"]} for name, r in runs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", type=Path, default=None, help="instructor notebook (default: first graded lesson)")
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="the local pool beside a local Dask cluster of 1 and 2 "
                        "workers, on --copies copies (needs the cluster extra)")
    args = parser.parse_args(argv)
    if args.dask:
        runs = bench_cluster(args.notebook, args.copies)
        print(json.dumps(runs, indent=2))
        return 0 if all(r["all_full_marks"] for r in runs.values()) else 1
    result = bench_grading(args.notebook, args.copies, args.jobs)
    if args.copies == 20:
        result["bar_s"] = round(1.5 * BEFORE_S, 1)
        result["within_bar"] = result["wall_s"] <= result["bar_s"]
    print(json.dumps(result, indent=2))
    return 0 if result["all_full_marks"] and result.get("within_bar", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
