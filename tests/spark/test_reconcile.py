"""The invariant report computed in Spark: the same check and message as on DuckDB. (The reconcile scenarios on both
engines, and the cluster check's message, are in test_batch: a one-day and a three-day Spark run.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from kubebill.errors import InvariantViolation
from kubebill.reconcile import invariants
from kubebill.reconcile import spark as spark_engine
from kubebill.reconcile.engine import Reconciliation
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, line, split_passed_lines

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


# A broken split each, as the line checks find it: a cost lost, a line left without rows (found by the counts), a
# line passed through whole and split too.
_BROKEN = {
    "cost": ("UPDATE result_rows SET BilledCost = BilledCost * 0.5", "row 7 .*BilledCost"),
    "lost": ("DELETE FROM result_rows", "row 7 .*produced no row"),
    "twice": (split_passed_lines(), "row 3 .*passed through whole .* split into 1 rows"),
}


@pytest.mark.parametrize("broken", sorted(_BROKEN))
def test_invariant_report_is_the_same_computed_in_spark(spark: Any, tmp_path: Path, broken: str) -> None:
    """A broken split found by the same check, run in Spark, with the same message."""
    change, message = _BROKEN[broken]
    lines = cost([line("i-0001", 1.0, row=7), line("bucket", 2.0, row=3)])
    run = Reconciliation(allocation([alloc_row()]), lines, day=DAY.date())
    run.con.execute(change)
    with pytest.raises(InvariantViolation, match=message) as duckdb:
        invariants.check(run.con)
    for name in ("bill_lines", "result_rows", "allocated_rows", "passed_lines"):
        pq.write_table(run.con.sql(f"SELECT * FROM {name}").to_arrow_table(), tmp_path / f"{name}.parquet")
        spark.read.parquet(str(tmp_path / f"{name}.parquet")).createOrReplaceTempView(name)
    run.close()
    try:
        with pytest.raises(InvariantViolation) as on_spark:
            invariants.check(spark_engine.SparkQueries(spark))  # type: ignore[arg-type]
    finally:
        for name in ("bill_lines", "result_rows", "allocated_rows", "passed_lines"):
            spark.catalog.dropTempView(name)
    assert str(on_spark.value) == str(duckdb.value)


def test_broadcast_joins_are_off_unless_the_session_was_given_a_threshold(spark: Any) -> None:
    """The engine's default (reconcile.spark.SESSION_DEFAULTS: a 10M-line day's broadcast did not fit a 2 GB
    driver), and a threshold the caller gives kept."""
    static, adaptive = "spark.sql.autoBroadcastJoinThreshold", "spark.sql.adaptive.autoBroadcastJoinThreshold"
    assert (spark.conf.get(static), spark.conf.get(adaptive)) == ("-1", "-1")
    try:
        again = spark_engine.session(conf={static: "1048576"})
        assert again is spark
        assert (spark.conf.get(static), spark.conf.get(adaptive)) == ("1048576", "-1")
    finally:
        spark.conf.set(static, "-1")
