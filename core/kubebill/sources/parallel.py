"""Fetch and parse the steps of a day in worker processes, and hand their rows back in step order.

Parsing a step is CPU-bound Python (msgspec decode, Arrow columns): one process per usable core does
the steps side by side, at most `workers` at a time; each worker writes a step's rows to a file as an
LZ4-compressed Arrow IPC stream, batch by batch, and the parent reads them back a batch at a time,
in step order, while it writes the day: neither holds a whole step. With one usable core (the
CronJob's 1-CPU limit) or where processes cannot be started, the steps run one after the other in
this process.
"""

from __future__ import annotations

import ctypes
import gc
import math
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

Job = TypeVar("Job")
Result = TypeVar("Result")
IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4", use_threads=False)  # how a step's rows travel and wait
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_PRELOAD = ["kubebill.sources.opencost"]  # imported once by the fork server, not by every worker


def cpu_budget() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a pod's CPU limit)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def ordered(
    jobs: Sequence[Job], local: Callable[[Job], Result], remote: Callable[[Job], Result], *, workers: int
) -> Iterator[Result]:
    """`local(job)` for each job in order, or, with several workers, `remote(job)` run in a pool.

    `remote` must be a module-level function (it is pickled by name) returning what `local` does, in a
    picklable form.
    """
    workers = min(workers, len(jobs))
    pool = _pool(workers) if workers > 1 else None
    if pool is None:
        for job in jobs:
            yield local(job)
        return
    with pool:
        waiting = iter(jobs)
        # the workers are forked by the first submit: objects frozen before are never traversed by their
        # cyclic GC, so the pages of this process's heap stay shared instead of being copied into each
        gc.freeze()
        try:
            running: deque[Future[Result]] = deque(pool.submit(remote, job) for job in islice(waiting, workers))
        finally:
            gc.unfreeze()
        _return_big_blocks()  # once the workers are forked: in a parsing process it doubles the CPU time
        try:
            while running:
                result = running.popleft().result()
                following = next(waiting, None)
                if following is not None:
                    running.append(pool.submit(remote, following))
                yield result
                del result  # not held while the next one is awaited
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _return_big_blocks() -> None:
    """Keep glibc returning freed blocks of 256 KiB and more to the system at once.

    glibc raises its mmap threshold (up to 32 MiB) each time it frees an mmapped block, so after the
    first step the step-sized buffers that come back from the workers (and Arrow's, with the system
    pool) would be carved from the heap and stay resident: a fixed threshold turns that off.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 256 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def _pool(workers: int) -> ProcessPoolExecutor | None:
    try:
        # fork when nothing else runs here (the CLI): nothing is imported again, a script without a
        # __main__ guard works; with other threads a fork could copy a lock one of them holds, so a fork
        # server (which imports the __main__ script again in each worker, as spawn does) starts them
        if threading.active_count() == 1:
            return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return ProcessPoolExecutor(workers, mp_context=context)
    except (OSError, ValueError, ImportError):  # no /dev/shm semaphores (AWS Lambda), no forkserver
        return None
