"""Run one student's notebook against one instructor notebook in a confined kernel, and score it.

``grade.py`` calls ``grade_notebook(job)`` in a worker process per (student, notebook), several in
parallel (``python -m tlcourse.grading.sandbox JOB.json`` does the same by hand, for debugging). The
worker is trusted: it reads both notebooks, merges them (``merge.py``), and drives a
fresh ``tlcourse.grading.kernel`` through nbclient, cell by cell, with ``allow_errors`` so that a
crash in one exercise leaves the others to be scored. Its kernel

* runs in a new, empty working folder (also its HOME, TMPDIR and caches), with a minimal
  environment and no path to the instructor's files or other submissions, which it may not read
  anyway (``guard``);
* has an address-space limit (``RLIMIT_AS``), a CPU-time limit and a per-cell wall-time limit; a
  cell past its limit is interrupted; if the interrupt does not work or the kernel dies (memory,
  ``os._exit``), a new kernel runs the notebook again without that cell (at most twice);
* scores a test cell only from the token the seal writes when the instructor's test code completes
  (``seal``); the cell's output only explains the result in the feedback.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from tlcourse.grading import kernel, seal
from tlcourse.grading.merge import Merged, RunCell, merge, review_flags
from tlcourse.grading.spec import load_assignment

MAX_SUBMISSION_BYTES = 50 * 2**20
MAX_OUTPUT_CHARS = 20_000  # per cell: kept for feedback, the rest dropped
KERNEL_NAME = "tlcourse-grading"


@dataclass
class CellRecord:
    status: str  # ok | error | timeout | died | not-run (time used up) | abandoned (too many restarts)
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0


@dataclass
class TestResult:
    points: float
    max: float
    passed: bool
    message: str


@dataclass
class Result:
    student: str
    notebook: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""  # a failure of the grader itself, not of the student

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        d = dict(d)
        d["tests"] = {k: TestResult(**v) for k, v in d["tests"].items()}
        return cls(**d)


class BadSubmission(Exception):
    """The file cannot be read as a notebook; the message is for the student."""


def read_submission(path: Path) -> nbformat.NotebookNode:
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise BadSubmission(f"the file is {size / 2**20:.0f} MB, more than the {MAX_SUBMISSION_BYTES >> 20} MB allowed "
                            "(clear the outputs and submit again)")
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not text.strip():
        raise BadSubmission("the file is empty")
    try:
        with warnings.catch_warnings():  # duplicate cell ids and the like: nbformat fixes them
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})
        if not isinstance(nb.get("cells"), list) or not all(isinstance(c, dict) for c in nb.cells):
            raise ValueError("it has no list of cells")
        for c in nb.cells:
            c.setdefault("metadata", {})
            c["source"] = "".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
    except Exception as err:
        raise BadSubmission(f"the file is not a valid Jupyter notebook ({type(err).__name__}: "
                            f"{str(err).splitlines()[0][:200] if str(err) else ''})") from None
    return nb


# ----------------------------------------------------------------------------- running a kernel

def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """nbclient, keeping at most MAX_OUTPUT_CHARS of output per cell (a cell may print gigabytes)."""

        def output(self, outs, msg, display_id, cell_index):
            sizes = self.__dict__.setdefault("_sizes", {})
            sizes[cell_index] = sizes.get(cell_index, 0) + len(str(msg.get("content", "")))
            if sizes[cell_index] > MAX_OUTPUT_CHARS:
                return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


def _kernel_env(job: dict, workdir: Path, config: Path) -> dict:
    threads = str(job["limits"]["threads"])
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH")}
    env.update({
        "HOME": str(workdir), "TMPDIR": str(workdir / "tmp"), "XDG_CACHE_HOME": str(workdir / ".cache"),
        "MPLCONFIGDIR": str(workdir / ".matplotlib"), "TLCOURSE_CACHE": str(workdir / ".cache" / "tlcourse"),
        "TORCH_HOME": str(workdir / ".cache" / "torch"), "TLCOURSE_PROGRESS": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_PLATFORM_DIRS": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "TLCOURSE_DEVICE": "cpu",
        "TLCOURSE_GRADING": "1", kernel.ENV: str(config),
    })
    return env


def _prepare_workdir(job: dict, attempt: int) -> Path:
    workdir = Path(job["jobdir"]) / f"work{attempt}"
    for sub in ("tmp", ".matplotlib", ".cache"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    if job.get("mpl_fontlist"):  # reuse the grader's font cache instead of rebuilding it per kernel
        src = Path(job["mpl_fontlist"])
        if src.is_file():
            (workdir / ".matplotlib" / src.name).write_bytes(src.read_bytes())
    return workdir


def _wait_idle(client, seconds: float) -> bool:
    """Whether the kernel answers a kernel_info request within ``seconds`` (i.e. is not stuck)."""
    from jupyter_core.utils import run_sync

    async def probe() -> bool:
        msg_id = client.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await client.kc.shell_channel.get_msg(timeout=left)
            except queue.Empty:
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    return run_sync(probe)()


def _attempt(cells: list[RunCell], skip: dict[int, CellRecord], job: dict, attempt: int, deadline: float):
    """Run the cells once in a new kernel. Returns (records, passed grade_ids, index where it had to stop)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    jobdir, limits = Path(job["jobdir"]), job["limits"]
    workdir = _prepare_workdir(job, attempt)
    key = secrets.token_bytes(32)
    verdicts = jobdir / f"verdicts{attempt}"
    config = jobdir / f"kernel{attempt}.json"
    tests = {c.grade_id: c.source for c in cells if c.role == "test"}
    cpu_s = int(limits["max_time"] * max(1, limits["threads"]) + 60)
    config.write_text(json.dumps({
        "key": key.hex(), "tests": tests, "verdicts": str(verdicts), "workdir": str(workdir),
        "protected": job["protected"], "preload": job["preload"],
        "limits": {"memory_mb": limits["memory_mb"], "cpu_s": cpu_s, "file_mb": limits["file_mb"]}}))
    config.chmod(0o600)
    specdir = jobdir / "kernels" / KERNEL_NAME
    specdir.mkdir(parents=True, exist_ok=True)
    (specdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "tlcourse.grading.kernel", "-f", "{connection_file}",
                 "--HistoryManager.enabled=False"],
        "display_name": "tlcourse grading", "language": "python"}))

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(seal.cell_code(c.grade_id, c.source) if c.role == "test" else c.source)
        for c in cells])
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, connection_file=str(jobdir / f"connection{attempt}.json"),
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(jobdir / "kernels")]))
    replies: dict[int, dict] = {}
    client = _client_class()(nb, km=km, allow_errors=True, interrupt_on_timeout=False, record_timing=False,
                             startup_timeout=max(30, int(deadline - time.monotonic())), iopub_timeout=4,
                             on_cell_executed=lambda **kw: replies.__setitem__(kw["cell_index"], kw["execute_reply"]))
    records: dict[int, CellRecord] = {}
    stopped = None
    log = open(jobdir / f"kernel{attempt}.log", "ab")  # the kernel's own stdout/stderr, for debugging
    try:
        with client.setup_kernel(cwd=str(workdir), env=_kernel_env(job, workdir, config), stdout=log, stderr=log):
            for i, cell in enumerate(nb.cells):
                if i in skip:
                    records[i] = skip[i]
                    continue
                left = deadline - time.monotonic()
                if left < 1:
                    records[i] = CellRecord("not-run")
                    continue
                client.timeout = int(min(limits["cell_timeout"], left))
                start = time.monotonic()
                try:
                    client.execute_cell(cell, i)
                except CellTimeoutError:
                    records[i] = CellRecord("timeout", seconds=client.timeout)
                    run_sync(km.interrupt_kernel)()
                    if not _wait_idle(client, 5):
                        stopped = i
                        break
                    continue
                except DeadKernelError:
                    records[i] = CellRecord("died", seconds=time.monotonic() - start)
                    stopped = i
                    break
                records[i] = _record(cell, replies.get(i), time.monotonic() - start)
    finally:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
        if client.kc is not None:
            client.kc.stop_channels()
        config.unlink(missing_ok=True)
        log.close()
    passed = seal.passed(key, verdicts.read_text(errors="replace") if verdicts.exists() else "")
    return records, passed, stopped


