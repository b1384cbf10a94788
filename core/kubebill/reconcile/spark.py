"""The merge's SQL stages on Apache Spark (`KUBEBILL_ENGINE=spark`): the same stage files as on DuckDB, transpiled
to Spark SQL by sqlglot, over the staged bill lines and the allocation exports as Parquet.

Spark runs every stage, the keymap (the clouds' Python normalisers, in `mapInArrow`), the cluster check and the
invariants. It writes the relations the writer reads (`reconcile.stages.OUTPUTS`) to a staging folder as Parquet;
only once the invariants hold there does the day become a `Reconciliation` whose DuckDB reads those files (the
day's counts and checks). Its RESULT rows are widened in Spark by the DuckDB writer's own column expressions
(`reconcile.spark_rows`) and written as Parquet parts, which the driver re-encodes with `reconcile.rows`' writer (same
schema, same Parquet encodings); the pipeline commits the day through the same ledger and conditional writes.

pyspark is imported here and in reconcile.spark_rows only, lazily (the `kubebill[spark]` extra; never in the
functions' artifacts). The session is Spark's own `getOrCreate()`: under spark-submit (EMR Serverless, Dataproc
Serverless, Synapse, Databricks) the service's, on a workstation `local[*]`.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kubebill import log
from kubebill.errors import InputError
from kubebill.keys import match_key
from kubebill.reconcile import engine, invariants, policies, rows, stages

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

LOG = log.get("reconcile.spark")

# Hadoop's file system scheme for each store scheme (the connectors: hadoop-aws, hadoop-azure, gcs-connector).
HADOOP_SCHEMES = {"s3": "s3a", "az": "abfss", "gs": "gs", "file": "file"}
# Spark's defaults that differ from DuckDB where the stages rely on DuckDB's: a division by zero or a failed cast is
# NULL (ANSI mode raises), every time is UTC, timestamps are written as Parquet's own (not INT96).
SESSION_CONF = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def hadoop_path(url: str) -> str:
    """A store URL (`s3://b/p`, `az://container/p`, `gs://b/p`, a path) as Hadoop names it. An `az://` URL needs the
    account: `abfss://container@<account>.dfs.core.windows.net/p` from AZURE_STORAGE_ACCOUNT_NAME."""
    if "://" not in url:
        return "file://" + os.path.abspath(url)
    scheme, rest = url.split("://", 1)
    target = HADOOP_SCHEMES.get(scheme.lower())
    if target is None:
        raise InputError(f"{url}: the Spark engine reads s3://, az://, gs:// or local stores, not {scheme}://")
    if target == "abfss":
        account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME", "").strip()
        if not account:
            raise InputError(f"{url}: the Spark engine needs AZURE_STORAGE_ACCOUNT_NAME to name the abfss:// account")
        container, _, path = rest.partition("/")
        return f"abfss://{container}@{account}.dfs.core.windows.net/{path}"
    return f"{target}://{rest}"


def java_found(environ: Mapping[str, str] | None = None) -> str | None:
    """The `java` Spark would launch: JAVA_HOME's when set, else the one on PATH; None when there is none."""
    env = os.environ if environ is None else environ
    home = env.get("JAVA_HOME", "").strip()
    if home:
        candidate = os.path.join(home, "bin", "java")
        return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which("java", path=env.get("PATH", ""))


def require() -> None:
    """InputError naming what to install when the Spark engine cannot start: pyspark or a Java runtime."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        raise InputError(
            "--engine spark needs pyspark: run pip install 'kubebill[spark]' (or use --engine duckdb)"
        ) from None
    if java_found() is None:
        raise InputError(
            "--engine spark needs a Java runtime (17 or newer): none on PATH or in JAVA_HOME; install one, e.g. "
            "apt-get install default-jre-headless (or use --engine duckdb)"
        )


def session(*, master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The running SparkSession, else a new one (`master`, default `local[*]` unless spark-submit said otherwise;
    `conf` added), with SESSION_CONF. Its Python workers run this interpreter unless PYSPARK_PYTHON says otherwise
    (the keymap's normalisers are kubebill's)."""
    require()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("kubebill-merge")
    if master:
        builder = builder.master(master)
    for key, value in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in SESSION_CONF.items():  # a session made before this one kept its own: these are the stages'
        spark.conf.set(key, value)
    return spark


@cache
def stage_sql(name: str) -> str:
    """The stage's Spark SQL: its parameters are Spark's named markers (`:day_start`), bound by `spark.sql(args=)`."""
    return spark_sql(stages.sql(name))


