"""``tlcourse grade --dask``: the same jobs on a real Dask scheduler with two worker processes on localhost.

One cluster grading run: honest, untouched and hostile submissions of the example fixture, one worker
process killed while it holds a job; the CSV and the feedback must equal local grading's (``grading_batch``:
the shared local run of the grading tests, same limits).
"""
from __future__ import annotations

import csv
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import nbformat
import psutil
import pytest
from distributed import LocalCluster

from grading_batch import EXAMPLE, LIMITS, batch, feedback, source_nb
from hostile_judging import cases as hostile_cases
from tlcourse.grading import cluster, job
from tlcourse.grading.grade import grade
from tlcourse.grading.release import release_notebook

HOSTILE = "fake_score"  # writes forged observations


@pytest.fixture(scope="module")
def dask_cluster():
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as lc:
        yield lc


def _starts(lc: LocalCluster, skip: set[str] = frozenset()) -> Counter:
    """How many times each job started, per run (``cluster._task``'s events), runs in ``skip`` left out."""
    return Counter((topic, msg["job"]) for topic, events in lc.scheduler.get_events().items()
                   if topic.startswith("tlcourse-grading-") and topic not in skip for _, msg in events)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.heavy  # a cluster of worker processes: left out of make check
def test_cluster_grades_like_the_local_pool_even_when_a_worker_dies(dask_cluster, tmp_path, monkeypatch):
    src = source_nb()
    sent, back = [], []  # every job handed to the cluster; what each job returned

    def recording(calls, jobs, hard_limit, on_done, **kw):
        sent.extend(calls)
        return run_jobs(calls, jobs, hard_limit, lambda i, r, e: (back.append((calls[i][0], r)), on_done(i, r, e)),
                        **kw)

    run_jobs = cluster.run_jobs
    monkeypatch.setattr(cluster, "run_jobs", recording)
    subs = tmp_path / "submissions"
    subs.mkdir()
    chosen = {"honest": src, "released": release_notebook(src), HOSTILE: hostile_cases(tmp_path)[HOSTILE]}
    for name, nb in chosen.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    killed: list[psutil.Process] = []  # the worker, then the processes it had started (its job's sandbox)

    def kill_a_busy_worker(line: str) -> None:  # after the first student is graded, others are on the workers
        if line.startswith("graded ") and not killed:
            busy = [psutil.Process(ws.pid) for ws in dask_cluster.scheduler.workers.values() if ws.processing]
            if busy:
                killed.extend([busy[0], *busy[0].children(recursive=True)])
                os.kill(busy[0].pid, signal.SIGKILL)

    out = tmp_path / "out" / "grades.csv"
    grade([subs], [EXAMPLE], out, jobs=2, limits=LIMITS, log=kill_a_busy_worker,
          dask=dask_cluster.scheduler_address)
    assert killed, "no worker held a job when the first student was graded: nothing was killed"
    assert not [p for p in killed if _alive(p)], "a process of the killed worker's job outlived it"
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    local = batch()["rows"]
    assert sorted(rows) == sorted(chosen)
    for student in chosen:
        assert rows[student] == local[student], student
        assert (out.parent / "feedback" / f"{student}.md").read_text() == feedback(student), student
    assert rows["honest"]["total"] == "4" and rows["released"]["total"] == "0"
    assert {r["isolation"] for r in rows.values()} == {"bwrap"}
    # issue 13: only runs travel; the reference's observations stay here, where every verdict is decided
    assert {fn for fn, _ in sent} == {job.run_reference, job.run_job}
    assert all(not isinstance(a, dict) for _, args in sent for a in args), "a job was sent a dict (reference data?)"
    texts = [t for fn, r in back if fn is job.run_reference and r for t in r["outputs"].values()]
    assert texts, "the reference run observed nothing"
    data = pickle.dumps(sent)
    assert not [t for t in texts if t.encode() in data], "a reference observation was sent to a worker"
    assert not [r for _, r in back if r and {"tests", "points", "passed"} & set(r)], "a worker returned a verdict"


@pytest.mark.heavy  # a cluster of worker processes: left out of make check
def test_a_job_that_fails_twice_or_hangs_is_reported_and_the_others_still_run(dask_cluster):
    done: dict[int, tuple] = {}
    before = {topic for topic, _ in _starts(dask_cluster)}
    calls = [(int, ("not a number",)), (len, ("abc",)), (time.sleep, (60,))]  # raises on every try; fine; hangs
    cluster.run_jobs(calls, 2, 5.0, lambda i, result, error: done.__setitem__(i, (result, error)),
                     address=dask_cluster.scheduler_address)
    assert done[1] == (3, "")
    assert done[0][0] is None and "ValueError" in done[0][1]
    assert done[2][0] is None and "hard time limit" in done[2][1]
    assert sorted(_starts(dask_cluster, before).values()) == [1, 1, 1 + cluster.RETRIES]


def test_an_unreachable_scheduler_fails_fast_with_a_clear_message():
    start = time.monotonic()
    with pytest.raises(cluster.ClusterUnavailable, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        cluster.connect("tcp://127.0.0.1:9", timeout=1)
    assert time.monotonic() - start < 10
    with pytest.raises(cluster.ClusterUnavailable, match="'scheduler' is not a Dask scheduler address"):
        cluster.connect("scheduler")
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(cluster.ClusterUnavailable, match="has no worker after 1 s; start some with `dask worker"):
            cluster.connect(empty.scheduler_address, wait=1)


def test_local_grading_does_not_import_dask():
    code = ("import sys, tlcourse.cli, tlcourse.grading.grade, tlcourse.grading.cluster; "
            "sys.exit(bool({'dask', 'distributed'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent).returncode == 0
