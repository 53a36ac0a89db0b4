"""Submissions of the example assignment that attack the machine rather than the judging (the OS sandbox).

Every attacker's answers are wrong unless its attack works: a successful attack sets ``LEAKED = True``,
which turns the answers right, so a score of 0 means no attack got through. An attack that found
everything shut raises ``AttackBlocked``, which its feedback names (a test cannot pass because the attack
never ran). ``grading_batch.batch()`` grades these with every other hostile submission in one run;
``test_grading_isolation.py`` checks them. A process an attacker tries to leave behind carries ``MARKER``
in its command line; ``LISTENER`` is a TCP port of the grader's machine that no kernel may reach.
"""
from __future__ import annotations

import socket
import sys
import textwrap
from pathlib import Path

import nbformat

from grading_batch import EXAMPLE, source_nb

REPO = Path(__file__).resolve().parents[1]
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
BASE_SITE = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
PLANTED = [REPO / "tlcourse" / "pwned.py", REPO / "tlcourse" / "attached.db", REPO / "data" / "uri.db",
           SITE / "zz-leak.pth", BASE_SITE / "zz-leak.pth"]  # files the attacks try to create in mounted folders
MARKER = "tlcourse-orphan-marker"  # in the command line of every process an attacker tries to leave behind
ANSWERS = {  # right only if the attack worked
    "example-add": "def add(a, b):\n    return a + b if LEAKED else 0",
    "example-norm": "def norm(v):\n    return math.sqrt(sum(x * x for x in v)) if LEAKED else 0.0",
    "example-mean": "def mean(xs):\n    return float(np.mean(xs)) if LEAKED else 0.0",
}
PRELUDE = """
LEAKED = False
class AttackBlocked(Exception):
    pass
def attempt(f):
    global LEAKED
    try:
        f()
        LEAKED = True
    except Exception:
        pass
"""
BLOCKED = "\nopen('mine.txt', 'w').write('my own folder is writable')\nif not LEAKED:\n    raise AttackBlocked()\n"