def _record(cell, reply: dict | None, seconds: float) -> CellRecord:
    content = (reply or {}).get("content", {})
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if content.get("status") == "error" or errors:
        ename = content.get("ename") or (errors[0].get("ename") if errors else "") or "Error"
        evalue = content.get("evalue") if content.get("ename") else (errors[0].get("evalue", "") if errors else "")
        return CellRecord("error", str(ename)[:100], str(evalue)[:600], seconds)
    return CellRecord("ok", seconds=seconds)


def execute(merged: Merged, job: dict) -> tuple[dict[int, CellRecord], set[str], set[int]]:
    """Run the merged notebook, restarting without a cell that hangs the kernel or kills it."""
    deadline = time.monotonic() + job["limits"]["max_time"]
    skip: dict[int, CellRecord] = {}
    for attempt in range(job["limits"]["restarts"] + 1):
        records, passed, stopped = _attempt(merged.cells, skip, job, attempt, deadline)
        if stopped is None or time.monotonic() >= deadline:
            break
        skip[stopped] = records[stopped]
    else:
        for i in range(len(merged.cells)):
            records.setdefault(i, CellRecord("abandoned"))
    return records, passed, set(skip)


# ----------------------------------------------------------------------------- scoring

def _why(record: CellRecord | None, limits: dict) -> str:
    if record is None or record.status == "not-run":
        return f"not run: the notebook used up its time limit ({limits['max_time']:.0f} s)."
    if record.status == "abandoned":
        return f"not run: the kernel had to be restarted more than {limits['restarts']} times."
    if record.status == "timeout":
        return f"stopped after {record.seconds:.0f} s (the time limit per cell)."
    if record.status == "died":
        return (f"the kernel died while running it (over the {limits['memory_mb']} MB memory limit, "
                "or the process was killed).")
    if record.status == "error":
        if record.ename == "CheckFailed":
            return record.evalue.removeprefix("\u274c ").strip()
        if record.ename == "AssertionError":
            return f"a hidden test failed: {record.evalue}" if record.evalue else "a hidden test failed."
        if record.ename == "NotImplementedError":
            return "not done yet: replace `raise NotImplementedError()` with your code."
        if record.ename == "PermissionError" and "grading" in record.evalue:
            return record.evalue
        return f"your code raised {_error(record, limits)}"
    return ("the test did not run to completion in an intact grading environment (the notebook changed "
            "Python's or the kernel's machinery before or during the test), so it scores 0.")


