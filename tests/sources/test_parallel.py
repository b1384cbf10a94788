"""Steps fetched and parsed in worker processes: the same tables, in step order, and the same errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
import requests

from kubebill import cli
from kubebill.errors import SourceError
from kubebill.model import Window
from kubebill.schema import ALLOCATION
from kubebill.sources import http, opencost, parallel
from tests.conftest import ROOT
from tests.sources.generated import step_body
from tests.sources.replay import ReplayServer, Reply, Request

DAY = date(2025, 6, 17)
QUERY = opencost.Query(step="3h")  # 8 requests


def generated(request: Request) -> Reply:
    start, end = request.query["window"].split(",")
    window = Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
    return Reply(step_body(window, allocations=300, nodes=5))


def fetch(server: ReplayServer, workers: int) -> list[pa.Table]:
    with requests.Session() as session:
        tables = opencost.fetch_day(
            session,
            source="opencost",
            base_url=server.url,
            cluster="c1",
            day=DAY,
            query=QUERY,
            options=http.HttpOptions(retry_seconds=0.5),
            workers=workers,
        )
        return list(tables)


def test_workers_give_the_same_tables_in_step_order(server: ReplayServer) -> None:
    server.route = generated  # type: ignore[assignment]
    alone = fetch(server, 1)
    side_by_side = fetch(server, 2)
    assert len(side_by_side) == 8
    assert all(a.equals(b, check_metadata=True) for a, b in zip(alone, side_by_side, strict=True))
    starts = [t.column("window_start")[0].as_py() for t in side_by_side]
    assert starts == sorted(starts)


def test_a_bad_step_in_a_worker_fails_the_day_with_its_one_line_error(server: ReplayServer) -> None:
    def route(request: Request) -> Reply:
        if request.query["window"].startswith("2025-06-17T09:00:00Z"):
            return Reply(b'{"code":200,"data":[{"a":{"name":"a","properties":{}')  # truncated
        return generated(request)

    server.route = route  # type: ignore[assignment]
    with pytest.raises(SourceError, match=r"window=2025-06-17T09:00:00Z.*truncated") as caught:
        fetch(server, 2)
    assert "\n" not in str(caught.value)


def test_the_step_file_holds_the_parsed_rows_in_batches_of_batch_rows(tmp_path: Path) -> None:
    window = next(iter(Window.of_day(DAY).steps(QUERY.step_delta)))
    body = step_body(window, allocations=5000, nodes=4)
    table = opencost.parse([body], requested=window, cluster="c", source="opencost")
    path = str(tmp_path / "step.arrows")
    opencost.parse_stream([body], path, requested=window, cluster="c", source="opencost")
    batches = list(pa.ipc.open_stream(pa.OSFile(path)))
    assert [b.num_rows for b in batches] == [opencost.BATCH_ROWS, opencost.BATCH_ROWS, 5000 - 2 * opencost.BATCH_ROWS]
    assert pa.Table.from_batches(batches).equals(table, check_metadata=True)
    assert batches[0].schema.equals(ALLOCATION, check_metadata=True)


def test_cpu_budget_is_at_least_one_and_at_most_the_affinity() -> None:
    import os

    assert 1 <= parallel.cpu_budget() <= len(os.sched_getaffinity(0))


def test_parse_leaves_the_garbage_collector_as_it_was() -> None:
    import gc

    window = next(iter(Window.of_day(DAY).steps(QUERY.step_delta)))
    assert gc.isenabled()
    opencost.parse([step_body(window, allocations=20, nodes=2)], requested=window, cluster="c", source="opencost")
    assert gc.isenabled()
    with pytest.raises(SourceError):
        opencost.parse([b'{"code":200,"data":[{"a":{"name":"a"'], requested=window, cluster="c", source="opencost")
    assert gc.isenabled()


def test_cli_in_a_fresh_process_forks_workers_and_writes_the_same_bytes(server: ReplayServer, tmp_path: Path) -> None:
    """A process with no other thread forks its workers; a script without a __main__ guard still works."""
    server.route = generated  # type: ignore[assignment]
    args = ["export", "--source=opencost", f"--url={server.url}", "--cluster=c1", f"--date={DAY}", "--step=3h"]
    forked_args = [*args, f"--store={tmp_path / 'forked'}"]
    code = f"import sys\nfrom kubebill.cli import main\nsys.exit(main({forked_args!r}))"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
    assert cli.main([*args, f"--store={tmp_path / 'here'}"]) == 0  # this process has threads: a fork server
    forked, here = (next((tmp_path / name).rglob("*.parquet")).read_bytes() for name in ("forked", "here"))
    assert forked == here