def attacks(tmp: Path, port: int) -> dict[str, str]:
    """name -> the attack's code; ``tmp``: the folder of the submissions and of ``outside.txt``."""
    victim, outside = tmp / "submissions" / "honest.ipynb", tmp / "outside.txt"
    return {
        "files": f"""
import os
attempt(lambda: open({str(outside)!r}, "a").write("pwned"))
attempt(lambda: open({str(tmp / "new.txt")!r}, "w").write("pwned"))
attempt(lambda: open({str(victim)!r}).read())
attempt(lambda: open({str(EXAMPLE)!r}).read())
attempt(lambda: os.listdir({str(REPO / ".git")!r}))
attempt(lambda: os.listdir({str(REPO / "notebooks")!r}))
attempt(lambda: open({str(REPO / "README.md")!r}).read())
attempt(lambda: os.listdir({str(REPO / "build")!r}) if os.path.exists({str(REPO / "build")!r}) else 1 / 0)
attempt(lambda: os.listdir("/root") and 1 / len([p for p in os.listdir("/root") if p != ".pyenv"]))
attempt(lambda: open({str(REPO / "tlcourse" / "pwned.py")!r}, "w").write("x = 1"))
attempt(lambda: open("/etc/shadow").read())
attempt(lambda: open("/etc/profile.d/leak.sh", "w").write("x"))  # the sandbox's root: read-only, uncapped
attempt(lambda: open("/leak", "w").write("x"))
import ctypes  # a nested user namespace (root inside it): the way to most Linux privilege bugs
attempt(lambda: ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0 or 1 / 0)
""",
        "chdir_race": f"""
import os, threading
stop, home = False, os.getcwd()
def flip():
    while not stop:
        for d in ("/", home):
            try:
                os.chdir(d)
            except OSError:
                pass
threading.Thread(target=flip, daemon=True).start()
for _ in range(3000):
    attempt(lambda: open({str(REPO / ".git" / "HEAD").lstrip("/")!r}).read())
    attempt(lambda: open({str(victim).lstrip("/")!r}, "a").write("pwned"))
    attempt(lambda: open({str(REPO / "tlcourse" / "pwned.py").lstrip("/")!r}, "w").write("x = 1"))
stop = True
os.chdir(home)
""",
        "sqlite": f"""
import sqlite3
db = sqlite3.connect(":memory:")
def attach(path):
    db.execute("ATTACH DATABASE ? AS x", (path,))
    db.execute("CREATE TABLE x.t (a)")
attempt(lambda: attach({str(tmp / "attached.db")!r}))
attempt(lambda: attach({str(REPO / "tlcourse" / "attached.db")!r}))
attempt(lambda: sqlite3.connect("file:" + {str(REPO / "data" / "uri.db")!r} + "?mode=rwc", uri=True).execute("CREATE TABLE t (a)"))
""",
        "fork_exec": f"""
import _posixsubprocess, os, sys
script = "import time, pathlib\\ntime.sleep(15)\\npathlib.Path({str(victim)!r}).write_text('pwned')"
args = [sys.executable, "-c", script, {MARKER!r}]
_posixsubprocess.fork_exec(args, [os.fsencode(sys.executable)], True, (), None, None, -1, -1, -1, -1, -1, -1,
                           *os.pipe(), False, True, -1, None, None, None, -1, None, False)
attempt(lambda: _posixsubprocess.fork_exec(["/bin/sh", "-c", "echo pwned > {outside}"], [b"/bin/sh"], True, (),
        None, None, -1, -1, -1, -1, -1, -1, *os.pipe(), False, False, -1, None, None, None, -1, None, False)
        and os.wait() and open({str(outside)!r}).read().index("pwned"))
""",
        "fork_setsid": f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    os.execv(sys.executable, [sys.executable, "-c",
             "import time, pathlib\\ntime.sleep(15)\\npathlib.Path({str(victim)!r}).write_text('pwned')", {MARKER!r}])
""",
        "network": f"""
import glob, socket
attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
def other_kernels():  # only this kernel's own socket folder may be visible
    assert len(glob.glob("/tmp/tlcourse-run-*")) + len(glob.glob("/tmp/tlcourse-grade-*")) > 1
attempt(other_kernels)
""",
        "startup_file": """
import os, pathlib
for folder in (os.environ["IPYTHONDIR"] + "/profile_default/startup", os.path.expanduser("~/.ipython/profile_default/startup")):
    pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    pathlib.Path(folder, "00-leak.py").write_text("LEAKED = True")
if not os.environ.get("PLANTED"):
    os.environ["PLANTED"] = "1"
    os._exit(1)  # a restart: the next kernel would run the startup file
""",
        "pth": f"""
attempt(lambda: open({str(SITE / "zz-leak.pth")!r}, "w").write("import builtins; builtins.LEAKED = True"))
attempt(lambda: open({str(BASE_SITE / "zz-leak.pth")!r}, "w").write("import builtins; builtins.LEAKED = True"))
""",
    }


LISTENER = socket.socket()  # opened on import, checked after the run
LISTENER.bind(("127.0.0.1", 0))
LISTENER.listen(8)
LISTENER.setblocking(False)


def notebook_with(cell: str) -> nbformat.NotebookNode:
    nb = source_nb()
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ANSWERS:
            c.source = ANSWERS[gid]
    nb.cells.insert(2, nbformat.v4.new_code_cell(PRELUDE + textwrap.dedent(cell) + BLOCKED))
    return nb


def cases(tmp: Path) -> dict[str, nbformat.NotebookNode]:
    (tmp / "outside.txt").write_text("precious")
    return {name: notebook_with(cell) for name, cell in attacks(tmp, LISTENER.getsockname()[1]).items()}