def spark_sql(text: str) -> str:
    """A SELECT in kubebill's DuckDB dialect as Spark SQL: sqlglot's transpilation, and the fixes where the engines'
    functions differ beyond what sqlglot knows (epoch's fraction, xxhash64's NULLs). The stages and the RESULT
    widening (reconcile.spark_rows) both go through it."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(text, read="duckdb")
    for epoch in list(tree.find_all(exp.TimeToUnix)):  # DuckDB's epoch() keeps the fraction; unix_timestamp drops it
        epoch.replace(
            exp.Div(
                this=exp.Anonymous(this="unix_micros", expressions=[epoch.this]),
                expression=exp.Literal.number("1000000.0"),
            )
        )
    for call in list(tree.find_all(exp.Anonymous)):
        if call.name.lower() == "xxhash64":
            call.replace(_null_safe_hash(call))
    return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _null_safe_hash(call: Any) -> Any:
    """Spark's xxhash64 skips NULL arguments, so (a, NULL) and (NULL, a) would share a target id: each argument is
    hashed with its own IS NULL flag, as DuckDB's hash keeps NULLs apart."""
    from sqlglot import exp

    parts: list[exp.Expression] = []
    for argument in call.expressions:
        parts += [argument, exp.Is(this=argument.copy(), expression=exp.Null())]
    return exp.Anonymous(this="xxhash64", expressions=parts)


# The stages reading each relation: one read by two or more is stored (a view's plan is inlined into every reader).
READERS: dict[str, list[str]] = {}
for _stage in stages.STAGES:
    for _read in _stage.reads:
        READERS.setdefault(_read, []).append(_stage.name)


@dataclass(frozen=True)
class _Result:
    rows: list[tuple[Any, ...]]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class SparkQueries:
    """The DuckDB-connection face the invariants need (`execute(sql).fetchall()`), answered by Spark: the same
    checks, transpiled, computed where the rows are."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def execute(self, query: str, parameters: object = None) -> _Result:
        import sqlglot

        if parameters:
            raise ValueError("SparkQueries binds no parameters")
        text = sqlglot.transpile(query, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
        return _Result([tuple(row) for row in self.spark.sql(text).collect()])


def _keymap_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow: each provider id and its match key (kubebill.keys), where it has one."""
    for batch in batches:
        pairs = [(raw, match_key(raw)) for raw in batch.column("raw").to_pylist()]
        found = [(r, k) for r, k in pairs if k]
        yield pa.record_batch(
            [pa.array([p[0] for p in found], pa.string()), pa.array([p[1] for p in found], pa.string())],
            names=["raw", "key"],
        )


