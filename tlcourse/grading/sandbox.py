"""Run code cells in a fresh, confined Jupyter kernel and bring back what it wrote to ``./out/``.

``run_cells`` is the only way grading runs code: the student's cells and the reference run alike. The
kernel runs in bubblewrap (``isolation.py``) under resource limits (``Limits``) and talks to this process
over Jupyter's ``ipc`` transport: Unix sockets in a folder that only this run and that kernel can see (no
TCP port to collide on or to snoop). Cells run one by one through nbclient, errors allowed, so a crash in
one exercise leaves the others to run. A cell past its time limit is interrupted; if the interrupt does
not work, or the kernel dies (memory, ``os._exit``), a fresh kernel runs the cells again without that
cell (at most ``limits.restarts`` times).

Everything that comes back is the student's data, never a verdict: each cell's status, its error's type
name and a short cleaned message, and the regular files the kernel left directly in ``./out/`` (read
from outside the sandbox, without following links, size-capped). Deciding what they are worth is the
judge's job.
"""
from __future__ import annotations

import json
import os
import queue
import re
import resource
import select
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tlcourse.grading import isolation as iso
from tlcourse.grading.limits import Limits

ISOLATIONS = ("bwrap", "weak")  # weak: no OS sandbox (the instructor passed --weak-isolation)
MAX_OUTPUT_FILES, MAX_OUTPUT_FILE, MAX_OUTPUTS = 256, 8 * 2**20, 32 * 2**20
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
KERNEL = "tlcourse-grading"


class SandboxError(RuntimeError):
    """The grader could not run the kernel (not the student's fault)."""


@dataclass
class CellRun:
    status: str  # ok | error | timeout | died | not-run (time used up) | abandoned (too many restarts)
    ename: str = ""  # the error's type name, as the student's process reported it
    message: str = ""  # short, one line, cleaned: student-controlled text
    seconds: float = 0.0


@dataclass
class RunResult:
    cells: list[CellRun]
    outputs: dict[str, bytes] = field(default_factory=dict)
    isolation: str = "bwrap"
    restarts: int = 0


