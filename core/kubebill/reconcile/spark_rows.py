"""The day's RESULT rows widened in Spark, where the staged relations are, and read back as RESULT batches.

On one machine reconcile.rows widens the stages' narrow relations a chunk of lines at a time in DuckDB; on Spark
that would put the whole day through the driver. Here the same columns (reconcile.result_sql, from rows.result_columns)
run as one Spark SQL query, transpiled by the stages' own helper (reconcile.spark.spark_sql), so the cluster joins
and widens the rows and writes them as Parquet parts; the driver only streams those parts (`result_batches`) into
`rows.write_parquet`, which gives the day's object the result's schema and Parquet encodings, as on DuckDB.

    frame = result_frame(spark, estimate_currency="USD", relation=lambda name: f"{name}_20250617")
    frame.write.parquet(staging)  # Spark's parts
    rows.write_parquet(path, result_batches([staging]))

The rows are those of rows.Rows, but for the text of AllocatedMethodDetails' numbers (`AllocatedRatio`,
`UsageQuantity`): Spark writes a double as Java does (`1.0E-5` where DuckDB writes `1e-05`), the same JSON values.

pyspark is imported lazily (the `kubebill[spark]` extra): `result_batches` needs pyarrow alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from kubebill.reconcile import rows
from kubebill.reconcile.result_sql import result_select
from kubebill.reconcile.spark import spark_sql
from kubebill.schema import RESULT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def result_frame(
    spark: SparkSession, *, estimate_currency: str, relation: Callable[[str], str] = lambda n: n
) -> DataFrame:
    """The day's RESULT rows as a DataFrame over the relations `relation` names (views or tables of the session),
    cast to RESULT's Spark types in RESULT order (unsorted)."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    frame = spark.sql(spark_sql(result_select(estimate_currency=estimate_currency, relation=relation)))
    return frame.select(*[F.col(f.name).cast(f.dataType) for f in from_arrow_schema(RESULT).fields])


def result_batches(paths: Sequence[str]) -> Iterator[pa.RecordBatch]:
    """The RESULT rows of Spark-written Parquet (`paths`: part files, or folders of them as Spark writes them;
    local, or a URI pyarrow reads), streamed as batches of exactly RESULT's types, ROW_GROUP rows each but the
    last: rows.write_parquet writes them as the DuckDB path's batches, a row group each. ValueError names the
    file and column when a part is not the result's."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for name, source in _parts(paths):
        with pq.ParquetFile(source) as part:
            for batch in part.iter_batches(batch_size=rows.ROW_GROUP):
                pending.append(_conformed(batch, name))
                held += batch.num_rows
                while held >= rows.ROW_GROUP:
                    table = pa.Table.from_batches(pending, RESULT)
                    yield from table.slice(0, rows.ROW_GROUP).combine_chunks().to_batches()
                    pending = table.slice(rows.ROW_GROUP).to_batches()
                    held -= rows.ROW_GROUP
    if held:
        yield from pa.Table.from_batches(pending, RESULT).combine_chunks().to_batches()


def _parts(paths: Sequence[str]) -> Iterator[tuple[str, str | pa.NativeFile]]:
    """Each Parquet file of `paths` (its name, and what to read it from), a folder's parts in name order (Spark's
    `_SUCCESS`, `.crc` and other hidden or non-Parquet files skipped)."""
    for path in paths:
        filesystem, where = pafs.FileSystem.from_uri(path) if "://" in path else (pafs.LocalFileSystem(), path)
        info = filesystem.get_file_info(where)
        if info.type == pafs.FileType.Directory:
            found = filesystem.get_file_info(pafs.FileSelector(where))
            names = sorted(f.path for f in found if f.is_file and f.base_name.endswith(".parquet"))
            files = [n for n in names if not os.path.basename(n).startswith(("_", "."))]
        elif info.type == pafs.FileType.File:
            files = [where]
        else:
            raise ValueError(f"{path}: no Spark-written result parts there")
        for name in files:
            local = isinstance(filesystem, pafs.LocalFileSystem)
            yield name, name if local else filesystem.open_input_file(name)


def _conformed(batch: pa.RecordBatch, path: str) -> pa.RecordBatch:
    """`batch` in RESULT's columns and exact types (Spark's strings may read as large_string, its timestamps
    without the zone): ValueError naming the file and column when one is missing or will not cast."""
    columns = []
    for field in RESULT:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            raise ValueError(f"{path}: expected the RESULT column {field.name!r}, not among its {batch.num_columns}")
        column = batch.column(index)
        if column.type != field.type:
            if pa.types.is_timestamp(column.type) and column.type.tz is None:  # Spark's TIMESTAMP_NTZ: UTC here
                column = column.cast(pa.timestamp(column.type.unit, "UTC"))
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(
                    f"{path}: column {field.name!r}: expected {field.type}, found {column.type} ({exc})"
                ) from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=RESULT)
