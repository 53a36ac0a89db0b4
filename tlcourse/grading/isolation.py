"""The OS sandbox of a grading kernel: the bubblewrap (``bwrap``) command line, and whether it works here.

bubblewrap builds a new root for one process tree out of bind mounts, in new user, mount, pid, ipc, uts,
network and cgroup namespaces, without a daemon. The kernel sees, read-only: ``/usr`` (and the ``/lib``,
``/bin`` links), a few files of ``/etc``, the Python prefix, the virtual environment, and the ``tlcourse``
package with its ``data/`` (an editable install points into the repository: only these two folders of it are
mounted). Writable: a fresh size-capped tmpfs as its working folder (also ``HOME``), smaller ones as ``/tmp``
and ``/dev/shm``, and the folder of its Jupyter ``ipc`` sockets, shared with the grader alone; the rest of its
root is read-only. ``data/answer_keys/`` (what only the judge may read, e.g. the capstone's reference) is covered
by an empty read-only tmpfs. Nothing else exists in there: not the instructor's
notebooks, the submissions, the grader's outputs, ``.git``, ``build/`` or home directories. It runs as uid
65534 without capabilities, with no network, in its own session, and dies with the grader
(``--die-with-parent``); killing the pid namespace's first process kills everything the kernel started.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tlcourse
from tlcourse.runtime import DATA_DIR

WORKDIR = "/home/grading"  # the kernel's working folder and HOME, inside the sandbox
UID = 65534  # nobody
#: Files only the judge reads, in the grader's process: hidden from every kernel (an empty folder in there).
ANSWER_KEYS = DATA_DIR / "answer_keys"
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf")
FIX = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) on a Linux machine where user "
       "namespaces are enabled (`sysctl kernel.unprivileged_userns_clone=1` on older Debian), or pass "
       "--weak-isolation to grade without an OS sandbox (only for submissions you trust)")


def read_only_paths() -> list[Path]:
    """Host folders the kernel needs, mounted read-only at the same place."""
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(tlcourse.__file__).resolve().parent, DATA_DIR}
    return sorted(p.resolve() for p in paths if p.exists())


def _root_links() -> list[str]:
    """``/lib``, ``/bin``... as the host has them: a link into /usr (merged /usr), or a folder to mount."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


@functools.lru_cache(maxsize=None)
def _bwrap_knows(option: str) -> bool:
    try:
        return option in subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False