def clean(text: object, limit: int) -> str:
    """Student-controlled text made safe to quote: no escape sequences or control characters, one short line."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07?", "", str(text))
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def run_cells(cells: list[str], *, inputs: dict[str, bytes], limits: Limits, isolation: str = "bwrap",
              keep: Path | None = None) -> RunResult:
    """Run ``cells`` in a fresh confined kernel; ``inputs`` (name -> bytes) are read-only files in its folder."""
    if isolation not in ISOLATIONS:
        raise ValueError(f"unknown isolation {isolation!r}; valid: {', '.join(ISOLATIONS)}")
    for name in inputs:
        if not SAFE_NAME.fullmatch(name) or name == "out":
            raise ValueError(f"input file name {name!r} must match {SAFE_NAME.pattern} (a plain file name)")
    if isolation == "bwrap" and not iso.probe().ok:
        raise SandboxError(iso.probe().reason)
    for stale in iso.leftovers(Path(tempfile.gettempdir()), "tlcourse-run-"):
        shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"tlcourse-run-{os.getpid()}-"))  # 0700: the grader's alone
    try:
        for name, data in inputs.items():
            (folder / "inputs").mkdir(exist_ok=True)
            (folder / "inputs" / name).write_bytes(data)
            (folder / "inputs" / name).chmod(0o444)
        deadline = time.monotonic() + limits.max_time
        skip: dict[int, CellRun] = {}
        for attempt in range(limits.restarts + 1):
            records, outputs, stopped = _attempt(cells, skip, folder, attempt, limits, isolation, deadline)
            if stopped is None or time.monotonic() >= deadline:
                break
            skip[stopped] = records[stopped]
        else:
            for i in range(len(cells)):
                records.setdefault(i, CellRun("abandoned"))
        return RunResult([records.get(i, CellRun("not-run")) for i in range(len(cells))], outputs, isolation,
                         attempt)
    finally:
        if keep is not None:
            shutil.copytree(folder, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("ipc*", "work*"))
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- one kernel

def _client_class():
    from nbclient import NotebookClient

    class QuietClient(NotebookClient):
        """nbclient keeping no outputs: only the execute replies matter (a cell may print gigabytes)."""

        def output(self, outs, msg, display_id, cell_index):
            return None

    return QuietClient


def _environment(home: str, limits: Limits) -> dict[str, str]:
    threads = str(limits.threads)
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home,
            "TMPDIR": f"{home}/tmp", "IPYTHONDIR": f"{home}/.ipython", "XDG_CACHE_HOME": f"{home}/.cache",
            "MPLCONFIGDIR": f"{home}/.matplotlib", "TLCOURSE_CACHE": f"{home}/.cache/tlcourse",
            "TORCH_HOME": f"{home}/.cache/torch", "TLCOURSE_PROGRESS": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PLATFORM_DIRS": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "TLCOURSE_DEVICE": "cpu",
            "TLCOURSE_GRADING": "1"}


def _limit_resources(limits: Limits, group: Path | None, nproc: int) -> None:
    """In the child, before ``exec``: the kernel and everything it starts inherit these."""
    iso.join(group)
    cpu_s = int(limits.max_time * max(1, limits.threads) + 60)
    for which, value in ((resource.RLIMIT_AS, limits.memory_mb * 2**20), (resource.RLIMIT_CPU, cpu_s),
                         (resource.RLIMIT_FSIZE, limits.file_mb * 2**20), (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_NPROC, nproc)):
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _kernel_command(isolation: str, folder: Path, ipc: Path, limits: Limits, info_fd: int) -> list[str]:
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--HistoryManager.enabled=False"]
    if isolation == "weak":
        return argv
    inputs = {p.name: p for p in sorted((folder / "inputs").glob("*"))}
    fonts = _matplotlib_fontlist()
    if fonts is not None:  # the grader's font cache: no kernel spends seconds rebuilding it
        inputs[f".matplotlib/{fonts.name}"] = fonts
    return iso.command(argv, ipc_dir=ipc, passwd=iso.identity_files(folder), workdir_mb=limits.workdir_mb,
                       inputs=inputs, info_fd=info_fd)


def _attempt(cells: list[str], skip: dict[int, CellRun], folder: Path, attempt: int, limits: Limits,
             isolation: str, deadline: float) -> tuple[dict[int, CellRun], dict[str, bytes], int | None]:
    """Run the cells once in a new kernel: (records, outputs, index of the cell that stopped the kernel)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    ipc = folder / f"ipc{attempt}"
    ipc.mkdir()
    if isolation == "weak":
        home = folder / f"work{attempt}"
        (home / "tmp").mkdir(parents=True)
        for p in (folder / "inputs").glob("*"):
            shutil.copy(p, home / p.name)
        root = str(home)
    else:
        root = iso.WORKDIR
    info_r, info_w = os.pipe()
    group, nproc = iso.process_cap(limits.processes), iso.nproc_limit(limits.processes)
    specs = folder / "kernels"
    (specs / KERNEL).mkdir(parents=True, exist_ok=True)
    (specs / KERNEL / "kernel.json").write_text(json.dumps({
        "argv": _kernel_command(isolation, folder, ipc, limits, info_w), "display_name": "tlcourse grading",
        "language": "python", "interrupt_mode": "message"}))
    km = AsyncKernelManager(kernel_name=KERNEL, transport="ipc", ip=str(ipc / "k"),
                            connection_file=str(ipc / "kernel.json"),
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    replies: dict[int, dict] = {}
    client = _client_class()(nb, km=km, allow_errors=True, interrupt_on_timeout=False, record_timing=False,
                             startup_timeout=max(30, int(deadline - time.monotonic())), iopub_timeout=4,
                             on_cell_executed=lambda **kw: replies.__setitem__(kw["cell_index"], kw["execute_reply"]))
    records: dict[int, CellRun] = {}
    outputs: dict[str, bytes] = {}
    stopped, sandbox_pid = None, None
    log = open(folder / f"kernel{attempt}.log", "ab")  # the kernel's own stdout/stderr, for --keep
    try:
        with client.setup_kernel(cwd=root if isolation == "weak" else "/", env=_environment(root, limits),
                                 stdout=log, stderr=log, pass_fds=(info_w,),
                                 preexec_fn=lambda: _limit_resources(limits, group, nproc)):
            os.close(info_w)
            info_w = -1
            sandbox_pid = _sandbox_pid(info_r) if isolation == "bwrap" else None
            for i, cell in enumerate(nb.cells):
                if i in skip:
                    records[i] = skip[i]
                    continue
                left = deadline - time.monotonic()
                if left < 1:
                    records[i] = CellRun("not-run")
                    continue
                client.timeout = int(min(limits.cell_timeout, left))
                start = time.monotonic()
                try:
                    client.execute_cell(cell, i)
                except CellTimeoutError:
                    records[i] = CellRun("timeout", seconds=client.timeout)
                    run_sync(km.interrupt_kernel)()
                    if not _answers(client, 5):
                        stopped = i
                        break
                    continue
                except DeadKernelError:
                    records[i] = CellRun("died", seconds=time.monotonic() - start)
                    stopped = i
                    break
                records[i] = _record(replies.get(i), time.monotonic() - start)
            if stopped is None and km.has_kernel and run_sync(km.is_alive)():
                outputs = read_outputs(f"/proc/{sandbox_pid}/root{root}/out" if sandbox_pid else f"{root}/out")
    except (RuntimeError, OSError, TimeoutError) as err:
        if not isinstance(err, SandboxError) and not records:
            raise SandboxError(f"the kernel did not start ({type(err).__name__}: {err}); "
                               f"its log: {_tail(folder / f'kernel{attempt}.log')}") from err
        raise
    finally:
        process = getattr(km.provisioner, "process", None)
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
            if client.kc is not None:
                client.kc.stop_channels()
        finally:  # bwrap's first process dies with it, and with that every process of the sandbox
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
            _wait_gone(sandbox_pid)
            iso.release(group)
        for fd in (info_r, info_w):
            if fd >= 0:
                os.close(fd)
        log.close()
    return records, outputs, stopped


def _sandbox_pid(info_fd: int) -> int:
    """The sandbox's first process (its pid namespace's init), from the ``--info-fd`` report bwrap writes once."""
    ready, _, _ = select.select([info_fd], [], [], 10)
    data = os.read(info_fd, 4096) if ready else b""
    try:
        pid = int(json.loads(data)["child-pid"])
    except (ValueError, KeyError, TypeError):
        raise SandboxError(f"bwrap did not report its sandbox ({data[:200]!r})") from None
    return pid


def _wait_gone(pid: int | None, seconds: float = 10) -> None:
    """Wait until the sandbox's init has exited: Linux ends it only after every process of its namespace."""
    deadline = time.monotonic() + seconds
    while pid is not None and time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):  # a zombie has already taken its namespace down with it
            return
        time.sleep(0.01)


