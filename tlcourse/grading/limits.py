"""The limits each graded notebook runs under (``tlcourse grade --timeout/--max-time/--memory``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    cell_timeout: float = 600.0  # wall-clock seconds per cell; then the cell is interrupted
    max_time: float = 1800.0  # wall-clock seconds per notebook, restarts included
    memory_mb: int = 8192  # address space of the kernel (RLIMIT_AS); importing torch alone maps ~3.5 GB
    file_mb: int = 1024  # largest file the kernel may write
    workdir_mb: int = 1024  # the kernel's working folder (a tmpfs: RAM when used); /tmp, /dev/shm: a quarter each
    processes: int = 512  # processes and threads of one kernel (a pids cgroup where possible, else RLIMIT_NPROC)
    threads: int = 1  # BLAS/OpenMP threads per kernel (set by grade() to CPUs // jobs)
    restarts: int = 2  # new kernels after one hangs or dies
