"""Merge throughput and memory: kubebill's merge vs a plain SQLite join (the AKS tool's approach) vs a minimal
reference DuckDB query of the same split (no checks, no lineage), on the same generated data.

    .venv/bin/python bench/merge/run.py [--rows 1000000,10000000] [--engines kubebill,duckdb,duckdb-result,sqlite,spark]
                                        [--sqlite-max-rows 1000000] [--memory-limit 1GB] [--threads 2] [--csv off]
                                        [--repeat 3]

For each size: one UTC day, hourly bill lines (FOCUS Parquet under billing/) and as many hourly allocation rows
(allocations/…/opencost.parquet): per node-hour 3 pods + the node's `__idle__` row, and per node-hour one compute
line plus 3 lines outside the cluster. Every engine reads the same two Parquet files, splits the compute lines by
list-cost weight (idle gets the rest), passes the other lines through, and writes Parquet (kubebill's result; CSV
too with --csv day|month), except SQLite, which writes its CSV as the AKS tool does. Each engine runs in
a fresh child process (peak RSS = the child's VmHWM), without pandas as kubebill's base install and the functions'
artifacts are (`--pandas`: with this venv's; `spark` always has it, its extra needs it). kubebill runs
`pipeline.merge` with KUBEBILL_MEMORY_LIMIT; `duckdb` writes the split in 16 columns, `duckdb-result` the same
split in kubebill's RESULT columns (lineage left empty) with kubebill's Parquet and CSV options, and reports its
writes' own seconds. `spark` is kubebill's merge with KUBEBILL_ENGINE=spark on `local[2]` (its JVM's peak RSS and
the day's Σ BilledCost printed beside it). `--repeat N` runs N rounds of every engine, the order turned by one each
round, and prints each engine's min / median / max seconds and each target's ratio range over the rounds.
"""

from __future__ import annotations

# first, as in every kubebill entry point (CLI, functions): it picks the process's Arrow memory pool before pyarrow
# loads, so each engine's child runs in the process a deployed kubebill runs in (see kubebill/__init__.py)
import kubebill

# isort: split
import argparse
import importlib.abc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DAY = date(2025, 6, 17)
PODS = 3  # per node-hour, plus the idle row
OTHER = 3  # lines outside the cluster per node-hour
ALLOC_KEY = "allocations/cluster=bench/year=2025/month=06/day=17/opencost.parquet"
BILL_KEY = "billing/focus/bench-2025-06.parquet"


