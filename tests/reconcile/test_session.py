"""The one DuckDB session: only session.py connects, every connection gets the limit, spill folder, threads and
UTC, and the default limit comes from the platform (Lambda's memory, the cgroup limit, else a machine share)."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import duckdb
import pytest

from kubebill.reconcile import session

PACKAGE = Path(session.__file__).parents[1]
FUNCTIONS = PACKAGE.parents[1] / "functions"


def _connects(path: Path) -> list[int]:
    """Lines of `path` that call duckdb.connect or import connect from duckdb."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "connect" and getattr(node.value, "id", "") == "duckdb":
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "duckdb":
            found += [node.lineno for alias in node.names if alias.name == "connect"]
    return found


def test_only_the_session_connects_duckdb() -> None:
    sources = [*PACKAGE.rglob("*.py"), *FUNCTIONS.rglob("*.py")]
    assert len(sources) > 50
    calls = {str(p.relative_to(PACKAGE.parent)): lines for p in sources if (lines := _connects(p))}
    assert calls == {"kubebill/reconcile/session.py": [_connects(Path(session.__file__))[0]]}


def _setting(con: object, name: str) -> str:
    return str(con.execute(f"SELECT current_setting('{name}')").fetchone()[0])  # type: ignore[attr-defined]


def test_connect_applies_the_limit_spill_folder_threads_and_utc(tmp_path: Path) -> None:
    con = session.connect(memory_limit="1GB", threads=1, temp_directory=str(tmp_path / "spill"))
    plain = duckdb.connect()
    try:
        plain.execute("SET memory_limit = '572MiB'")  # 60% of 10^9 bytes
        assert _setting(con, "memory_limit") == _setting(plain, "memory_limit")
        assert _setting(con, "threads") == "1"
        assert _setting(con, "temp_directory") == str(tmp_path / "spill")
        assert _setting(con, "TimeZone") == "UTC"
        assert _setting(con, "preserve_insertion_order").lower() == "false"
        assert _setting(con, "parquet_metadata_cache").lower() == "true"
    finally:
        con.close()
        plain.close()


def test_a_parquet_file_rewritten_in_a_session_is_read_anew(tmp_path: Path) -> None:
    """The session caches Parquet footers: a file replaced at the same path must not be read by its old one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "lines.parquet"
    con = session.connect(memory_limit="1GB", threads=1, temp_directory=str(tmp_path / "spill"))
    try:
        pq.write_table(pa.table({"cost": [1.0]}), path)
        assert con.execute(f"SELECT count(*), sum(cost) FROM '{path}'").fetchall() == [(1, 1.0)]
        pq.write_table(pa.table({"cost": [1.0, 2.0, 4.0]}, schema=pa.schema([("cost", pa.float64())])), path)
        assert con.execute(f"SELECT count(*), sum(cost) FROM '{path}'").fetchall() == [(3, 7.0)]
    finally:
        con.close()


def test_connect_without_a_limit_takes_the_platform_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    con = session.connect()
    given = session.connect(memory_limit="2048MB")
    try:
        assert _setting(con, "memory_limit") == _setting(given, "memory_limit")
    finally:
        con.close()
        given.close()


def test_default_limit_is_lambdas_memory(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert session.default_memory_limit(env={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1536"}, cgroup=tmp_path) == "1536MB"


def test_default_limit_is_the_cgroup_v2_limit(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert session.default_memory_limit(env={}, cgroup=tmp_path) == "1073MB"


def test_default_limit_is_the_cgroup_v1_limit(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("536870912\n")
    assert session.default_memory_limit(env={}, cgroup=tmp_path) == "536MB"


@pytest.mark.parametrize("v2, v1", [("max", None), (None, "9223372036854771712"), (None, None)])
def test_default_limit_without_a_cgroup_limit_is_a_share_of_the_machine(
    tmp_path: Path, v2: str | None, v1: str | None
) -> None:
    if v2 is not None:
        (tmp_path / "memory.max").write_text(v2 + "\n")
    if v1 is not None:
        (tmp_path / "memory").mkdir()
        (tmp_path / "memory" / "memory.limit_in_bytes").write_text(v1 + "\n")
    share = int(session.machine_memory() * session.MACHINE_SHARE) // 1000**2
    assert session.default_memory_limit(env={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": ""}, cgroup=tmp_path) == f"{share}MB"
    assert 0 < share * 1000**2 < session.machine_memory()


def test_sessions_spilling_at_once_into_the_default_folder_each_read_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every session without a folder of its own spills into <tmp>/kubebill-duckdb (a CSV conversion, the Azure
    pairing, a report), and a function host or the server runs them side by side. DuckDB names its spill files per
    process and instance since 2.0; 1.5 gave two sessions the same files and each read the other's blocks."""
    monkeypatch.setattr(session.tempfile, "tempdir", str(tmp_path))
    folder = tmp_path / "kubebill-duckdb"
    sessions = [session.connect(memory_limit="60MB", threads=1) for _ in range(2)]
    query = "SELECT sum(range * {k}) FROM (SELECT range, md5(range::VARCHAR) AS h FROM range(3000000) ORDER BY h)"
    found: dict[int, int] = {}
    spilled: set[str] = set()
    running = threading.Event()

    def run(k: int) -> None:
        found[k] = int(sessions[k - 1].execute(query.format(k=k)).fetchone()[0])  # type: ignore[index]

    def watch() -> None:  # DuckDB deletes a spill file once its blocks are read back
        while running.is_set():
            if folder.is_dir():
                spilled.update(p.name for p in folder.glob("*.tmp"))
            time.sleep(0.005)

    running.set()
    threads = [threading.Thread(target=watch), *(threading.Thread(target=run, args=(k,)) for k in (1, 2))]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join()
    running.clear()
    threads[0].join()
    for con in sessions:
        con.close()
    assert spilled  # into the shared folder (each sort alone needs more than its 60 MB), or this proves nothing
    total = 3_000_000 * (3_000_000 - 1) // 2
    assert found == {1: total, 2: 2 * total}
