"""The engine session: the one place the package connects DuckDB, with its memory share, threads and spill folder."""

from __future__ import annotations

import os
import re
import tempfile

import duckdb

# DuckDB's memory_limit bounds its buffer pool only: Python, the Arrow inputs and DuckDB's own unaccounted
# allocations add ~0.4-0.5 GB at 1M bill lines, so the process limit gives DuckDB this share (measured at 1M:
# 1 GB to DuckDB → 2.15 GB peak RSS; 600 MB → 1.42 GB at the same speed).
DUCKDB_SHARE = 0.6
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def duckdb_share(limit: str, *, less: int = 0) -> str:
    """DuckDB's memory_limit for a process limit such as `1GB` (Settings' size syntax): DUCKDB_SHARE of it, `less`
    bytes held outside DuckDB taken off (never below half the share)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", limit)
    if not found or found[2].lower() not in _UNITS:
        return limit  # not a size this code knows: let DuckDB judge it as given
    size = float(found[1]) * _UNITS[found[2].lower()] * DUCKDB_SHARE
    size = max(size - less, size / 2)
    return f"{max(1, int(size // 1024**2))}MiB"


def connect(
    *, memory_limit: str | None = None, threads: int | None = None, temp_directory: str | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB in UTC with the memory share of `memory_limit`, the spill folder and the thread count."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{duckdb_share(memory_limit)}'")
    temp = temp_directory or os.path.join(tempfile.gettempdir(), "kubebill-duckdb")
    con.execute(f"SET temp_directory = '{temp}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con
