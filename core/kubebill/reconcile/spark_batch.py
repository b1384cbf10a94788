"""Every day of a merge reconciled by one series of Spark jobs: the number of Spark writes does not grow with the
days.

Each stage's frame of a day is the stage's Spark SQL (reconcile.spark.stage_sql) reading that day's relations
(`d20250617__allocation_rows`, …) with the day's bound parameters; a stored stage writes the union of every day's
frame once, partitioned by `day`, and each day's readers read their own partition. The keymap's `mapInArrow` runs
once over every day's provider ids, the cluster check once over every day's split rows, the invariants once over
every day's lines and rows (a day is told apart by its own line ids and currencies); a day whose check fails fails
alone, named by the same message as on DuckDB, and the other days go on.

Once every day's checks ran, the RESULT rows of every good day are widened in Spark (reconcile.spark_rows: the
DuckDB writer's own column expressions, transpiled) and written once, partitioned by day. A day of the batch is then
a `StagedDay`: an `engine.Reconciliation` whose rows are its day's parts, re-encoded on the driver by
`reconcile.rows.write_parquet` (the result's schema and Parquet options), and whose small figures are counted by
the driver's DuckDB over that day's partitions; the pipeline commits it through the same ledger and conditional
writes as on DuckDB.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kubebill.errors import InvariantViolation
from kubebill.reconcile import engine, invariants, policies, spark, stages
from kubebill.reconcile.spark_staging import Staging, staging
from kubebill.schema import RESULT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Bits of a batch's line ids left to a day's own (`lid`, its line number in the day's inputs): the invariants of
# every day are checked at once over lid + (days since 1970 << DAY_SHIFT).
DAY_SHIFT = 40
_KEYS = pa.schema([("cluster", pa.string()), ("source", pa.string()), ("key", pa.string())])


@dataclass(frozen=True)
class DayInputs:
    """A day's inputs: ALLOCATION rows and COST rows (Arrow objects or datasets of Parquet files), and the
    allocation export of each (cluster, source)."""

    allocation: Any
    cost: Any
    allocation_keys: Mapping[tuple[str, str], str] = field(default_factory=dict)


# The relations reconcile.invariants reads.
_CHECKED = ("bill_lines", "allocated_rows", "passed_lines")


def prefix(day: date) -> str:
    """The prefix of a day's relations in a batch's Spark catalog."""
    return f"d{day:%Y%m%d}__"


class SparkBatch:
    """The days of `inputs` reconciled together; `day(d)` is then d's StagedDay, or raises d's own error."""

    def __init__(
        self,
        inputs: Mapping[date, DayInputs],
        *,
        options: engine.Options,
        spark: SparkSession,
        staged: Staging,
    ) -> None:
        self.inputs = dict(sorted(inputs.items()))
        self.options = options
        self.spark = spark
        self.staging = staged
        self.failed: dict[date, Exception] = {}  # a day's own error (cluster check, invariants)
        self.schemas: dict[str, pa.Schema] = {}  # of each stored relation: a day without rows reads it empty
        self.policy_values: dict[date, pa.Table] = {}  # each day's (reconcile.policies), small: kept on the driver
        self._views: list[str] = []
        try:
            self._run()
        finally:
            for name in reversed(self._views):
                self.spark.catalog.dropTempView(name)

    # --- Spark ---
    def _view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _run(self) -> None:
        days = list(self.inputs)
        for day, found in self.inputs.items():
            self._view(prefix(day) + "allocation_in", self._frame(found.allocation, f"{day}/allocation_in"))
            self._view(prefix(day) + "cost_in", self._numbered(found.cost, day))
            keys = pa.table(
                {
                    "cluster": [c for c, _ in found.allocation_keys],
                    "source": [s for _, s in found.allocation_keys],
                    "key": list(found.allocation_keys.values()),
                },
                schema=_KEYS,
            )
            self._view(prefix(day) + "allocation_keys", self._frame(keys, f"{day}/allocation_keys"))
        for stage in stages.STAGES:
            frames = {}
            for day in days:
                bound = engine._day_bounds(day) | self.options.parameters()
                bound = {p: bound[p] for p in stages.parameters(stage.name)}
                frames[day] = self.spark.sql(spark.stage_sql(stage.name, prefix(day)), args=bound or None)
            if stage.name in stages.OUTPUTS or len(spark.READERS.get(stage.name, ())) > 1:
                frames = self._stored(stage.name, frames)
            for day, frame in frames.items():
                self._view(prefix(day) + stage.name, frame)
            if stage.name == "provider_ids":
                self._keymap(frames)
            elif stage.name == "split_rows":
                self._check_clusters()
            elif stage.name == "result_rows":
                self._policy_values()
        self._check_invariants()
        self._widen()

    def _stored(self, name: str, frames: Mapping[date, DataFrame]) -> dict[date, DataFrame]:
        """Every day's rows of the relation written once, partitioned by day, and each day's read back: a leaf of
        the next stages' plans. Left as views, every plan inlines its readers' (33 stages deep, the analyser ran
        out of heap); Spark 4.3 fails on a union of two local checkpoints sharing columns (`key not found: cps#…`)."""
        from pyspark.sql import functions as F

        union = functools.reduce(
            lambda a, b: a.unionByName(b), [frame.withColumn("day", F.lit(str(d))) for d, frame in frames.items()]
        )
        path = self.staging.path(name)
        union.write.partitionBy("day").mode("overwrite").parquet(path)
        schema = next(iter(frames.values())).schema
        self.schemas[name] = _arrow_schema(schema)
        stored = self.spark.read.schema(union.schema).parquet(path)
        self._view("all__" + name, stored)
        return {d: stored.where(F.col("day") == str(d)).drop("day") for d in frames}

    def _keymap(self, provider_ids: Mapping[date, DataFrame]) -> None:
        """`keymap(raw, key)` once for every day's provider ids, by the clouds' normalisers in mapInArrow."""
        raws = functools.reduce(lambda a, b: a.unionByName(b), provider_ids.values()).select("raw").distinct()
        found = raws.mapInArrow(spark._keymap_batches, "raw string, key string")
        path = self.staging.path("keymap")
        found.write.mode("overwrite").parquet(path)
        keymap = self.spark.read.schema(found.schema).parquet(path)
        for day in provider_ids:
            self._view(prefix(day) + "keymap", keymap)

    def _check_clusters(self) -> None:
        """A node (or disk, LB) in two clusters' exports fails its day: the first such key of each day, named as the
        DuckDB path names it (engine.cluster_conflict)."""
        found = self.spark.sql(
            """SELECT day, skey, clusters, nodes FROM (
                 SELECT day, skey, array_sort(collect_set(cluster)) AS clusters, array_sort(collect_set(node)) AS nodes,
                        row_number() OVER (PARTITION BY day ORDER BY skey) AS n
                 FROM all__split_rows GROUP BY day, skey HAVING count(DISTINCT cluster) > 1)
            WHERE n = 1"""
        ).collect()
        for day_text, key, clusters, nodes in found:
            day = date.fromisoformat(day_text)
            keys = self.inputs[day].allocation_keys
            files = sorted(k for (c, _), k in keys.items() if c in clusters)
            self.failed.setdefault(day, engine.cluster_conflict(key, list(clusters), list(nodes), files))

    def _policy_values(self) -> None:
        """`policy_values` of each day (reconcile.policies, from its targets and lines), staged as one file."""
        tables = []
        for day in self.inputs:
            names = {n: prefix(day) + n for n in ("targets", "bill_lines", "result_rows")}
            found = policies.day_values(spark.SparkQueries(self.spark, names), self.options)
            self.policy_values[day] = found
            tables.append(found.append_column("day", pa.array([str(day)] * found.num_rows, pa.string())))
        path = self.staging.scratch("policy_values.parquet")
        pq.write_table(pa.concat_tables(tables), path)
        from pyspark.sql import functions as F

        stored = self.spark.read.parquet(self.staging.input(path, "in/policy_values.parquet"))
        for day in self.inputs:
            self._view(prefix(day) + "policy_values", stored.where(F.col("day") == str(day)).drop("day"))

    def _check_invariants(self) -> None:
        """The invariants (reconcile.invariants) of every day at once: each day's line ids shifted apart and its
        currencies suffixed with it. When they fail, each day is checked alone, so a broken day fails with the
        DuckDB path's message and the others go on."""
        from pyspark.sql import functions as F

        ok = [str(d) for d in self.inputs if d not in self.failed]
        if not ok:
            return
        for name in _CHECKED:
            frame = self.spark.table("all__" + name).where(F.col("day").isin(ok))
            shift = F.unix_date(F.to_date("day")).cast("bigint") * F.lit(1 << DAY_SHIFT)
            frame = frame.withColumn("lid", F.col("lid") + shift)
            frame = frame.withColumn("BillingCurrency", F.concat_ws(" on ", "BillingCurrency", "day"))
            self._view("batch__" + name, frame)
        every_day = spark.SparkQueries(self.spark, {n: "batch__" + n for n in _CHECKED})
        try:
            invariants.check(every_day)  # type: ignore[arg-type]
            return
        except InvariantViolation:
            pass
        for day in self.inputs:
            if day in self.failed:
                continue
            names = {n: prefix(day) + n for n in _CHECKED}
            try:
                invariants.check(spark.SparkQueries(self.spark, names))  # type: ignore[arg-type]
            except InvariantViolation as exc:
                self.failed[day] = exc

    def _widen(self) -> None:
        """The RESULT rows of every day whose checks held, widened in Spark (reconcile.spark_rows, the DuckDB writer's
        own column expressions) and written once, partitioned by day: the driver only re-encodes a day's parts."""
        from pyspark.sql import functions as F

        from kubebill.reconcile.spark_rows import result_frame

        currency = self.options.estimate_currency
        frames = [
            result_frame(self.spark, estimate_currency=currency, relation=functools.partial(_named, day)).withColumn(
                "day", F.lit(str(day))
            )
            for day in self.inputs
            if day not in self.failed
        ]
        if frames:
            union = functools.reduce(lambda a, b: a.unionByName(b), frames)
            union.write.partitionBy("day").mode("overwrite").parquet(self.staging.path("result"))

    def _frame(self, data: Any, name: str) -> DataFrame:
        """`data` (an Arrow table or a dataset of Parquet files) as a DataFrame: a dataset's files read where the
        executors see them (staging.input), an Arrow object staged as Parquet first."""
        if isinstance(data, ds.FileSystemDataset) and isinstance(data.format, ds.ParquetFileFormat) and data.files:
            urls = [self.staging.input(p, f"in/{name}/{i:05d}.parquet") for i, p in enumerate(data.files)]
            return self.spark.read.schema(spark._spark_schema(data.schema)).parquet(*urls)
        table = data.to_table() if isinstance(data, ds.Dataset) else data
        path = self.staging.scratch(name + ".parquet")
        pq.write_table(table, path)
        return self.spark.read.parquet(self.staging.input(path, f"in/{name}.parquet"))

    def _numbered(self, cost: Any, day: date) -> DataFrame:
        """`cost` with `line` as the DuckDB path numbers it: the Parquet files' own row numbers offset by the rows of
        the files before (an Arrow object: its row number from 1), so both engines give the lines the same lid."""
        from pyspark.sql import functions as F

        if isinstance(cost, ds.FileSystemDataset) and isinstance(cost.format, ds.ParquetFileFormat) and cost.files:
            schema, parts, offset = spark._spark_schema(cost.schema), [], 0
            for path in cost.files:
                url = self.staging.input(path, f"in/cost/{os.path.basename(path)}")
                frame = self.spark.read.schema(schema).parquet(url)
                parts.append(frame.select((F.lit(offset) + F.col("_metadata.row_index")).alias("line"), "*"))
                offset += pq.read_metadata(path).num_rows
            return functools.reduce(lambda a, b: a.unionByName(b), parts)
        table = cost.to_table() if isinstance(cost, ds.Dataset) else cost
        table = table.add_column(0, "line", pa.array(range(1, table.num_rows + 1), pa.int64()))
        return self._frame(table, f"{day}/cost_in")

    # --- the days ---
    def day(self, day: date) -> StagedDay:
        """The day's reconciliation, read from its partitions (raises the day's own error)."""
        if day in self.failed:
            raise self.failed[day]
        found = self.inputs[day]
        return StagedDay(self, day, found.allocation, found.cost)


