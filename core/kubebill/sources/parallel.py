"""Fetch and parse the steps of a day in worker processes, and hand their tables back in step order.

Parsing a step is CPU-bound Python (msgspec decode, Arrow columns): one process per usable core does
the steps side by side. At most `workers` steps are in flight, so the parent holds at most `workers`
finished step tables while it writes one; each worker holds one step. A worker sends its table back as
an LZ4-compressed Arrow IPC stream. With one usable core (the CronJob's 1-CPU limit) or where
processes cannot be started, the steps run one after the other in this process.
"""

from __future__ import annotations

import ctypes
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
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")
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


def to_ipc(table: pa.Table) -> bytes:
    """The table as an LZ4-compressed Arrow IPC stream: a quarter of its size while it waits in the parent."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC_OPTIONS) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def ordered(
    jobs: Sequence[Job], local: Callable[[Job], pa.Table], remote: Callable[[Job], bytes], *, workers: int
) -> Iterator[pa.Table]:
    """`local(job)` for each job in order, or, with several workers, `from_ipc(remote(job))` run in a pool.

    `remote` must be a module-level function (it is pickled by name) and return `to_ipc(local(job))`.
    """
    workers = min(workers, len(jobs))
    pool = _pool(workers) if workers > 1 else None
    if pool is None:
        for job in jobs:
            yield local(job)
        return
    with pool:
        waiting = iter(jobs)
        running: deque[Future[bytes]] = deque(pool.submit(remote, job) for job in islice(waiting, workers))
        _return_big_blocks()  # once the workers are forked: in a parsing process it doubles the CPU time
        try:
            while running:
                data = running.popleft().result()
                following = next(waiting, None)
                if following is not None:
                    running.append(pool.submit(remote, following))
                table = from_ipc(data)
                del data  # only the uncompressed table while it is written
                yield table
                del table
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