def _answers(client, seconds: float) -> bool:
    """Whether the kernel answers a kernel_info request within ``seconds`` (i.e. is not stuck)."""
    from jupyter_core.utils import run_sync

    async def ask() -> bool:
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

    return run_sync(ask)()


def _record(reply: dict | None, seconds: float) -> CellRun:
    content = (reply or {}).get("content", {})
    if content.get("status") == "ok":
        return CellRun("ok", seconds=seconds)
    return CellRun("error", clean(content.get("ename") or "Error", 100), clean(content.get("evalue", ""), 300),
                   seconds)


def _tail(path: Path) -> str:
    text = path.read_text(errors="replace").strip() if path.exists() else ""
    return clean(text[-600:], 600) or "(empty)"


def read_outputs(folder: str) -> dict[str, bytes]:
    """The regular files directly in ``folder`` (a path into the live sandbox), never following a link.

    Each path component is opened with ``O_NOFOLLOW`` relative to the previous one, so a link planted in
    the sandbox cannot point this (privileged) process at a file of its own machine."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    parts = folder.strip("/").split("/")
    found: dict[str, bytes] = {}
    try:
        fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return found
    try:
        for i, part in enumerate(parts):
            # /proc/PID/root is a magic link that must be followed; every component after it must not be a link
            magic = parts[0] == "proc" and i == 2
            nxt = os.open(part, (os.O_RDONLY | os.O_DIRECTORY) if magic else flags | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        total = 0
        for name in sorted(os.listdir(fd))[:MAX_OUTPUT_FILES]:
            if not SAFE_NAME.fullmatch(name):
                continue
            try:
                file_fd = os.open(name, flags | os.O_NONBLOCK, dir_fd=fd)
            except OSError:
                continue
            with os.fdopen(file_fd, "rb") as f:
                st = os.fstat(f.fileno())
                if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > MAX_OUTPUT_FILE \
                        or total + st.st_size > MAX_OUTPUTS:
                    continue
                data = f.read(MAX_OUTPUT_FILE + 1)
            if len(data) <= MAX_OUTPUT_FILE and total + len(data) <= MAX_OUTPUTS:
                found[name] = data
                total += len(data)
    except OSError:  # no out/ folder, or the sandbox is already gone
        return found
    finally:
        os.close(fd)
    return found


def _matplotlib_fontlist() -> Path | None:
    """The grader's matplotlib font cache, mounted into each kernel so that none rebuilds it."""
    try:
        import matplotlib

        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
        return found[-1] if found else None
    except Exception:
        return None
