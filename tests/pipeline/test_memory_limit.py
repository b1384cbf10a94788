"""A day larger than DuckDB's share of KUBEBILL_MEMORY_LIMIT merges whole: every statement of the merge must be able
to spill. The 10M-line target of bench/merge (1 GB) scaled down: 3M lines (6 writer chunks, stored and sorted as a
10M day is) under 300 MB, where DuckDB's share is ~170 MiB. The invariants' counts once held four hash tables of the
day's lines in one statement and ran out of memory here, as at 10M lines with 1 GB."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill import pipeline
from kubebill.layout import Layout
from kubebill.reconcile import engine, rows
from kubebill.settings import Settings
from kubebill.store.local import LocalStore

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
    settings = Settings.from_env({"KUBEBILL_MEMORY_LIMIT": "300MB", "KUBEBILL_THREADS": "2"})
    summary = pipeline.merge(LocalStore(tmp_path), settings, days=[date(2025, 6, 17)])
    assert summary.merged == [bench.DAY]
    assert summary.rows == shape["bill_rows"] // 4 * 7  # each compute line split in 4, 3 lines passed per node-hour
    result = pq.read_table(tmp_path / Layout().result_parquet_key(bench.DAY), columns=["BilledCost"])
    billed = pq.read_table(tmp_path / bench.BILL_KEY, columns=["BilledCost"])
    assert pc.sum(result["BilledCost"]).as_py() == pytest.approx(pc.sum(billed["BilledCost"]).as_py(), rel=1e-12)
