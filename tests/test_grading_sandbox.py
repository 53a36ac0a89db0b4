"""The two audit hooks of the grading kernel, each tried in a throwaway Python process (hooks cannot be
removed, so never in the test process): ``guard`` (files, processes, introspection) and ``seal``
(a test scores only if the instructor's code ran to its end)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tlcourse.grading import seal


def run_python(code: str, cwd: Path) -> dict:
    """Run ``code`` in a fresh interpreter in ``cwd``; it prints JSON objects, one per line: merged."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return {k: v for line in proc.stdout.strip().splitlines() for k, v in json.loads(line).items()}


GUARD = """
import gc, json, os, pathlib, signal, subprocess, sys
from tlcourse.grading import guard
work, secret, outside = {work!r}, {secret!r}, {outside!r}
guard.install(work, [secret])
def attempt(f):
    try:
        f()
        return "allowed"
    except PermissionError:
        return "refused"
seen = []  # sys.addaudithook ignores a refusal silently: see whether the hook runs
os.chdir(work)
os.mkdir("sub")
fd_sub = os.open("sub", os.O_RDONLY)
print(json.dumps({{
    "write inside": attempt(lambda: open("notes.txt", "w").write("ok")),
    "touch inside": attempt(lambda: pathlib.Path("sub/x").touch()),
    "os.open inside": attempt(lambda: os.close(os.open("sub/y", os.O_WRONLY | os.O_CREAT))),
    "read a library": attempt(lambda: open(json.__file__).read()),
    "write outside": attempt(lambda: open(outside, "a").write("x")),
    "delete outside": attempt(lambda: os.remove(outside)),
    "chmod outside": attempt(lambda: os.chmod(outside, 0o777)),
    "read secret": attempt(lambda: open(os.path.join(secret, "answers.txt")).read()),
    "list secret": attempt(lambda: os.listdir(secret)),
    "read secret via ..": attempt(lambda: open(os.path.join(work, "..", os.path.basename(secret), "answers.txt")).read()),
    "dir_fd escape": attempt(lambda: os.open("../../" + os.path.basename(outside), os.O_WRONLY, dir_fd=fd_sub)),
    "open an outside folder": attempt(lambda: os.open(os.path.dirname(outside), os.O_RDONLY)),
    "symlink": attempt(lambda: os.symlink(outside, "link")),
    "subprocess": attempt(lambda: subprocess.run(["true"])),
    "fork": attempt(lambda: os.fork()),
    "kill parent": attempt(lambda: os.kill(os.getppid(), 0)),
    "parent's /proc": attempt(lambda: open(f"/proc/{{os.getppid()}}/cmdline").read()),
    "own environ": attempt(lambda: open("/proc/self/environ").read()),
    "own status": attempt(lambda: open("/proc/self/status").read()),
    "gc objects": attempt(lambda: gc.get_objects()),
    "settrace": attempt(lambda: sys.settrace(None)),
    "audit hook": attempt(lambda: sys.addaudithook(lambda *a: seen.append(a))),
}} | {{"audit hook": "allowed" if [sys.audit("x"), seen][1] else "refused"}}))
# now tamper with what a naive guard would rely on, and try again
import builtins, posixpath
guard._NEVER.clear(); guard._READS.clear()
os.path.realpath = posixpath.realpath = lambda p, **k: os.path.join(work, "harmless")
builtins.any = lambda *a: False
print(json.dumps({{
    "read secret after tampering": attempt(lambda: open(os.path.join(secret, "answers.txt")).read()),
    "list secret after tampering": attempt(lambda: os.listdir(secret)),
    "subprocess after tampering": attempt(lambda: subprocess.run(["true"])),
    "write outside after tampering": attempt(lambda: open(outside, "a").write("x")),
}}))
"""


def test_guard_confines_a_process_to_its_working_folder(tmp_path):
    work, secret = tmp_path / "work", tmp_path / "secret"
    work.mkdir(), secret.mkdir()
    (secret / "answers.txt").write_text("42")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    got = run_python(GUARD.format(work=str(work), secret=str(secret), outside=str(outside)), tmp_path)
    allowed = {"write inside", "touch inside", "os.open inside", "read a library", "own status"}
    assert len(got) == 26
    assert {k for k, v in got.items() if v == "allowed"} == allowed, got
    assert outside.read_text() == "precious" and (secret / "answers.txt").read_text() == "42"


