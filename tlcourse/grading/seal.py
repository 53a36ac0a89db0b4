"""Sealed test cells: a test scores only if the instructor's test code really ran to its last line.

The problem. A test cell runs in the same Python process as the student's code, after it. Reading the
cell's output ("no error shown", "✅ printed") is therefore worthless as evidence: the student's code
can replace ``check``, the registered tests, ``builtins``, ``numpy.allclose``, IPython's error
display or the kernel's input transformers, or just print the text a passing test prints.

The design. Two audit hooks (PEP 578) are added to the kernel by the trusted launcher
(``tlcourse.grading.kernel``) before any student code runs; audit hooks cannot be removed, and
``guard`` forbids the tools that could find them (garbage-collector object lists, tracing, other
threads' frames, new audit hooks).

1. The grader sends a test cell as ``exec(compile(SEALED, "<grading ID>", "exec"), globals())``,
   where ``SEALED`` is the instructor's test code (with its hidden tests) between two markers::

       __import__('sys').audit('tlcourse.grading.begin', 'ID')
       from tlcourse.grading import check
       <instructor's test code>
       __import__('sys').audit('tlcourse.grading.end', 'ID')

   Python runs a code object top to bottom: the end marker executes only if every statement before
   it (every ``check`` and ``assert``) completed without raising.
2. On ``begin`` the **restorer** puts back what a notebook could have patched: ``builtins``;
   ``sys.path``, ``sys.meta_path``, ``sys.path_hooks``, ``sys.modules``; the dictionaries of the
   preloaded modules (``math``, ``operator``, ``numpy``, ``torch``... and their Python classes, e.g.
   ``torch.Tensor``); and it drops ``tlcourse.grading`` / ``tlcourse.exercises`` from
   ``sys.modules`` so that the test imports ``check`` and the public tests afresh from disk.
3. The **verdict** hook holds a random per-kernel key. On ``begin`` it records the calling frame if
   that frame runs exactly the code object compiled from the expected source (compared with ``==``
   on code objects) in the notebook's real namespace. On ``end`` it checks that the caller is that
   same frame, that ``builtins`` are still intact and no tracer is set, and only then writes
   ``ID HMAC(key, ID)`` to a file the grader reads. The grader scores a test cell by that token
   alone; printed text, outputs and error messages only explain the result in the feedback.

Why the key stays secret. It exists only inside the verdict hook's closure (the file it came from
is protected and deleted at start). Student code could read it only while the verdict hook is on
the stack, and the verdict hook calls nothing that student code could have replaced: C functions
bound at start, exact type checks, identity comparisons; it frees no student object (whose
``__del__`` could run). The restorer, which does touch student objects, holds no secret.

Not covered (documented limits): answers built to fool the test's own comparisons (an object whose
``__eq__`` always says True: tests should coerce answers, e.g. ``float(x)``, ``torch.as_tensor(x)``);
student code that a test calls and that re-patches things while the test runs; native code
(``ctypes``), which can read any memory. Such code is flagged for review in the CSV.
"""
from __future__ import annotations

import hmac
import sys
import warnings
from types import ModuleType

BEGIN, END = "tlcourse.grading.begin", "tlcourse.grading.end"
FRESH = ("tlcourse.grading", "tlcourse.exercises")  # re-imported from disk for every test
PRELOAD = ("math", "operator", "numpy", "torch")  # snapshotted at kernel start, restored before each test


def filename(grade_id: str) -> str:
    return f"<grading {grade_id}>"


def sealed_source(grade_id: str, test_source: str) -> str:
    """The instructor's test code between the begin and end markers, with ``check`` imported afresh."""
    return (f"__import__('sys').audit({BEGIN!r}, {grade_id!r})\nfrom tlcourse.grading import check\n"
            f"{test_source.rstrip()}\n"
            f"__import__('sys').audit({END!r}, {grade_id!r})\n")


def cell_code(grade_id: str, test_source: str) -> str:
    """The code the grader sends to the kernel in place of the test cell."""
    return (f"exec(compile({sealed_source(grade_id, test_source)!r}, {filename(grade_id)!r}, 'exec', "
            "dont_inherit=True), globals())")


def token(key: bytes, grade_id: str) -> str:
    return hmac.digest(key, grade_id.encode(), "sha256").hex()


def passed(key: bytes, verdicts: str) -> set[str]:
    """The grade_ids with a genuine token among the lines of the verdict file."""
    ok = set()
    for line in verdicts.splitlines():
        gid, _, tok = line.partition(" ")
        if tok and hmac.compare_digest(tok, token(key, gid)):
            ok.add(gid)
    return ok


# ----------------------------------------------------------------------------- inside the kernel

def install(key: bytes, tests: dict[str, str], user_ns: dict, verdict_fd: int,
            preload: tuple[str, ...] = PRELOAD) -> None:
    """Add the restorer and the verdict hook. ``tests`` maps grade_id -> instructor test source."""
    import builtins
    import importlib

    import tlcourse

    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    refs = {gid: compile(sealed_source(gid, src), filename(gid), "exec", dont_inherit=True)
            for gid, src in tests.items()}
    with warnings.catch_warnings():  # snapshotting touches deprecated module attributes
        warnings.simplefilter("ignore")
        restorer = _make_restorer(preload, tlcourse)
    sys.addaudithook(restorer)
    sys.addaudithook(_make_verdict(key, refs, user_ns, builtins.__dict__, verdict_fd))


