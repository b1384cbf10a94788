"""A process's scratch folders (the merge's staged bill and DuckDB spill, an export's spool), and the sweep of those
a process left behind when it was killed.

A Lambda timeout, an out-of-memory kill or a SIGKILL leaves its folder in the temp directory, and a warm function
keeps that directory across invocations: a 10M-line merge leaves gigabytes there, and the next merges of the same
environment fail for want of space. Each folder is held with an exclusive `flock` on the folder itself for as long
as it is in use; the kernel lets go of it when the process ends, however it ends. A folder whose lock can be taken
is nobody's, and is removed when the next one is made. A PID would be no proof of life: PIDs are reused, and in a
container or a function's sandbox a restarted runtime may well get the PID of the one that was killed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kubebill import log

LOG = log.get("scratch")

PREFIX = "kubebill-scratch-"
# A folder younger than this is left alone even when unlocked: its maker may be between making and locking it.
GRACE_SECONDS = 60.0

try:
    import fcntl
except ImportError:  # Windows: no flock; folders are still removed on exit, never swept
    fcntl = None  # type: ignore[assignment]


@contextmanager
def scratch(kind: str) -> Iterator[str]:
    """A new folder in the temp directory, locked while in use, removed on exit; the folders killed processes
    left are removed first (see the module)."""
    sweep()
    path = tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-")
    held = None
    try:
        held = _lock(path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if held is not None:
            os.close(held)


def sweep(*, now: float | None = None) -> list[str]:
    """Remove the scratch folders of processes that ended without removing them; returns their paths."""
    if fcntl is None:
        return []
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return []
    for entry in entries:
        try:
            if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < GRACE_SECONDS:
                continue
            handle = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: a live process's
        finally:
            os.close(handle)  # the lock, when taken, goes with it: the folder is removed below
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    if removed:
        LOG.warning("removed scratch folders of processes that ended without cleaning up", extra={"paths": removed})
    return removed


def _lock(path: str) -> int | None:
    """The folder's lock, held until the handle is closed; None where the file system has no flock (NFS emulates it
    with byte-range locks a read-only handle cannot take): the folder is then used unlocked, and the sweep, unable to
    lock it either, leaves it alone."""
    if fcntl is None:
        return None
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
    except OSError:
        os.close(handle)
        return None
    return handle