SEAL = """
import builtins, json, math, os, sys
from tlcourse.grading import seal
key = bytes(32)
test = "assert math.isclose(answer(), 2.0) and abs(-1) == 1"
read, write = os.pipe()
ns = {{"__builtins__": builtins}}
seal.install(key, {{"t": test}}, ns, write, ("math",))
def run(code):
    try:
        exec(code, ns)
    except Exception as err:
        return type(err).__name__
    return "ok"
out = {{}}
exec("import math", ns)
exec("def answer(): return 2.0", ns)
out["genuine"] = run(seal.cell_code("t", test))
exec("def answer(): return 3.0", ns)
out["wrong answer"] = run(seal.cell_code("t", test))
exec("import math; math.isclose = lambda *a, **k: True", ns)
out["patched math"] = run(seal.cell_code("t", test))
out["edited test"] = run(seal.cell_code("t", "assert True"))
exec("import sys; sys.audit({end!r}, 't')", ns)
out["forged end"] = "sent"
exec('''def answer():
    import builtins; builtins.abs = lambda x: 1   # rigs the rest of the test while it runs
    return 2.0''', ns)
out["rigged during the test"] = run(seal.cell_code("t", test.replace("abs(-1) == 1", "abs(-5) == 1")))
os.close(write)
verdicts = os.read(read, 10000).decode()
out["passed"], out["tokens"] = sorted(seal.passed(key, verdicts)), len(verdicts.splitlines())
print(json.dumps(out))
"""


def test_seal_issues_a_token_only_for_the_genuine_test_run_to_its_end(tmp_path):
    got = run_python(SEAL.format(end=seal.END), tmp_path)
    assert got["genuine"] == "ok"
    assert got["wrong answer"] == "AssertionError"
    assert got["patched math"] == "AssertionError", "math.isclose was not restored before the test"
    assert got["rigged during the test"] == "ok"  # the asserts were fooled, but no token follows
    # one token in all: the genuine run; not the edited test, the forged end or the rigged run
    assert got["passed"] == ["t"] and got["tokens"] == 1


def test_sealed_source_keeps_the_tests_meaning():
    source = 'total = 0\nfor i in range(3):\n    total += i\ntext = """a\n  b"""'
    ns: dict = {}
    exec(compile(seal.sealed_source("g", source), seal.filename("g"), "exec"), ns)  # no hooks here: markers no-op
    assert ns["total"] == 3 and ns["text"] == "a\n  b" and callable(ns["check"])


def test_only_genuine_tokens_count():
    key = b"k" * 32
    lines = f"g {seal.token(key, 'g')}\nh {'0' * 64}\nnot a token\n"
    assert seal.passed(key, lines) == {"g"}
    assert seal.passed(b"x" * 32, lines) == set()


def _names_read(code) -> set[str]:
    import dis

    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    return names.union(*(_names_read(c) for c in code.co_consts if hasattr(c, "co_code")))


def _our_functions(fn, found: list) -> list:
    """``fn`` and the functions of ours it reaches through its closure."""
    if fn not in found and fn.__module__.startswith("tlcourse."):
        found.append(fn)
        for cell in fn.__closure__ or ():
            if hasattr(cell.cell_contents, "__code__"):
                _our_functions(cell.cell_contents, found)
    return found


def test_hooks_read_no_global_or_builtin_name():
    """A notebook may replace builtins or the modules' globals (``guard._NEVER.clear()``, ``builtins.any``,
    ``os.path.realpath``): the hooks must not look any name up at run time. In the verdict hook a replaced
    ``type`` could even read the key off the stack."""
    import tlcourse
    from tlcourse.grading import guard

    hooks = [seal._make_restorer(("math",), tlcourse), seal._make_verdict(b"k", {}, {}, {}, 1),
             guard._make_hook("/tmp/work", ["/tmp/secret"])]
    functions = [f for h in hooks for f in _our_functions(h, [])]
    assert len(functions) >= 9
    for fn in functions:
        assert _names_read(fn.__code__) == set(), fn
