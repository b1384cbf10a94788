"""Scratch folders: removed on exit; those of a killed process removed by the next one made; never one in use, in
this process or another, nor one younger than the grace period, nor anything else in the temp directory."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kubebill.scratch import GRACE_SECONDS, PREFIX, scratch, sweep

# another process: holds a scratch folder of its own and prints its path
HOLD = """import time
from kubebill.scratch import scratch
with scratch("merge") as d:
    print(d, flush=True)
    time.sleep(600)
"""


@pytest.fixture(autouse=True)
def _temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@contextmanager
def _holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process holding a scratch folder of its own (its path), until it is stopped."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-c", HOLD], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, Path(process.stdout.readline().strip())
    finally:
        process.kill()
        process.wait()


def _later() -> float:
    return time.time() + GRACE_SECONDS + 1


def test_a_folder_is_removed_on_exit_and_on_error(tmp_path: Path) -> None:
    with scratch("merge") as path:
        assert Path(path).parent == tmp_path and Path(path).name.startswith(f"{PREFIX}merge-")
        (Path(path) / "spill").mkdir()
    assert not Path(path).exists()
    with pytest.raises(RuntimeError), scratch("merge") as path:
        raise RuntimeError("a merge failed")
    assert not Path(path).exists()


def test_a_killed_process_folder_is_swept_and_a_live_one_kept(tmp_path: Path) -> None:
    with _holder(tmp_path) as (killed, left), _holder(tmp_path) as (_, live):
        (left / "spill").mkdir()
        (left / "spill" / "duckdb_temp_storage.tmp").write_bytes(b"x" * 1024)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert left.is_dir()
        assert sweep() == []  # younger than the grace period: its maker may not have locked it yet
        assert sweep(now=_later()) == [str(left)]
        assert not left.exists() and live.is_dir()


def test_a_folder_in_use_in_this_process_is_kept(tmp_path: Path) -> None:
    """The in-cluster server and a function host run merges on threads: each one's folder is its own."""
    with scratch("merge") as first:
        assert sweep(now=_later()) == []
        with scratch("export") as second:
            assert Path(first).is_dir() and Path(second).is_dir()


def test_only_scratch_folders_are_swept(tmp_path: Path) -> None:
    for name in ("kubebill-bench-store-x", "kubebill-duckdb", "other"):
        (tmp_path / name).mkdir()
    (tmp_path / f"{PREFIX}file").write_text("not a folder")
    unlocked = tmp_path / f"{PREFIX}merge-old"  # a killed process's: nobody holds it
    unlocked.mkdir()
    assert sweep(now=_later()) == [str(unlocked)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["kubebill-bench-store-x", "kubebill-duckdb", "other", f"{PREFIX}file"]
    )


def test_making_a_folder_sweeps_first(tmp_path: Path) -> None:
    left = tmp_path / f"{PREFIX}merge-left"
    left.mkdir()
    old = time.time() - GRACE_SECONDS - 1
    os.utime(left, (old, old))
    with scratch("merge"):
        assert not left.exists()


def test_without_flock_a_folder_is_used_unlocked_and_never_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A temp directory on a file system that refuses flock (NFS, a read-only handle): merges go on, nothing swept."""

    def refused(handle: int, operation: int) -> None:
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", refused)
    with scratch("merge") as path:
        assert sweep(now=_later()) == [] and Path(path).is_dir()
    assert not Path(path).exists()
