"""A day larger than DuckDB's share of KUBEBILL_MEMORY_LIMIT merges whole: every statement of the merge must be able
to spill. The 10M-line target of bench/merge (1 GB) scaled down: 3M lines (6 writer chunks, stored and sorted as a
10M day is) under 300 MB, where DuckDB's share is ~170 MiB. The invariants' counts once held four hash tables of the
day's lines in one statement and ran out of memory here, as at 10M lines with 1 GB."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill.layout import Layout
from kubebill.reconcile import engine, rows

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "merge" / "run.py"


def _bench() -> ModuleType:
    """bench/merge's generator: the same day the 10M-line figures are taken on."""
    spec = importlib.util.spec_from_file_location("kubebill_bench_merge", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_day_of_many_chunks_merges_within_a_tight_memory_limit(tmp_path: Path) -> None:
    bench = _bench()
    shape = bench.generate(tmp_path, 3_000_000)
    assert shape["bill_rows"] >= engine.SORT_FROM_CHUNKS * rows.LINES_PER_JOIN  # the 10M day's stored, sorted path
    # in a process of its own, as the CLI runs it: the pytest worker's memory stays small for the tests after it
    env = dict(os.environ, KUBEBILL_MEMORY_LIMIT="300MB", KUBEBILL_THREADS="2", KUBEBILL_LOG_LEVEL="warning")
    done = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "merge", "--store", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = pq.read_table(tmp_path / Layout().result_parquet_key(bench.DAY), columns=["BilledCost"])
    assert result.num_rows == shape["bill_rows"] // 4 * 7  # each compute line split in 4, 3 lines passed per node-hour
    billed = pq.read_table(tmp_path / bench.BILL_KEY, columns=["BilledCost"])
    assert pc.sum(result["BilledCost"]).as_py() == pytest.approx(pc.sum(billed["BilledCost"]).as_py(), rel=1e-12)