class StagedDay(engine.Reconciliation):
    """One day of a batch: its RESULT rows the parts Spark widened (`batches`), re-encoded by reconcile.rows into the
    day's object; the day's small figures (rows, stats, the policies' unmatched selectors, the clouds' split defects
    and overlap) counted by the driver's DuckDB over the day's partitions of the relations they read (FIGURES)."""

    # the staged relations the figures read (engine.Reconciliation's rows, stats, _check_cloud_splits; policies')
    FIGURES = ("bill_lines", "estimates", "allocated_rows", "passed_lines", "shared_targets")

    def __init__(self, batch: SparkBatch, day: date, allocation: Any, cost: Any) -> None:
        self.day = day
        self.options = batch.options
        self.parts = batch.staging.fetch(f"result/day={day}")
        self.con = engine.connect(self.options)
        try:
            self.con.register("policy_values", batch.policy_values[day])
            for name in self.FIGURES:
                files = batch.staging.fetch(f"{name}/day={day}")
                if files:
                    listed = ", ".join(f"'{engine._sql_text(f)}'" for f in files)
                    self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM read_parquet([{listed}])')
                else:
                    self.con.register(name, batch.schemas[name].empty_table())
            # the inputs for the day's checks that read them beside the staged relations (the clouds' split
            # defects, the clusters both sources cover): counted by DuckDB on the driver, as on the DuckDB path
            engine._register(self.con, "allocation_in", allocation)
            engine._register(self.con, "cost_in", cost, numbered=True)
            self.notes: dict[str, int] = {}
            self._check_cloud_splits(self.con)
            self.unmatched = policies.unmatched(self.con, self.options)
        except BaseException:
            self.con.close()
            raise

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The day's RESULT rows as Spark widened them, streamed from its parts in batches of rows.ROW_GROUP."""
        from kubebill.reconcile.spark_rows import result_batches

        return result_batches(self.parts)

    def table(self) -> pa.Table:
        """The day's RESULT rows (in the order of Spark's parts)."""
        return pa.Table.from_batches(list(self.batches()), RESULT)


