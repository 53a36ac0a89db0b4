"""Grading jobs run in parallel: one forked worker process per job, ``jobs`` at a time.

A job is a call ``fn(*args)`` whose arguments and result are plain JSON-able values (``job.py``); the result
comes back through a pipe, so workers share no file with the grader. A worker that outlives the hard limit is
killed; its sandbox dies with it (bubblewrap's ``--die-with-parent``).
"""
from __future__ import annotations

import json
import multiprocessing
import sys
import time
from typing import Callable

Call = tuple[Callable[..., object], tuple]


def _work(conn, fn: Callable[..., object], args: tuple) -> None:  # in the worker
    try:
        conn.send_bytes(json.dumps({"ok": fn(*args)}).encode())
    except BaseException as err:
        conn.send_bytes(json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
    finally:
        conn.close()


def run_jobs(calls: list[Call], jobs: int, hard_limit: float, on_done: Callable[[int, object, str], None]) -> None:
    """Run every call; ``on_done(index, result, error)`` as each ends (``error`` is "" or why there is no result)."""
    # fork: the workers inherit the imported nbclient/nbformat instead of importing them again (seconds each)
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    pending = list(enumerate(calls))
    running: dict[int, tuple] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                i, (fn, args) = pending.pop(0)
                here, there = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_work, args=(there, fn, args), daemon=True)
                proc.start()
                there.close()
                running[i] = (proc, here, time.monotonic())
            for i, (proc, conn, started) in list(running.items()):
                reply = None
                if conn.poll():
                    try:
                        reply = json.loads(conn.recv_bytes())
                    except (EOFError, OSError, ValueError):
                        reply = {"error": "the worker process stopped without a result"}
                elif not proc.is_alive():
                    reply = {"error": f"the worker process stopped without a result (exit code {proc.exitcode})"}
                elif time.monotonic() - started > hard_limit:
                    proc.kill()
                    reply = {"error": f"the worker was killed after the hard time limit ({hard_limit:.0f} s)"}
                if reply is not None:
                    proc.join()
                    conn.close()
                    del running[i]
                    on_done(i, reply.get("ok"), reply.get("error", ""))
            time.sleep(0.05)
    finally:
        for proc, conn, _ in running.values():  # interrupted (Ctrl-C): no worker, hence no sandbox, survives
            proc.kill()
            proc.join()
            conn.close()