class SparkReconciliation(engine.Reconciliation):
    """One UTC day reconciled by Spark; its RESULT rows widened by Spark from the staged relations (`batches`).
    `table()` (the tests' sorted rows) still widens them with DuckDB on the driver."""

    def __init__(
        self,
        allocation: Any,
        cost: Any,
        *,
        day: date,
        options: engine.Options | None = None,
        allocation_keys: Mapping[tuple[str, str], str] | None = None,
        spark: SparkSession | None = None,
    ) -> None:
        self.day = day
        self.options = options or engine.Options()
        self.spark = spark or session()
        parent = self.options.temp_directory or tempfile.gettempdir()
        os.makedirs(parent, exist_ok=True)
        self.staging = tempfile.mkdtemp(prefix=f"kubebill-spark-{day.isoformat()}-", dir=parent)
        try:
            self._run(allocation, cost, allocation_keys or {})
            self.con = engine.connect(self.options)
            for name in stages.OUTPUTS:
                path = os.path.join(self.staging, name)
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW \"{name}\" AS SELECT * FROM read_parquet('{_quoted(path)}/*.parquet')"
                )
            # the inputs for the day's checks that read them beside the staged relations (the clouds' split
            # defects, the clusters both sources cover): counted by DuckDB on the driver, as on the DuckDB path
            engine._register(self.con, "allocation_in", allocation)
            engine._register(self.con, "cost_in", cost, numbered=True)
            self.notes: dict[str, int] = {}
            self._check_cloud_splits(self.con)
            self._mark_passed(self.con)
            self.unmatched = policies.unmatched(self.con, self.options)
            self._rows = rows.Rows(self.con, estimate_currency=self.options.estimate_currency, chunks=self._chunks())
        except BaseException:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise

    def _run(self, allocation: Any, cost: Any, allocation_keys: Mapping[tuple[str, str], str]) -> None:
        spark = self.spark
        views: list[str] = []

        def view(name: str, frame: DataFrame) -> None:
            frame.createOrReplaceTempView(name)
            views.append(name)

        try:
            view("allocation_in", self._frame(allocation, "allocation_in"))
            view("cost_in", self._numbered(cost))
            keys = pa.table(
                {
                    "cluster": [c for c, _ in allocation_keys],
                    "source": [s for _, s in allocation_keys],
                    "key": list(allocation_keys.values()),
                },
                schema=pa.schema([("cluster", pa.string()), ("source", pa.string()), ("key", pa.string())]),
            )
            view("allocation_keys", self._frame(keys, "allocation_keys"))
            parameters = engine._day_bounds(self.day) | self.options.parameters()
            for stage in stages.STAGES:
                bound = {p: parameters[p] for p in stages.parameters(stage.name)}
                frame = spark.sql(stage_sql(stage.name), args=bound or None)
                stored = stage.name in stages.OUTPUTS or len(READERS.get(stage.name, ())) > 1
                view(stage.name, self._stored(stage.name, frame) if stored else frame)
                if stage.name == "provider_ids":
                    view("keymap", self._stored("keymap", frame.mapInArrow(_keymap_batches, "raw string, key string")))
                elif stage.name == "split_rows":
                    self._check_clusters()
                elif stage.name == "result_rows":
                    found = policies.day_values(SparkQueries(spark), self.options)
                    view("policy_values", self._stored("policy_values", self._frame(found, "policy_values")))
            invariants.check(SparkQueries(spark))  # type: ignore[arg-type]
        finally:
            for name in reversed(views):
                spark.catalog.dropTempView(name)

    def _stored(self, name: str, frame: DataFrame) -> DataFrame:
        """The stage's rows written to the staging folder as Parquet and read back: a leaf of the next stages'
        plans. Left as views, every plan inlines its readers' (33 stages deep, the analyser ran out of heap);
        Spark 4.3 fails on a union of two local checkpoints sharing columns (`key not found: cps#…`)."""
        if name == "result_rows":  # the writer reads it a chunk of lines at a time (see engine.SORT_FROM_CHUNKS)
            frame = frame.sortWithinPartitions("lid")
        path = hadoop_path(os.path.join(self.staging, name))
        frame.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)

    def _frame(self, data: Any, name: str) -> DataFrame:
        """`data` (an Arrow table or a dataset of Parquet files) as a DataFrame: a local dataset's files read where
        they are, an Arrow object staged as Parquet first."""
        if isinstance(data, ds.FileSystemDataset) and isinstance(data.format, ds.ParquetFileFormat) and data.files:
            return self.spark.read.schema(_spark_schema(data.schema)).parquet(*[hadoop_path(p) for p in data.files])
        table = data.to_table() if isinstance(data, ds.Dataset) else data
        path = os.path.join(self.staging, "in", name + ".parquet")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(table, path)
        return self.spark.read.parquet(hadoop_path(path))

    def _numbered(self, cost: Any) -> DataFrame:
        """`cost` with `line` as the DuckDB path numbers it: the Parquet files' own row numbers offset by the rows of
        the files before (an Arrow object: its row number from 1), so both engines give the lines the same lid."""
        from pyspark.sql import functions as F

        if isinstance(cost, ds.FileSystemDataset) and isinstance(cost.format, ds.ParquetFileFormat) and cost.files:
            schema, parts, offset = _spark_schema(cost.schema), [], 0
            for path in cost.files:
                frame = self.spark.read.schema(schema).parquet(hadoop_path(path))
                parts.append(frame.select((F.lit(offset) + F.col("_metadata.row_index")).alias("line"), "*"))
                offset += pq.read_metadata(path).num_rows
            return functools.reduce(lambda a, b: a.unionByName(b), parts)
        table = cost.to_table() if isinstance(cost, ds.Dataset) else cost
        table = table.add_column(0, "line", pa.array(range(1, table.num_rows + 1), pa.int64()))
        return self._frame(table, "cost_in")

    def _check_clusters(self) -> None:
        found = self.spark.sql(
            """SELECT skey, array_sort(collect_set(cluster)), array_sort(collect_set(node)) FROM split_rows
            GROUP BY skey HAVING count(DISTINCT cluster) > 1 ORDER BY skey LIMIT 1"""
        ).collect()
        if found:
            key, clusters, nodes = found[0]
            keys = self.spark.table("allocation_keys").orderBy("key").collect()
            files = [r["key"] for r in keys if r["cluster"] in clusters]
            raise engine.cluster_conflict(key, list(clusters), list(nodes), files)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The day's RESULT rows widened in Spark from the staged relations (reconcile.spark_rows) and written there
        as Parquet parts, streamed back as RESULT batches: the driver re-encodes the day's object, it joins nothing."""
        from kubebill.reconcile import spark_rows
        from kubebill.reconcile.result_sql import READS

        prefix = f"kubebill_result_{self.day:%Y%m%d}_"
        parts = os.path.join(self.staging, "result")
        try:
            for name in READS:
                path = hadoop_path(os.path.join(self.staging, name))
                self.spark.read.parquet(path).createOrReplaceTempView(prefix + name)
            frame = spark_rows.result_frame(
                self.spark, estimate_currency=self.options.estimate_currency, relation=lambda name: prefix + name
            )
            frame.write.mode("overwrite").parquet(hadoop_path(parts))
        finally:
            for name in READS:
                self.spark.catalog.dropTempView(prefix + name)
        return spark_rows.result_batches([parts])

    def close(self) -> None:
        try:
            if hasattr(self, "con"):
                self.con.close()
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)


def _spark_schema(schema: pa.Schema) -> Any:
    """The Spark schema of an Arrow schema (Spark reads Parquet by it, so a file missing a column reads NULLs)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _quoted(text: str) -> str:
    return text.replace("'", "''")