class SparkReconciliation(StagedDay):
    """One UTC day reconciled by Spark alone (a batch of one, its own staging folder removed on close): the
    engine face of `pipeline` for a day retried alone, and of the tests."""

    def __init__(
        self,
        allocation: Any,
        cost: Any,
        *,
        day: date,
        options: engine.Options | None = None,
        allocation_keys: Mapping[tuple[str, str], str] | None = None,
        spark_session: SparkSession | None = None,
        new_staging: Callable[[], Staging] | None = None,
    ) -> None:
        options = options or engine.Options()
        session = spark_session or spark.session()
        self.staged = new_staging() if new_staging else local_staging(session, options)
        try:
            inputs = {day: DayInputs(allocation, cost, allocation_keys or {})}
            batch = SparkBatch(inputs, options=options, spark=session, staged=self.staged)
            if day in batch.failed:
                raise batch.failed[day]
            super().__init__(batch, day, allocation, cost)
        except BaseException:
            self.staged.remove()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.staged.remove()


def local_staging(session: SparkSession, options: engine.Options) -> Staging:
    """A staging folder on the driver's disk (under the options' temp directory)."""
    import tempfile

    return staging(session.sparkContext.master, parent=options.temp_directory or tempfile.gettempdir())


def run(
    inputs: Mapping[date, DayInputs], *, options: engine.Options, spark_session: SparkSession, staged: Staging
) -> dict[date, Callable[[], StagedDay]]:
    """Every day of `inputs` in one SparkBatch; for each day, what makes its StagedDay (or raises its error)."""
    batch = SparkBatch(inputs, options=options, spark=spark_session, staged=staged)
    return {day: functools.partial(batch.day, day) for day in batch.inputs}


def _named(day: date, name: str) -> str:
    return prefix(day) + name


def _arrow_schema(schema: Any) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema, timezone="UTC")


__all__ = ["DayInputs", "SparkBatch", "SparkReconciliation", "StagedDay", "run"]