def _error(record: CellRecord, limits: dict) -> str:
    text = record.ename + (f": {record.evalue.strip()[:300]}" if record.evalue.strip() else "")
    return text + (f" (the memory limit is {limits['memory_mb']} MB)" if record.ename == "MemoryError" else "")


def _describe(cell: RunCell, index: int) -> str:
    where = f"cell {cell.origin}" if cell.origin is not None else f"cell {index + 1} (put back by the grader)"
    return f"{where} (`{cell.grade_id}`)" if cell.grade_id else where


def _notes(merged: Merged, records: dict[int, CellRecord], skipped: set[int], limits: dict) -> list[str]:
    notes = list(merged.notes)
    for i, cell in enumerate(merged.cells):
        rec = records.get(i)
        if cell.role == "test" or rec is None or rec.status in ("ok", "not-run", "abandoned"):
            continue
        if rec.status == "error":
            notes.append(f"{_describe(cell, i)} raised {_error(rec, limits)}")
        else:
            again = " The notebook was run again without it." if i in skipped else ""
            notes.append(f"{_describe(cell, i)}: {_why(rec, limits)}{again}")
    if any(r.status == "not-run" for r in records.values()):
        notes.append(f"The notebook ran out of its total time ({limits['max_time']:.0f} s); later cells were not run.")
    return notes


def grade_notebook(job: dict) -> Result:
    """Grade ``job['submission']`` against ``job['source']`` (see ``grade.py`` for the job's keys)."""
    start = time.monotonic()
    assignment = load_assignment(job["source"])
    result = Result(job["student"], assignment.name)
    limits = job["limits"]

    def score(passed: set[str], why) -> None:
        for t in assignment.tests:
            ok = t.grade_id in passed
            result.tests[t.grade_id] = TestResult(t.points if ok else 0.0, t.points, ok, "passed" if ok else why(t))

    if job.get("submission") is None:
        score(set(), lambda t: f"your submission has no notebook {assignment.name}.")
        return result
    try:
        nb = read_submission(Path(job["submission"]))
    except BadSubmission as err:
        reason = str(err)
        score(set(), lambda t: reason)
        result.notes.append(f"{Path(job['submission']).name}: {reason}.")
        return result
    merged = merge(assignment, nb)
    result.flags = review_flags(merged)
    try:
        records, passed, skipped = execute(merged, job)
    except Exception as err:  # the grader failed (kernel did not start...): not the student's fault
        logs = sorted(Path(job["jobdir"]).glob("kernel*.log"))
        tail = logs[-1].read_text(errors="replace")[-800:].strip() if logs else ""
        result.error = (f"{type(err).__name__}: {err}; is --memory {limits['memory_mb']} MB enough for the "
                        f"preloaded modules? kernel log: {tail or '(empty)'}")
        score(set(), lambda t: "not graded: the grader failed to run this notebook (your instructor will look into it).")
        return result
    where = {c.grade_id: i for i, c in enumerate(merged.cells) if c.grade_id}

    def why(test) -> str:
        if test.grade_id in merged.unanswered:
            return merged.unanswered[test.grade_id]
        for answer in assignment.solutions_of(test.grade_id):  # an answer cell left as the stub
            rec = records.get(where.get(answer))
            if rec is not None and rec.ename == "NotImplementedError":
                return f"not done yet: your answer cell `{answer}` still raises NotImplementedError."
        return _why(records.get(where.get(test.grade_id)), limits)

    score(passed, why)
    result.notes = _notes(merged, records, skipped, limits)
    result.seconds = round(time.monotonic() - start, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    job_path = Path((argv or sys.argv[1:])[0])
    job = json.loads(job_path.read_text())
    result = grade_notebook(job)
    out = job_path.with_name("result.json")
    out.write_text(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
