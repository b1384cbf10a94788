"""The merge's SQL stages on Apache Spark (`KUBEBILL_ENGINE=spark`): the session, the stage files transpiled to
Spark SQL by sqlglot (per day of a batch: each relation read renamed to that day's), the invariants' and policies'
queries answered by Spark (`SparkQueries`), and the keymap's `mapInArrow` function.

The runner is reconcile.spark_batch: every day of a merge in one Spark run, each stored relation written once for
all days partitioned by day (in reconcile.spark_staging's folder), the cluster check and the invariants computed in
Spark before any day's result exists, the RESULT rows widened in Spark (reconcile.spark_rows) and re-encoded by
`reconcile.rows`' writer on the driver; the pipeline commits each day through the same ledger and conditional
writes as on DuckDB.

pyspark is imported here, in reconcile.spark_batch and in reconcile.spark_rows only, lazily (the `kubebill[spark]`
extra; never in the functions' artifacts). The session is Spark's own `getOrCreate()`: under spark-submit (EMR
Serverless, Dataproc Serverless, Synapse, Databricks) the service's, on a workstation `local[*]`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from kubebill import log
from kubebill.errors import InputError
from kubebill.keys import match_key
from kubebill.reconcile import stages

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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
# Spark's settings the engine changes unless the session's submitter set them: no broadcast joins. Spark sizes a
# stored stage by its Parquet files, which compress the stages' repeated texts many fold: at 10M bill lines a
# relation "under 10 MB" did not fit a 2 GB driver's heap once built (`Not enough memory to build and broadcast the
# table`); with shuffle joins the same day completed (bench/README.md, #16).
SESSION_DEFAULTS = {
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.sql.adaptive.autoBroadcastJoinThreshold": "-1",
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
    `conf` added), with SESSION_CONF, and SESSION_DEFAULTS where neither `conf` nor the submitter set them. Its
    Python workers run this interpreter unless PYSPARK_PYTHON says otherwise (the keymap's normalisers are
    kubebill's)."""
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
    submitted = spark.sparkContext.getConf()
    for key, value in SESSION_DEFAULTS.items():
        if key not in (conf or {}) and not submitted.contains(key):
            spark.conf.set(key, value)
    return spark


def spark_sql(text: str) -> str:
    """A SELECT in kubebill's DuckDB dialect as Spark SQL: sqlglot's transpilation, and the fixes where the engines'
    functions differ beyond what sqlglot knows (epoch's fraction, xxhash64's NULLs, to_json of a number). The
    stages and the RESULT widening (reconcile.spark_rows) both go through it."""
    import sqlglot

    return str(_spark_tree(text).sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE))


def _spark_tree(text: str) -> Any:
    """`text`'s tree with DuckDB's meanings made explicit for Spark (see spark_sql)."""
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
        elif call.name.lower() == "to_json" and len(call.expressions) == 1:  # a number's JSON: Spark's takes none
            call.replace(exp.Cast(this=call.expressions[0], to=exp.DataType.build("text")))
    return tree


@cache
def _stage_tree(name: str) -> Any:
    return _spark_tree(stages.sql(name))


@cache
def stage_sql(name: str, prefix: str = "") -> str:
    """The stage's Spark SQL: its parameters are Spark's named markers (`:day_start`), bound by `spark.sql(args=)`;
    with a `prefix`, each relation it reads is the prefixed one (`d20250617__allocation_rows`: one day of a batch),
    under its own name as the alias."""
    import sqlglot
    from sqlglot import exp

    tree = _stage_tree(name)
    if prefix:
        tree = tree.copy()
        ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            if table.name in RELATIONS and table.name not in ctes and not table.db:
                if not table.alias:
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
                table.set("this", exp.to_identifier(prefix + table.name))
    return str(tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE))


def _null_safe_hash(call: Any) -> Any:
    """Spark's xxhash64 skips NULL arguments, so (a, NULL) and (NULL, a) would share a target id: each argument is
    hashed with its own IS NULL flag, as DuckDB's hash keeps NULLs apart."""
    from sqlglot import exp

    parts: list[exp.Expression] = []
    for argument in call.expressions:
        parts += [argument, exp.Is(this=argument.copy(), expression=exp.Null())]
    return exp.Anonymous(this="xxhash64", expressions=parts)


# Every relation a stage may read: the inputs and the stages.
RELATIONS = frozenset({*stages.INPUTS, *(stage.name for stage in stages.STAGES)})
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
    """The DuckDB-connection face the invariants and the policies need (`execute(sql).fetchall()`), answered by
    Spark: the same checks, transpiled, computed where the rows are. `tables` renames the relations they read (one
    day's views of a batch: `bill_lines` -> `d20250617__bill_lines`)."""

    def __init__(self, spark: SparkSession, tables: Mapping[str, str] | None = None) -> None:
        self.spark = spark
        self.tables = dict(tables or {})

    def execute(self, query: str, parameters: object = None) -> _Result:
        import sqlglot
        from sqlglot import exp

        if parameters:
            raise ValueError("SparkQueries binds no parameters")
        tree = sqlglot.parse_one(query, read="duckdb")
        for table in list(tree.find_all(exp.Table)):
            if table.name in self.tables:
                if not table.alias:
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
                table.set("this", exp.to_identifier(self.tables[table.name]))
        text = tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
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


def _spark_schema(schema: pa.Schema) -> Any:
    """The Spark schema of an Arrow schema (Spark reads Parquet by it, so a file missing a column reads NULLs)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _quoted(text: str) -> str:
    return text.replace("'", "''")
