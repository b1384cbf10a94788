"""reconcile.spark_rows: the RESULT rows widened in Spark from a SparkReconciliation's staged relations are the rows
the DuckDB writer makes of the same relations, and come back to the driver as RESULT batches. One reconciled day
(every kind of row, the policies' moved rows too) serves every test: each SparkReconciliation costs tens of jobs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kubebill.reconcile import rows, spark_batch
from kubebill.reconcile.result_sql import READS
from kubebill.reconcile.spark_rows import result_batches, result_frame
from kubebill.schema import RESULT
from tests.reconcile.tables import DAY
from tests.reconcile.test_result_sql import assert_same_rows, scenarios

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def day(spark: Any) -> Iterator[tuple[pa.Table, str]]:
    """The DuckDB writer's rows (rows.Rows) of a SparkReconciliation's staged relations, and its estimate currency;
    those relations are the session's views `d17_<relation>` (day-qualified names, as a caller of several days has
    them) meanwhile."""
    a, c, options = scenarios()["every-rule-policies"]
    run = spark_batch.SparkReconciliation(a, c, day=DAY.date(), options=options, spark_session=spark)
    try:
        for relation in READS:  # Spark's staged relations (one day's partition: its `day` column is not read)
            path = os.path.join(str(run.staged.local), relation)
            spark.read.parquet(path).createOrReplaceTempView(f"d17_{relation}")
        for name in ("allocated_targets",):  # the writer's relation no figure reads
            files = os.path.join(str(run.staged.local), name, f"day={DAY.date()}", "*.parquet")
            run.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{files}')")
        writer = rows.Rows(run.con, estimate_currency=options.estimate_currency, chunks=run._chunks)
        yield writer.table(), options.estimate_currency
    finally:
        for relation in READS:
            spark.catalog.dropTempView(f"d17_{relation}")
        run.close()


def _json_values(table: pa.Table) -> pa.Table:
    """AllocatedMethodDetails as its JSON values: Spark writes a double as Java does (`1.0E-5`), DuckDB `1e-05`."""
    index = table.schema.get_field_index("AllocatedMethodDetails")
    values = [None if v is None else json.dumps(json.loads(v)) for v in table.column(index).to_pylist()]
    return table.set_column(index, table.schema.field(index), pa.array(values, pa.string()))


def test_result_frame_gives_the_rows_of_the_duckdb_writer(
    spark: Any, day: tuple[pa.Table, str], tmp_path: Path
) -> None:
    expected, currency = day
    frame = result_frame(spark, estimate_currency=currency, relation=lambda n: f"d17_{n}")
    assert [f.name for f in frame.schema.fields] == RESULT.names
    frame.write.parquet(str(tmp_path / "parts"))
    found = pa.Table.from_batches(list(result_batches([str(tmp_path / "parts")])), RESULT)
    kinds = set(found["x_K8sAllocation"].to_pylist())
    assert {"workload", "idle", "shared", "estimated", "not_kubernetes", "external"} <= kinds
    assert "idle-share-weighted" in set(found["AllocatedMethodId"].to_pylist())
    assert_same_rows(_json_values(expected), _json_values(found))


def test_result_batches_are_result_batches_of_row_group_rows_written_as_duckdbs(
    spark: Any, day: tuple[pa.Table, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark's parts (several, of uneven sizes) come back as batches of exactly RESULT's types and ROW_GROUP rows,
    and rows.write_parquet writes them with the result's schema and a row group each."""
    expected, currency = day
    monkeypatch.setattr(rows, "ROW_GROUP", 7)
    frame = result_frame(spark, estimate_currency=currency, relation=lambda n: f"d17_{n}").repartition(3)
    frame.write.parquet(str(tmp_path / "parts"))
    parts = sorted((tmp_path / "parts").glob("part-*.parquet"))
    assert len(parts) == 3 and (tmp_path / "parts" / "_SUCCESS").exists()
    batches = list(result_batches([str(p) for p in parts]))
    assert [b.num_rows for b in batches[:-1]] == [7] * (len(batches) - 1) and 0 < batches[-1].num_rows <= 7
    assert sum(b.num_rows for b in batches) == expected.num_rows
    for batch in batches:
        assert batch.schema.equals(RESULT)
        assert [batch.column(f.name).type for f in RESULT] == RESULT.types
        assert batch.schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
    rows.write_parquet(str(tmp_path / "result.parquet"), iter(batches))
    written = pq.ParquetFile(tmp_path / "result.parquet")
    assert written.schema_arrow.equals(RESULT) and written.metadata.num_row_groups == len(batches)
