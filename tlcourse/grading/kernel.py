"""The grading kernel: an IPython kernel that confines itself before it runs any student code.

Started by ``sandbox.py`` as ``python -m tlcourse.grading.kernel -f CONNECTION_FILE`` with the
environment variable ``TLCOURSE_GRADING_KERNEL`` naming a private JSON config (removed from the
environment and deleted once read). In order, before the first cell arrives, it

1. sets resource limits: address space (``--memory``), CPU seconds, no core files, file size;
2. opens the verdict file and starts the ipykernel application;
3. installs ``seal`` (preloading and snapshotting numpy/torch...) and then ``guard``.
"""
from __future__ import annotations

import json
import os
import resource
import sys

ENV = "TLCOURSE_GRADING_KERNEL"


def set_limits(memory_mb: int | None, cpu_s: int | None, file_mb: int | None) -> None:
    for which, value in ((resource.RLIMIT_AS, memory_mb and memory_mb * 2**20), (resource.RLIMIT_CPU, cpu_s),
                         (resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, file_mb and file_mb * 2**20)):
        if value is None:
            continue
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _confine(app, config_path: str) -> None:
    # Everything secret lives in this frame only until it returns (then only inside the seal's hook).
    from tlcourse.grading import guard, seal

    with open(config_path) as f:
        cfg = json.load(f)
    os.remove(config_path)
    fd = os.open(cfg["verdicts"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    seal.install(bytes.fromhex(cfg["key"]), cfg["tests"], app.shell.user_global_ns, fd, tuple(cfg["preload"]))
    guard.install(cfg["workdir"], cfg["protected"])


def main(argv: list[str] | None = None) -> None:
    config_path = os.environ.pop(ENV)
    with open(config_path) as f:
        limits = json.load(f)["limits"]
    set_limits(limits["memory_mb"], limits["cpu_s"], limits["file_mb"])

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:] if argv is None else argv)
    _confine(app, config_path)
    del config_path
    app.start()


if __name__ == "__main__":
    main()
