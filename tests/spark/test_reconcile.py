"""The reconcile scenarios on both engines: the same RESULT rows, the same errors and invariant messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kubebill.errors import InputError, InvariantViolation
from kubebill.reconcile import invariants
from kubebill.reconcile import spark as spark_engine
from kubebill.reconcile.engine import Options, Reconciliation, reconcile
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line
from tests.reconcile.test_stages import _day
from tests.spark.compare import assert_same_rows

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


def _on_spark(spark: Any, a: pa.Table, c: pa.Table, options: Options) -> pa.Table:
    run = spark_engine.SparkReconciliation(a, c, day=DAY.date(), options=options, spark=spark)
    try:
        return run.table()
    finally:
        run.close()


def _scenarios() -> dict[str, tuple[pa.Table, pa.Table, Options]]:
    """The day touching every rule (DuckDB's own tests hold the rules; each Spark run costs seconds of jobs), and
    rows alike but for which key part is NULL: the target ids must keep them apart, which Spark's xxhash64 alone
    (skipping NULLs) would not."""
    a, c = _day()
    nulls = allocation(
        [
            alloc_row(controller=None, pod="p", container="p"),
            alloc_row(controller="p", pod="p", container=None),
            idle_row(),
        ]
    )
    return {
        "every-rule-weighted": (a, c, Options(shared_spread="weighted")),
        "null-key-parts": (nulls, cost([line("i-0001", 3.0)]), Options()),
    }


@pytest.mark.parametrize("name", list(_scenarios()))
def test_same_rows_on_both_engines(spark: Any, name: str) -> None:
    a, c, options = _scenarios()[name]
    expected = reconcile(a, c, day=DAY.date(), options=options)
    assert expected.num_rows
    assert_same_rows(expected, _on_spark(spark, a, c, options))


def test_same_node_in_two_clusters_same_message(spark: Any) -> None:
    a = allocation([alloc_row(cluster="blue"), alloc_row(cluster="green", namespace="api")])
    c = cost([line("i-0001", 1.0)])
    with pytest.raises(InputError) as duckdb:
        reconcile(a, c, day=DAY.date())
    with pytest.raises(InputError) as spark_error:
        _on_spark(spark, a, c, Options())
    assert str(spark_error.value) == str(duckdb.value)


def test_invariant_report_is_the_same_computed_in_spark(spark: Any, tmp_path: Path) -> None:
    """A broken split (half a line's cost lost) found by the same check, run in Spark, with the same message."""
    run = Reconciliation(allocation([alloc_row()]), cost([line("i-0001", 1.0, row=7)]), day=DAY.date())
    run.con.execute("UPDATE result_rows SET BilledCost = BilledCost * 0.5")
    with pytest.raises(InvariantViolation) as duckdb:
        invariants.check(run.con)
    for name in ("bill_lines", "result_rows", "allocated_rows"):
        pq.write_table(run.con.sql(f"SELECT * FROM {name}").to_arrow_table(), tmp_path / f"{name}.parquet")
        spark.read.parquet(str(tmp_path / f"{name}.parquet")).createOrReplaceTempView(name)
    run.close()
    try:
        with pytest.raises(InvariantViolation) as on_spark:
            invariants.check(spark_engine.SparkQueries(spark))  # type: ignore[arg-type]
    finally:
        for name in ("bill_lines", "result_rows", "allocated_rows"):
            spark.catalog.dropTempView(name)
    assert str(on_spark.value) == str(duckdb.value) and "row 7" in str(duckdb.value)
