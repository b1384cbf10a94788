"""Outages of the machine's own resources say what to do: a full temporary folder, DuckDB out of memory."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

import duckdb
import pytest

from kubebill import cli, pipeline
from kubebill.errors import described


def test_a_full_temporary_folder_names_it_and_what_to_do() -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    assert described(full).startswith("OSError: [Errno 28] No space left on device — the temporary folder")
    assert tempfile.gettempdir() in described(full) and "TMPDIR" in described(full)
    # DuckDB's own writes say it in the text only
    spill = duckdb.IOException('Could not write file "x.tmp": No space left on device')
    assert "TMPDIR" in described(spill)


def test_duckdb_out_of_memory_names_the_settings() -> None:
    found = described(duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate data of size 32.0 MiB"))
    assert "KUBEBILL_MEMORY_LIMIT" in found and "KUBEBILL_THREADS" in found


def test_other_errors_are_only_named() -> None:
    assert described(ValueError("bad")) == "ValueError: bad"
    assert described(OSError(errno.EACCES, "Permission denied")) == "PermissionError: [Errno 13] Permission denied"


def test_the_cli_prints_it_for_a_merge_that_ran_out_of_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline, "merge", full)
    assert cli.main(["merge", "--store", str(tmp_path)]) == 1
    printed = capsys.readouterr().err
    assert "kubebill merge: OSError: [Errno 28] No space left on device — the temporary folder" in printed
    assert "(run with -v for details)" in printed and "Traceback" not in printed


def test_duckdb_out_of_memory_is_one_line_without_duckdbs_own_advice() -> None:
    con = duckdb.connect()
    con.execute("SET memory_limit = '1MB'")
    con.execute("SET threads = 1")
    with pytest.raises(duckdb.OutOfMemoryException) as raised:
        con.execute("SELECT list(i) FROM range(1000000) t(i)").fetchall()
    assert "SET threads" in str(raised.value)  # DuckDB's advice names its own settings
    found = described(raised.value)
    assert "\n" not in found and "SET threads" not in found
    assert found.startswith("OutOfMemoryException: Out of Memory Error:") and "KUBEBILL_MEMORY_LIMIT" in found