def command(argv: list[str], *, ipc_dir: Path, passwd: Path, workdir_mb: int, inputs: dict[str, Path],
            info_fd: int | None = None) -> list[str]:
    """The ``bwrap`` command that runs ``argv`` confined; ``inputs`` are mounted read-only in the working folder."""
    cmd = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user", "--uid", str(UID), "--gid", str(UID),
           "--hostname", "grading", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--unsetenv", "JPY_PARENT_PID",  # ipykernel would take the sandbox's pid 1 for a dead parent
           "--ro-bind", "/usr", "/usr", *_root_links()]
    if _bwrap_knows("--disable-userns"):  # bubblewrap >= 0.8: no nested user namespace, the way to most kernel bugs
        cmd.append("--disable-userns")
    for name in ETC:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--ro-bind", str(passwd), "/etc/passwd", "--ro-bind", str(passwd.with_name("group")), "/etc/group"]
    size, small = str(workdir_mb * 2**20), str(workdir_mb * 2**18)  # /tmp and /dev/shm: a quarter each
    cmd += ["--dev", "/dev", "--size", small, "--tmpfs", "/dev/shm", "--proc", "/proc", "--size", small,
            "--tmpfs", "/tmp"]
    # after /tmp's tmpfs, so that a checkout or virtual environment under /tmp stays visible
    for path in read_only_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    keys = ANSWER_KEYS.resolve()
    if keys.is_dir() and any(keys.is_relative_to(p) for p in read_only_paths()):  # an empty read-only folder on top
        cmd += ["--size", "4096", "--perms", "0555", "--tmpfs", str(keys), "--remount-ro", str(keys)]
    cmd += ["--size", size, "--tmpfs", WORKDIR, "--dir", f"{WORKDIR}/tmp", "--bind", str(ipc_dir), str(ipc_dir)]
    for name, path in inputs.items():
        cmd += ["--ro-bind", str(path), f"{WORKDIR}/{name}"]
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    # the root and /dev are tmpfs bubblewrap made, with no size cap: read-only once everything is mounted
    return [*cmd, "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORKDIR, "--", *argv]


def process_cap(limit: int) -> Path | None:
    """A new ``pids`` cgroup that holds at most ``limit`` processes and threads, where this process may make one
    (typically root with cgroup v1's ``pids`` hierarchy, or v2 with ``pids`` enabled); None elsewhere.

    Linux does not enforce ``RLIMIT_NPROC`` for processes that are root outside their user namespace, which is
    what the kernels are when the grader runs as root; this cap holds for them too."""
    for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        for stale in leftovers(root, "tlcourse-"):
            release(stale, seconds=0)
        try:
            group = Path(tempfile.mkdtemp(prefix=f"tlcourse-{os.getpid()}-", dir=root))
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            release(group)
    return None


def leftovers(folder: Path, prefix: str) -> list[Path]:
    """Entries ``PREFIX<pid>-...`` in ``folder`` whose process is dead: what a killed grading worker left behind."""
    found = []
    for path in folder.glob(f"{prefix}[0-9]*-*"):
        try:
            os.kill(int(path.name[len(prefix):].split("-")[0]), 0)
        except ProcessLookupError:
            found.append(path)
        except (ValueError, OSError):
            pass
    return found


def nproc_limit(processes: int) -> int:
    """``RLIMIT_NPROC`` for a kernel: it counts every process and thread of the user, not only the sandbox's, so
    the cap is what the user runs now plus ``processes`` (root: not enforced by Linux; ``process_cap`` holds)."""
    if os.geteuid() == 0:
        return processes
    uid, running = str(os.getuid()), 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            running += int(fields.get("Threads", "1"))
    return running + processes


def join(group: Path | None) -> None:
    """Move the calling process (and so all it will start) into ``group``; in the child, before ``exec``."""
    if group is not None:
        (group / "cgroup.procs").write_text(str(os.getpid()))


def release(group: Path | None, seconds: float = 5) -> None:
    """Remove a cgroup once its processes are gone (the kernel reaps the last ones asynchronously)."""
    deadline = time.monotonic() + seconds
    while group is not None:
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.02)


def identity_files(folder: Path) -> Path:
    """A ``passwd`` and a ``group`` naming only the sandbox's user, in ``folder``; returns the passwd."""
    (folder / "passwd").write_text(f"grading:x:{UID}:{UID}:grading:{WORKDIR}:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"grading:x:{UID}:\n")
    return folder / "passwd"


@dataclass(frozen=True)
class Probe:
    ok: bool
    reason: str  # one line: what works, or what failed and how to fix it


@functools.lru_cache(maxsize=1)
def probe() -> Probe:
    """Whether a process can be confined here: runs ``python -c`` inside the sandbox (well under a second)."""
    if not sys.platform.startswith("linux"):
        return Probe(False, f"bubblewrap needs Linux, this is {sys.platform}: {FIX}")
    if shutil.which("bwrap") is None:
        return Probe(False, f"`bwrap` is not installed: {FIX}")
    check = ("import os, socket; s = socket.socket(); r = s.connect_ex(('1.1.1.1', 53)); "
             "print(os.getuid(), os.path.exists('/etc/shadow'), r != 0)")
    with tempfile.TemporaryDirectory(prefix="tlcourse-probe-") as tmp:
        cmd = command([sys.executable, "-I", "-c", check], ipc_dir=Path(tmp), passwd=identity_files(Path(tmp)),
                      workdir_mb=1, inputs={})
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as err:
            return Probe(False, f"bwrap did not run ({type(err).__name__}: {err}): {FIX}")
    if proc.returncode != 0 or proc.stdout.split() != [str(UID), "False", "True"]:
        why = (proc.stderr.strip().splitlines() or [proc.stdout.strip() or f"exit status {proc.returncode}"])[-1]
        return Probe(False, f"bwrap failed ({why[:200]}): {FIX}")
    version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    group = process_cap(1)
    release(group)
    cap = ("a pids cgroup caps processes" if group else "RLIMIT_NPROC caps processes" if os.geteuid() else
           "no process cap: grading as root without a writable pids cgroup")
    return Probe(True, f"{version or 'bwrap'}: every grading kernel runs confined (uid {UID}, no network, "
                       f"read-only system, no access to other files; {cap})")
