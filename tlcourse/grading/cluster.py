"""Grading jobs on a Dask cluster: the jobs of ``pool.py``, run by the workers of a Dask scheduler.

``run_jobs(calls, jobs, hard_limit, on_done, address=...)`` keeps ``pool.run_jobs``'s contract, so ``grade(...,
dask=ADDRESS)`` swaps one for the other. Each call travels to a worker as a task with its arguments (the
notebooks' bytes and the seed): a worker needs tlcourse and bubblewrap installed, and no file of the
instructor's. There the job runs as it would locally (its kernel in bubblewrap) and returns its JSON: ``grade()``
sends only runs (``job.run_reference``, ``job.run_job``), so the reference observations never reach a worker,
and the judging, the CSV and the feedback happen on this side, as in local mode. A Dask worker is a daemonic
process: a job may start subprocesses there (``run_cells`` starts bwrap, which dies with the worker), but no
``multiprocessing`` children, so a job must never use ``pool.py`` itself.

Faults are Dask's to handle. A job whose worker dies is run again elsewhere by the scheduler (up to its
``distributed.scheduler.allowed-failures``, default 3, then ``KilledWorker``). A job that raises has failed
for the grader's own reasons (a student's code makes a job return a low score, never raise): Dask runs it
once more (``retries=1``), and if that fails too, ``on_done`` gets the error, which ``grade()`` reports as a
grader error for that student and notebook; everything else is still graded. Dask is imported only here and
only when called: local grading does not need it (``pip install 'tlcourse[cluster]'`` adds it).
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from tlcourse.grading.pool import Call
from tlcourse.runtime import progress

CONNECT_TIMEOUT_S = 5.0  # to reach the scheduler
WORKER_WAIT_S = 30.0  # for its first worker (batch-queue workers may take a while)
RETRIES = 1  # a job that raises runs once more; a second failure is the student's grader error


class ClusterUnavailable(RuntimeError):
    """Dask is not installed here, or its scheduler cannot be reached or has no worker."""


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S, wait: float = WORKER_WAIT_S):
    """A ``distributed.Client`` of the scheduler at ``address`` with at least one worker, or ClusterUnavailable."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterUnavailable("--dask needs Dask's distributed scheduler here and on every worker: "
                                 "pip install 'tlcourse[cluster]'") from None
    try:
        with ThreadPoolExecutor(1) as thread:  # first, so that no half-made Client lingers when nobody answers;
            thread.submit(asyncio.run, _knock(address, timeout)).result()  # in a thread: Jupyter runs a loop here
    except ValueError as err:
        raise ClusterUnavailable(f"{address!r} is not a Dask scheduler address ({err}); it looks like "
                                 "tcp://HOST:8786") from None
    except (OSError, TypeError) as err:  # TypeError: a tls:// address without Dask's TLS settings
        raise ClusterUnavailable(f"no Dask scheduler answers at {address} ({err}); start one with "
                                 "`dask scheduler` and pass the address it prints (tcp://HOST:8786)") from None
    client = Client(address, timeout=max(timeout, wait), set_as_default=False)  # it answers: a loaded one may be slow
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        client.close()
        raise ClusterUnavailable(f"the Dask scheduler at {address} has no worker after {wait:.0f} s; start "
                                 f"some with `dask worker {address}` on machines with tlcourse and bubblewrap"
                                 ) from None
    return client


async def _knock(address: str, timeout: float) -> None:
    from distributed.comm import connect as open_comm
    from distributed.security import Security

    comm = await open_comm(address, timeout=timeout, **Security().get_connection_args("client"))  # TLS: from config
    await comm.close()


def _task(topic: str, index: int, fn: Callable[..., object], args: tuple) -> str:  # on a worker
    from distributed import get_worker

    get_worker().log_event(topic, {"job": index})  # one event per attempt: the grader counts retries from them
    return json.dumps(fn(*args))


def run_jobs(calls: list[Call], jobs: int, hard_limit: float, on_done: Callable[[int, object, str], None], *,
             address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Run every call on the cluster at ``address``; ``on_done(index, result, error)`` once per call, as each
    ends (``error`` is "" or why there is no result).

    The cluster's worker threads set the pace: at most twice their number (or ``jobs`` if larger) are handed
    to the scheduler at a time, so that it never holds every submission of a big class at once. A job still
    running ``hard_limit`` seconds after its last start is cancelled and reported; Dask cannot stop a running
    task, so its worker finishes it (the sandbox's own time limits end it)."""
    client = connect(address, timeout)
    run = uuid.uuid4().hex[:8]
    topic = f"tlcourse-grading-{run}"
    starts: dict[int, list[float]] = {}  # job -> when each attempt started; filled by the client's event thread
    client.subscribe_topic(topic, lambda event: starts.setdefault(event[1]["job"], []).append(time.monotonic()))
    pending = list(enumerate(calls))
    waiting: dict = {}  # future -> job
    bar = progress(None, desc=f"grading on {address}", total=len(calls), leave=True)
    failed, shown, refill = 0, "", True
    try:
        while pending or waiting:
            if refill:
                room = max(0, max(jobs, 2 * sum(client.nthreads().values())) - len(waiting))
                for i, (fn, args) in pending[:room]:
                    waiting[client.submit(_task, topic, i, fn, args, key=f"{fn.__name__}-{run}-{i}",
                                          retries=RETRIES)] = i
                del pending[:room]
            refill = False
            for future, i in list(waiting.items()):
                result, error = None, ""
                if future.status == "finished":
                    result = json.loads(future.result())
                elif future.status == "error":
                    err = future.exception()
                    error = f"the job failed on the cluster ({type(err).__name__}: {err})"
                elif future.status == "cancelled":
                    error = "the job was cancelled on the cluster"
                elif i in starts and time.monotonic() - starts[i][-1] > hard_limit:
                    future.cancel()
                    error = f"cancelled after the hard time limit ({hard_limit:.0f} s) on the cluster"
                else:
                    continue
                del waiting[future]
                failed, refill = failed + bool(error), True
                bar.update(1)
                on_done(i, result, error)
            counts = (f"running {sum(i in starts for i in waiting.values())}, "
                      f"retried {sum(len(s) - 1 for s in list(starts.values()))}, failed {failed}")
            if counts != shown:
                bar.set_postfix_str(shown := counts)
            time.sleep(0.2)
    finally:
        bar.close()
        client.cancel(list(waiting))  # interrupted: nothing more starts (running tasks end at their time limits)
        client.close()
