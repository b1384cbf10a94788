"""The one place kubebill connects DuckDB: every connection gets the memory limit, spill folder, thread count and
UTC time zone, so no use (the merge, the Azure Actual/Amortized pairing, a CSV conversion, a report) runs with
DuckDB's own default of 80% of the machine.

With no `KUBEBILL_MEMORY_LIMIT`, the process's budget is the platform's: Lambda's configured memory, else the
cgroup limit of the container (Azure Functions, Cloud Run functions, Kubernetes), else a share of the machine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from kubebill.settings import size_bytes

# DuckDB's memory_limit bounds its buffer pool only: Python, the Arrow inputs and DuckDB's own unaccounted
# allocations add ~0.4-0.5 GB at 1M bill lines, so the process limit gives DuckDB this share (measured at 1M:
# 1 GB to DuckDB → 2.15 GB peak RSS; 600 MB → 1.42 GB at the same speed).
DUCKDB_SHARE = 0.6
# The budget of a process on a machine with no limit of its own: it shares the machine with others.
MACHINE_SHARE = 0.25
_CGROUP = Path("/sys/fs/cgroup")


def duckdb_share(limit: str, *, less: int = 0) -> str:
    """DuckDB's memory_limit for a process limit such as `1GB` (Settings' size syntax): DUCKDB_SHARE of it, `less`
    bytes held outside DuckDB taken off (never below half the share)."""
    given = size_bytes(limit)
    if given is None:
        return limit  # not a size this code knows: let DuckDB judge it as given
    size = given * DUCKDB_SHARE
    size = max(size - less, size / 2)
    return f"{max(1, int(size // 1024**2))}MiB"


def connect(
    *, memory_limit: str | None = None, threads: int | None = None, temp_directory: str | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB: UTC, insertion order not kept, DuckDB's share of `memory_limit` (default: the
    platform's, `default_memory_limit()`), spilling to `temp_directory` (default <tmp>/kubebill-duckdb), `threads`
    when given (default: all cores)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")  # drawn on stdout (a function's log) for queries over 2 s
        # each stage over a view of the day's Parquet files binds it anew, re-reading the files' footers (1M lines:
        # ~10 ms a stage, 0.4 s of the stages' 2.6 s); the cache lives as long as this in-memory database
        con.execute("SET parquet_metadata_cache = true")
        con.execute(f"SET memory_limit = '{duckdb_share(memory_limit or default_memory_limit())}'")
        temp = temp_directory or os.path.join(tempfile.gettempdir(), "kubebill-duckdb")
        con.execute(f"SET temp_directory = '{quoted(temp)}'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
    except BaseException:
        con.close()
        raise
    return con


def arrow_reader(relation: duckdb.DuckDBPyRelation, batch_rows: int) -> pa.RecordBatchReader:
    """The relation's rows streamed as Arrow batches of up to `batch_rows`."""
    return relation.to_arrow_reader(batch_rows)


def default_memory_limit(*, env: dict[str, str] | None = None, cgroup: Path = _CGROUP) -> str:
    """The process's memory budget when KUBEBILL_MEMORY_LIMIT is not set, as a size such as `1536MB`."""
    environ = os.environ if env is None else env
    lambda_mb = (environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or "").strip()
    if lambda_mb.isdigit() and int(lambda_mb) > 0:
        return f"{int(lambda_mb)}MB"
    machine = machine_memory()
    limit = cgroup_limit(cgroup)
    if limit is not None and limit < machine:
        return f"{max(1, limit // 1000**2)}MB"
    return f"{max(1, int(machine * MACHINE_SHARE) // 1000**2)}MB"


def machine_memory() -> int:
    """Bytes of physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def cgroup_limit(root: Path = _CGROUP) -> int | None:
    """The memory limit in bytes of this process's cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`), None when
    there is none. A container sees its own cgroup at the root of the mount; on a host the process's cgroup path
    (from /proc/self/cgroup) is looked up under it."""
    candidates = [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers, relative = parts[1], parts[2].strip().lstrip("/")
        if not relative:
            continue
        if controllers == "":
            candidates.insert(0, root / relative / "memory.max")
        elif "memory" in controllers.split(","):
            candidates.insert(0, root / "memory" / relative / "memory.limit_in_bytes")
    for candidate in candidates:
        text = _read(candidate).strip()
        if text.isdigit():
            return int(text)  # v1's "no limit" is a huge number: the caller compares it with the machine
    return None


def quoted(text: str) -> str:
    """`text` inside a SQL string literal."""
    return text.replace("'", "''")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