def generate(root: Path, bill_rows: int) -> dict[str, int]:
    """Write the day's allocation and bill Parquet files under `root` (a local store)."""
    node_hours = bill_rows // (1 + OTHER)
    nodes = max(1, node_hours // 24)
    node_hours = nodes * 24
    rng = np.random.default_rng(7)
    start = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC).timestamp() * 1_000_000)
    hour_us = 3_600_000_000
    node_of = np.repeat(np.arange(nodes), 24)
    hour_of = np.tile(np.arange(24), nodes)
    ids = np.array([f"i-{n:012x}" for n in range(nodes)], dtype=object)

    # allocations: (PODS + 1) rows per node-hour, the last one idle
    k = PODS + 1
    a_node = np.repeat(node_of, k)
    a_hour = np.repeat(hour_of, k)
    slot = np.tile(np.arange(k), node_hours)
    idle = slot == PODS
    cpu = np.where(idle, rng.uniform(0.0, 0.05, a_node.size), rng.uniform(0.001, 0.04, a_node.size))
    ram = cpu * 0.3
    namespaces = np.array([f"ns-{i}" for i in range(40)], dtype=object)
    ns = np.where(idle, "__idle__", namespaces[(a_node * 7 + slot) % 40])
    pod = np.where(
        idle,
        "__idle__",
        np.char.add(np.char.add("pod-", a_node.astype(str)), np.char.add("-", slot.astype(str))).astype(object),
    )
    ws = pa.array(start + a_hour * hour_us, pa.timestamp("us", tz="UTC"))
    allocation = pa.table(
        {
            "window_start": ws,
            "window_end": pa.array(start + (a_hour + 1) * hour_us, pa.timestamp("us", tz="UTC")),
            "cluster": pa.array(["bench"] * a_node.size),
            "node": pa.array(np.char.add("node-", a_node.astype(str)).astype(object)),
            "provider_id": pa.array(np.char.add("aws:///us-east-1a/", ids[a_node].astype(str)).astype(object)),
            "namespace": pa.array(ns),
            "pod": pa.array(pod),
            "container": pa.array(np.where(idle, "__idle__", "app")),
            "source": pa.array(["opencost"] * a_node.size),
            "minutes": pa.array(np.full(a_node.size, 60.0)),
            "cpu_cost": pa.array(cpu),
            "ram_cost": pa.array(ram),
            "gpu_cost": pa.array(np.zeros(a_node.size)),
            "total_cost": pa.array(cpu + ram),
        }
    )
    from kubebill.pipeline import ROW_GROUP_ROWS
    from kubebill.schema import ALLOCATION, conform

    allocation = conform(allocation, ALLOCATION)  # the schema kubebill's export writes
    path = root / ALLOC_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    # row groups as kubebill's export writes them, not pyarrow's 1M-row default: the merge's scan of the
    # allocations held whole 1M-row groups in Arrow (RSS after it at 1M: 1027 -> 774 MB)
    pq.write_table(allocation, path, compression="zstd", row_group_size=ROW_GROUP_ROWS)

    # bill: per node-hour one compute line (at a discount to list) and OTHER lines outside the cluster
    m = 1 + OTHER
    b_node = np.repeat(node_of, m)
    b_hour = np.repeat(hour_of, m)
    b_slot = np.tile(np.arange(m), node_hours)
    compute = b_slot == 0
    resource = np.where(
        compute, ids[b_node], np.char.add("arn:aws:s3:::bucket-", (b_node % 500).astype(str)).astype(object)
    )
    cost = np.where(compute, rng.uniform(0.05, 0.2, b_node.size), rng.uniform(0.0, 0.01, b_node.size))
    bill = pa.table(
        {
            "BillingPeriodStart": pa.array(
                np.full(b_node.size, start - 16 * 24 * hour_us), pa.timestamp("us", tz="UTC")
            ),
            "ChargePeriodStart": pa.array(start + b_hour * hour_us, pa.timestamp("us", tz="UTC")),
            "ChargePeriodEnd": pa.array(start + (b_hour + 1) * hour_us, pa.timestamp("us", tz="UTC")),
            "ProviderName": pa.array(["AWS"] * b_node.size),
            "ServiceName": pa.array(np.where(compute, "Amazon Elastic Compute Cloud", "Amazon Simple Storage Service")),
            "ServiceCategory": pa.array(np.where(compute, "Compute", "Storage")),
            "ResourceId": pa.array(resource),
            "ChargeCategory": pa.array(["Usage"] * b_node.size),
            "BillingCurrency": pa.array(["USD"] * b_node.size),
            "BilledCost": pa.array(cost),
            "EffectiveCost": pa.array(cost * 0.9),
            "ListCost": pa.array(cost * 1.3),
            "ContractedCost": pa.array(cost),
        }
    )
    path = root / BILL_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(bill, path, compression="zstd")
    return {"bill_rows": bill.num_rows, "allocation_rows": allocation.num_rows, "nodes": nodes}


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_kubebill(root: Path, out: Path) -> int:
    from kubebill import pipeline
    from kubebill.settings import Settings
    from kubebill.store.local import LocalStore

    settings = Settings.from_env()
    summary = pipeline.merge(LocalStore(root), settings, days=[DAY])
    _check_total(root)
    return summary.rows


def _check_total(root: Path) -> None:
    """The merge's peak RSS, then Σ BilledCost of the day's result (its one column read: the whole result of a
    10M-line day would be ~10 GB in memory, counted into the peak of the process)."""
    import pyarrow.compute as pc

    from kubebill.layout import Layout

    EXTRA["merge_peak_rss_mb"] = _peak_rss_mb()
    billed = pq.read_table(root / Layout().result_parquet_key(DAY), columns=["BilledCost"])["BilledCost"]
    EXTRA["billed_total"] = pc.sum(billed).as_py()