def _restorable(v) -> bool:
    """Functions, classes, descriptors and modules: what a patch replaces. Data (counters, caches) is left alone."""
    return callable(v) or isinstance(v, ModuleType) or hasattr(type(v), "__get__")


# The two hooks below read no global or builtin name at run time (a notebook could have replaced
# it); everything they use is bound when they are made. test_grading_sandbox.py checks that.

def _make_restorer(preload: tuple[str, ...], package: ModuleType):
    import builtins

    modules, sysdict, bdict = sys.modules, sys.__dict__, builtins.__dict__
    saved_sys = {k: list(sysdict[k]) for k in ("path", "meta_path", "path_hooks")}
    saved_builtins = {k: v for k, v in bdict.items() if k not in ("_", "__", "___")}
    pkg_dict, pkg_path = package.__dict__, list(package.__path__)
    prefixes = tuple(r + "." for r in preload)
    module_dicts = [m.__dict__ for name, m in list(modules.items())
                    if isinstance(m, ModuleType) and (name in preload or name.startswith(prefixes))]
    saved_modules = [(d, {k: v for k, v in d.items() if _restorable(v)}) for d in module_dicts]
    classes = {id(v): v for d in module_dicts for v in d.values()
               if isinstance(v, type) and str(v.__dict__.get("__module__", "")).startswith(tuple(preload))}
    # (class, its patchable attributes, every name it had, its bases' namespaces)
    saved_classes = [(c, {k: v for k, v in c.__dict__.items() if _restorable(v)}, set(c.__dict__) | {"__slotnames__"},
                      [b.__dict__ for b in c.__mro__[1:]]) for c in classes.values()]
    graveyard: list = []  # replaced student objects stay referenced: no __del__ runs while restoring
    fresh, fresh_prefixes = FRESH, tuple(f + "." for f in FRESH)
    begin, missing, str_, type_, list_, any_ = BEGIN, object(), str, type, list, any
    setattr_, delattr_, tampered = type.__setattr__, type.__delattr__, PermissionError

    def restore(d: dict, saved: dict) -> None:
        for k in d:
            if type_(k) is not str_:
                raise tampered("grading: a module namespace was tampered with; the test cannot run")
        for k, v in saved.items():
            old = d.get(k, missing)
            if old is not v:
                graveyard.append(old)
                d[k] = v

    def hook(event, args):
        if type_(event) is not str_ or event != begin:
            return
        restore(bdict, saved_builtins)
        for k, v in saved_sys.items():
            graveyard.append(sysdict.get(k))
            sysdict[k] = list_(v)
        graveyard.append(sysdict.get("path_importer_cache"))
        sysdict["path_importer_cache"] = {}
        graveyard.append(sysdict.get("modules"))
        sysdict["modules"] = modules
        restore(modules, {"tlcourse": package})
        restore(pkg_dict, {})
        for name in [n for n in modules if n in fresh or n.startswith(fresh_prefixes)]:
            graveyard.append(modules.pop(name))
        for attr in ("grading", "exercises"):
            graveyard.append(pkg_dict.pop(attr, None))
        graveyard.append(pkg_dict.get("__path__"))
        pkg_dict["__path__"] = list_(pkg_path)
        for d, saved in saved_modules:
            restore(d, saved)
        for cls, saved, known, bases in saved_classes:
            current = cls.__dict__
            # a new name matters only if it overrides a special method or an inherited attribute
            for k in [k for k in current if k not in known and (k.startswith("__") or any_(k in b for b in bases))]:
                graveyard.append(current[k])
                delattr_(cls, k)
            for k, v in saved.items():
                old = current.get(k, missing)
                if old is not v:
                    graveyard.append(old)
                    setattr_(cls, k, v)

    return hook


def _make_verdict(key: bytes, refs: dict, user_ns: dict, bdict: dict, fd: int):
    import _hashlib
    import posix

    getframe, gettrace, getprofile = sys._getframe, sys.gettrace, sys.getprofile
    digest, write, hexlify, encode = _hashlib.hmac_digest, posix.write, bytes.hex, str.encode
    begin, end, str_, tuple_, type_, len_ = BEGIN, END, str, tuple, type, len
    builtins_now = {k: v for k, v in bdict.items()
                    if k not in ("_", "__", "___", "exit", "quit", "get_ipython", "display")}  # IPython swaps these
    started: dict = {}
    frames: list = []  # every frame ever recorded stays referenced: dropping one could run student code

    def hook(event, args):
        if type_(event) is not str_ or (event != begin and event != end):
            return
        if type_(args) is not tuple_ or len_(args) != 1 or type_(args[0]) is not str_:
            return
        gid = args[0]
        ref = refs.get(gid)
        if ref is None:
            return
        frame = getframe(1)
        if frame.f_code != ref or frame.f_globals is not user_ns:
            return
        if event == begin:
            frames.append(frame)
            started[gid] = frame
            return
        if started.get(gid) is not frame or gettrace() is not None or getprofile() is not None:
            return
        for k in bdict:
            if type_(k) is not str_:
                return
        for k, v in builtins_now.items():
            if bdict.get(k) is not v:
                return
        write(fd, encode(gid) + b" " + encode(hexlify(digest(key, encode(gid), "sha256"))) + b"\n")

    return hook