_REFERENCE_SPLIT = """
WITH a AS (SELECT lower(regexp_extract(provider_id, '[^/]+$')) AS k, window_start AS ws, namespace, pod, container,
                  cpu_cost + ram_cost + gpu_cost AS w FROM read_parquet('{alloc}')),
     b AS (SELECT row_number() OVER () AS lid, * FROM read_parquet('{bill}'))
SELECT b.* EXCLUDE (lid, BilledCost, EffectiveCost, ListCost, ContractedCost), a.namespace, a.pod, a.container,
       b.BilledCost * a.w / sum(a.w) OVER (PARTITION BY b.lid) AS BilledCost,
       b.EffectiveCost * a.w / sum(a.w) OVER (PARTITION BY b.lid) AS EffectiveCost,
       b.ListCost * a.w / sum(a.w) OVER (PARTITION BY b.lid) AS ListCost,
       b.ContractedCost * a.w / sum(a.w) OVER (PARTITION BY b.lid) AS ContractedCost
FROM b JOIN a ON a.k = lower(b.ResourceId) AND a.ws = b.ChargePeriodStart
UNION ALL
SELECT b.* EXCLUDE (lid, BilledCost, EffectiveCost, ListCost, ContractedCost), NULL, NULL, NULL,
       b.BilledCost, b.EffectiveCost, b.ListCost, b.ContractedCost
FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.k = lower(b.ResourceId))
"""


def run_duckdb(root: Path, out: Path) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    if os.environ.get("KUBEBILL_MEMORY_LIMIT"):
        con.execute(f"SET memory_limit = '{os.environ['KUBEBILL_MEMORY_LIMIT']}'")
    con.execute(f"SET temp_directory = '{out / 'spill'}'")
    query = _REFERENCE_SPLIT.format(alloc=root / ALLOC_KEY, bill=root / BILL_KEY)
    con.execute(f"CREATE TEMP TABLE r AS {query}")
    con.execute(f"COPY r TO '{out / 'reference.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
    if _writes_csv():
        con.execute(f"COPY r TO '{out / 'reference.csv'}' (FORMAT csv, HEADER true)")
    row = con.execute("SELECT count(*) FROM r").fetchone()
    return int(row[0]) if row else 0


_RESULT_SPLIT = """
WITH a AS (SELECT lower(regexp_extract(provider_id, '[^/]+$')) AS k, window_start AS ws, cluster, node, namespace, pod,
                  container, cpu_cost, ram_cost, gpu_cost, cpu_cost + ram_cost + gpu_cost AS w
           FROM read_parquet('{alloc}')),
     b AS (SELECT row_number() OVER () AS lid, * FROM read_parquet('{bill}')),
     s AS (SELECT b.*, a.* EXCLUDE (k, ws), sum(a.w) OVER (PARTITION BY b.lid) AS tw
           FROM b JOIN a ON a.k = lower(b.ResourceId) AND a.ws = b.ChargePeriodStart)
SELECT {split} FROM s
UNION ALL
SELECT {passed} FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.k = lower(b.ResourceId))
"""
EXTRA: dict[str, float] = {}  # figures an engine adds to its line


def _writes_csv() -> bool:
    """Whether the DuckDB references also write CSV (`--csv`, passed to kubebill as KUBEBILL_RESULT_CSV)."""
    return os.environ.get("KUBEBILL_RESULT_CSV", "off") != "off"


_COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
_SPLIT_K8S = {
    "AllocatedMethodId": "'opencost-list-cost'",
    "AllocatedMethodDetails": """'{"Elements":[{"AllocatedRatio":' || (w / tw)::VARCHAR
        || ',"UsageUnit":"ListCost","UsageQuantity":' || w::VARCHAR || '}]}'""",
    "AllocatedResourceId": "concat_ws('/', cluster, namespace, pod, container)",
    "AllocatedResourceName": "coalesce(container, pod, namespace, cluster)",
    "x_K8sCluster": "cluster",
    "x_K8sNode": "node",
    "x_K8sNamespace": "namespace",
    "x_K8sPod": "pod",
    "x_K8sContainer": "container",
    "x_K8sAllocation": "CASE WHEN namespace = '__idle__' THEN 'idle' ELSE 'workload' END",
    "x_K8sCostComponent": "'compute'",
    "x_K8sCpuRatio": "cpu_cost / w",
    "x_K8sRamRatio": "ram_cost / w",
    "x_K8sGpuRatio": "gpu_cost / w",
}
_PASSED_K8S = {"x_K8sAllocation": "'not_kubernetes'", "x_K8sCostComponent": "'other'"}


def run_duckdb_result(root: Path, out: Path) -> int:
    """The reference split written in kubebill's RESULT columns (lineage left NULL), Parquet (and CSV) as kubebill
    writes them: what the output contract itself costs, apart from kubebill's checks and general matching."""
    import duckdb

    from kubebill.schema import RESULT
    from kubebill.sinks.results import CSV_OPTIONS

    bill = set(pq.read_schema(root / BILL_KEY).names)
    sql_type = {pa.float64(): "DOUBLE", pa.int64(): "BIGINT", pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ"}

    def columns(k8s: dict[str, str], scale: str) -> str:
        def expr(name: str) -> str:
            if name in bill:
                return f"{name}{scale}" if name in _COSTS else name
            return k8s.get(name, "NULL")

        return ", ".join(f"CAST({expr(f.name)} AS {sql_type.get(f.type, 'VARCHAR')}) AS {f.name}" for f in RESULT)

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("KUBEBILL_MEMORY_LIMIT"):
        con.execute(f"SET memory_limit = '{os.environ['KUBEBILL_MEMORY_LIMIT']}'")
    con.execute(f"SET temp_directory = '{out / 'spill'}'")
    query = _RESULT_SPLIT.format(
        alloc=root / ALLOC_KEY, bill=root / BILL_KEY, split=columns(_SPLIT_K8S, " * w / tw"),
        passed=columns(_PASSED_K8S, ""),
    )  # fmt: skip
    con.execute(f"CREATE TEMP TABLE r AS {query}")
    started = time.monotonic()
    con.execute(f"COPY r TO '{out / 'reference.parquet'}' (FORMAT parquet, COMPRESSION snappy)")
    if _writes_csv():
        con.execute(f"COPY r TO '{out / 'reference.csv'}' ({CSV_OPTIONS}, HEADER true)")
    EXTRA["writes_seconds"] = time.monotonic() - started  # the rows' Parquet (+ CSV) alone, from memory
    row = con.execute("SELECT count(*) FROM r").fetchone()
    return int(row[0]) if row else 0


def run_sqlite(root: Path, out: Path) -> int:
    import csv
    import sqlite3

    con = sqlite3.connect(out / "bench.sqlite")
    bill = pq.ParquetFile(root / BILL_KEY)
    alloc = pq.ParquetFile(root / ALLOC_KEY)
    con.execute("CREATE TABLE a (k TEXT, ws INTEGER, namespace TEXT, pod TEXT, container TEXT, w REAL)")
    names = bill.schema_arrow.names
    con.execute(f"CREATE TABLE b (lid INTEGER PRIMARY KEY, {', '.join(names)})")
    for batch in alloc.iter_batches(columns=["provider_id", "window_start", "namespace", "pod", "container",
                                             "cpu_cost", "ram_cost", "gpu_cost"]):  # fmt: skip
        d = batch.to_pydict()
        con.executemany(
            "INSERT INTO a VALUES (?, ?, ?, ?, ?, ?)",
            (
                (p.rsplit("/", 1)[-1].lower(), int(t.timestamp()), n, pod, c, x + y + z)
                for p, t, n, pod, c, x, y, z in zip(*d.values(), strict=True)
            ),
        )
    for batch in bill.iter_batches():
        rows = batch.to_pylist()
        con.executemany(
            f"INSERT INTO b ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            (tuple(int(v.timestamp()) if isinstance(v, datetime) else v for v in r.values()) for r in rows),
        )
    con.execute("CREATE INDEX a_k ON a (k, ws)")
    con.execute("CREATE TABLE tot AS SELECT k, ws, sum(w) AS t FROM a GROUP BY k, ws")
    con.execute("CREATE INDEX tot_k ON tot (k, ws)")
    query = f"""
        SELECT {", ".join("b." + n for n in names)}, a.namespace, a.pod, a.container, a.w / tot.t
        FROM b JOIN a ON a.k = lower(b.ResourceId) AND a.ws = b.ChargePeriodStart
               JOIN tot ON tot.k = a.k AND tot.ws = a.ws
        UNION ALL
        SELECT {", ".join("b." + n for n in names)}, NULL, NULL, NULL, 1.0 FROM b
        WHERE NOT EXISTS (SELECT 1 FROM tot WHERE tot.k = lower(b.ResourceId))"""
    count = 0
    cost_at = [names.index(c) for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")]
    with open(out / "sqlite.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, "namespace", "pod", "container"])
        for row in con.execute(query):
            values = list(row[:-1])
            for i in cost_at:
                values[i] = values[i] * row[-1]
            writer.writerow(values)
            count += 1
    con.close()
    return count


def _jvm_peak_rss_mb() -> float:
    """VmHWM of this process's descendants (the Spark driver JVM spark-submit starts)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    pending, peak = list(children.get(os.getpid(), [])), 0.0
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def run_spark(root: Path, out: Path) -> int:
    """kubebill's merge with KUBEBILL_ENGINE=spark on `local[2]` (the session's start is in the time)."""
    import dataclasses

    from kubebill import pipeline
    from kubebill.reconcile import spark
    from kubebill.settings import Settings
    from kubebill.store.local import LocalStore

    # a shuffle partition per 500k bill lines, at least 4: at 30M lines, 4 partitions (13M split rows a task) ran
    # the 2 GB driver's heap out (`java.lang.OutOfMemoryError: Java heap space`) after 1569 s
    partitions = max(4, pq.read_metadata(root / BILL_KEY).num_rows // 500_000)
    EXTRA["shuffle_partitions"] = partitions
    spark.session(
        master="local[2]",
        conf={"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
              "spark.sql.shuffle.partitions": str(partitions), "spark.driver.memory": "2g"},
    )  # fmt: skip
    settings = dataclasses.replace(Settings.from_env(), engine="spark")
    summary = pipeline.merge(LocalStore(root), settings, days=[DAY])
    EXTRA["jvm_peak_rss_mb"] = _jvm_peak_rss_mb()
    _check_total(root)
    return summary.rows


ENGINES = {
    "kubebill": run_kubebill,
    "spark": run_spark,
    "duckdb": run_duckdb,
    "duckdb-result": run_duckdb_result,
    "sqlite": run_sqlite,
}


class _NoPandas(importlib.abc.MetaPathFinder):
    """pandas not importable, as in kubebill's base install and the functions' artifacts (packaging.LEFT_OUT):
    this venv has it for the spark extra, and pyarrow imports it on its first `pa.array` or `pyarrow.dataset` when
    it can (0.2 s and ~35 MB of a 1M merge's child)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is not installed in kubebill's base install (bench/merge/run.py --pandas)")


def child(engine: str, root: Path, *, pandas: bool = False) -> None:
    if not pandas and engine != "spark":  # pyspark's mapInArrow needs pandas: the spark extra installs it
        if "pandas" in sys.modules:
            raise RuntimeError("pandas was imported before the child hid it")
        sys.meta_path.insert(0, _NoPandas())
    with tempfile.TemporaryDirectory(prefix=f"kubebill-bench-{engine}-") as out:
        started = time.monotonic()
        rows = ENGINES[engine](root, Path(out))
        seconds = time.monotonic() - started
    peak = EXTRA.pop("merge_peak_rss_mb", None) or _peak_rss_mb()
    figures = {"engine": engine, "seconds": seconds, "rows_out": rows, "peak_rss_mb": peak}
    print(json.dumps(figures | EXTRA))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000000,10000000", help="bill rows per run, comma-separated")
    parser.add_argument("--engines", default="kubebill,duckdb,duckdb-result,sqlite")
    parser.add_argument("--sqlite-max-rows", type=int, default=1_000_000, help="skip SQLite above this size")
    parser.add_argument("--memory-limit", default="1GB", help="KUBEBILL_MEMORY_LIMIT for kubebill and the reference")
    parser.add_argument("--threads", default="", help="KUBEBILL_THREADS (default: all cores)")
    parser.add_argument(
        "--csv",
        default="off",
        choices=("off", "day", "month"),
        help="KUBEBILL_RESULT_CSV; the references write CSV too",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every engine, the order turned each round")
    parser.add_argument(
        "--pandas",
        action="store_true",
        help="let the children import pandas (this venv's); by default they run without, as the base install does",
    )
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), pandas=args.pandas)
        return 0
    env = dict(
        os.environ, KUBEBILL_MEMORY_LIMIT=args.memory_limit, KUBEBILL_LOG_LEVEL="warning", KUBEBILL_RESULT_CSV=args.csv
    )
    if args.threads:
        env["KUBEBILL_THREADS"] = args.threads
    with tempfile.TemporaryDirectory(prefix="kubebill-bench-pyc-") as pyc:
        _compile(env, Path(pyc))
        return _run(args, env)


def _compile(env: dict[str, str], folder: Path) -> None:
    """Every child reads kubebill's bytecode from `folder`, compiled here once, as an installed package has it.
    Where PYTHONDONTWRITEBYTECODE is set (this machine), a child would otherwise compile the ~100 modules it
    imports from source on every run: 0.06-0.08 s of a 1M kubebill run, no part of a merge."""
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    package = str(Path(kubebill.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=env, check=True, stdout=subprocess.DEVNULL)


def _run(args: argparse.Namespace, env: dict[str, str]) -> int:
    print(f"{'bill rows':>10} {'engine':<13} {'seconds':>8} {'rows/s':>12} {'rows out':>11} {'peak RSS':>9}  ratio")
    engines = args.engines.split(",")
    for size in (int(x) for x in args.rows.split(",")):
        with tempfile.TemporaryDirectory(prefix="kubebill-bench-store-") as folder:
            root = Path(folder)
            shape = generate(root, size)
            rounds: list[dict[str, dict[str, float]]] = []
            for number in range(args.repeat):
                # each round runs every engine once, the order turned by one a round: no engine always runs first
                # (a cold page cache) or right after the heaviest one
                order = engines[number % len(engines) :] + engines[: number % len(engines)]
                figures = {}
                for engine in order:
                    result = _run_child(
                        engine, root, shape, env, sqlite_max_rows=args.sqlite_max_rows, pandas=args.pandas
                    )
                    if result is not None:
                        figures[engine] = result
                        _print_line(shape, engine, result, figures)
                rounds.append(figures)
                for line in targets(figures, args.memory_limit, csv=args.csv != "off"):
                    print(f"{'':>10} {line}", flush=True)
            if args.repeat > 1:
                for line in ranges(rounds):
                    print(f"{'':>10} {line}", flush=True)
    return 0


def _run_child(
    engine: str, root: Path, shape: dict[str, int], env: dict[str, str], *, sqlite_max_rows: int, pandas: bool
) -> dict[str, float] | None:
    """One engine's figures on its own fresh copy of the generated store (None when skipped or failed)."""
    if engine == "sqlite" and shape["bill_rows"] > sqlite_max_rows:
        print(f"{shape['bill_rows']:>10} {engine:<13} skipped (> --sqlite-max-rows)")
        return None
    # each engine merges its own copy of the generated store: a merge that found the day already merged by the
    # engine before it would only read its state (the engine is not in the fingerprint)
    with tempfile.TemporaryDirectory(prefix=f"kubebill-bench-{engine}-") as copy:
        shutil.copytree(root, copy, dirs_exist_ok=True)
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, copy, *(["--pandas"] if pandas else [])],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        print(f"{shape['bill_rows']:>10} {engine:<13} failed: {done.stderr.strip()[-400:]}")
        return None
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _print_line(
    shape: dict[str, int], engine: str, result: dict[str, float], figures: dict[str, dict[str, float]]
) -> None:
    rate = shape["bill_rows"] / result["seconds"]
    ratio = ""
    if engine != "kubebill" and "kubebill" in figures:
        ratio = f"kubebill = {figures[engine]['seconds'] / figures['kubebill']['seconds']:.2f}× {engine}"
    if "jvm_peak_rss_mb" in result:
        ratio += f" (JVM peak {result['jvm_peak_rss_mb']:.0f}MB)"
    if "billed_total" in result:
        ratio += f" (Σ BilledCost {result['billed_total']:.9f})"
    if "writes_seconds" in result:
        ratio += f" (its writes alone: {result['writes_seconds']:.1f} s)"
    print(
        f"{shape['bill_rows']:>10} {engine:<13} {result['seconds']:>8.1f} {rate:>12,.0f}"
        f" {result['rows_out']:>11,} {result['peak_rss_mb']:>7.0f}MB  {ratio}",
        flush=True,
    )


def ranges(rounds: list[dict[str, dict[str, float]]]) -> list[str]:
    """Each engine's seconds over the rounds (min / median / max), and each target's ratio over the rounds that ran
    both engines: the range a claim should quote, not one run's figure."""
    lines = []
    for engine in dict.fromkeys(e for figures in rounds for e in figures):
        seconds = sorted(f[engine]["seconds"] for f in rounds if engine in f)
        lines.append(
            f"range: {engine} {seconds[0]:.1f} / {statistics.median(seconds):.1f} / {seconds[-1]:.1f} s"
            f" (min / median / max of {len(seconds)})"
        )
    for engine, target in (("sqlite", 10.0), ("duckdb-result", 0.9)):
        ratios = sorted(
            f[engine]["seconds"] / f["kubebill"]["seconds"] for f in rounds if {engine, "kubebill"} <= f.keys()
        )
        if ratios:
            lines.append(
                f"range: kubebill ≥ {target:g}× {engine}: {ratios[0]:.2f}-{ratios[-1]:.2f}× over {len(ratios)} rounds"
                f" (median {statistics.median(ratios):.2f}×)"
            )
    # what the 10× target asks of the bare reference split itself on this host: SQLite's time moves with the host
    # far more than DuckDB's does
    both = [f for f in rounds if {"sqlite", "duckdb-result"} <= f.keys()]
    reference = sorted(f["sqlite"]["seconds"] / f["duckdb-result"]["seconds"] for f in both)
    if reference:
        lines.append(
            f"range: duckdb-result against sqlite: {reference[0]:.2f}-{reference[-1]:.2f}× over {len(reference)} rounds"
            f" (median {statistics.median(reference):.2f}×)"
        )
    return lines


def targets(figures: dict[str, dict[str, float]], memory_limit: str, *, csv: bool = False) -> list[str]:
    """The issue's targets against this size's figures, and the floor the output contract sets for them."""
    if "kubebill" not in figures:
        return []
    ours = figures["kubebill"]["seconds"]
    lines = []
    for engine, target in (("sqlite", 10.0), ("duckdb-result", 0.9)):
        if engine in figures:
            ratio = figures[engine]["seconds"] / ours
            verdict = "met" if ratio >= target else "not met"
            lines.append(f"target: kubebill ≥ {target:g}× {engine}: {ratio:.2f}× ({verdict})")
    lines.append(
        f"target: peak RSS ≤ 1.5 GB with KUBEBILL_MEMORY_LIMIT={memory_limit}:"
        f" {figures['kubebill']['peak_rss_mb'] / 1024:.2f} GB"
    )
    if "sqlite" in figures and "writes_seconds" in figures.get("duckdb-result", {}):
        budget = figures["sqlite"]["seconds"] / 10
        writes = figures["duckdb-result"]["writes_seconds"]
        lines.append(
            f"floor: 10× SQLite leaves {budget:.1f} s for the whole merge; DuckDB writing the RESULT rows'"
            f" Parquet{' + CSV' if csv else ''} from memory alone takes {writes:.1f} s"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
