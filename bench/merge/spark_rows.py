"""The RESULT widening on Spark (reconcile.spark_rows, inside reconcile.spark_batch) and the driver's re-encode of it,
on one generated day.

    .venv/bin/python bench/merge/spark_rows.py [--rows 1000000] [--runs 2] [--memory-limit 1GB]

Each run, in a fresh process: bench/merge/run.py's day of `--rows` bill lines, merged by `pipeline.merge` with
KUBEBILL_ENGINE=spark on `local[2]`, two steps timed:

- `spark`: SparkBatch._widen, the RESULT rows widened and written by Spark as Parquet parts (partitioned by day);
- `reencode`: the day's parts streamed by result_batches into rows.write_parquet on the driver (the day's object).

(The DuckDB writer on the driver, which the Spark path used before the batch, is no longer on it: bench/README
keeps its earlier figure.) The pipeline then commits the day (its totals checked against the ledger), so the run
also proves the rows whole. Printed: seconds of each, rows, the parts' and the object's sizes, the driver's peak RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
import run as merge_run  # bench/merge/run.py: the generated day


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else list(path.rglob("*.parquet"))
    return sum(f.stat().st_size for f in files) / 1e6


def child(root: Path) -> None:
    from kubebill import pipeline
    from kubebill.reconcile import rows, spark, spark_batch
    from kubebill.reconcile.spark_rows import result_batches
    from kubebill.settings import Settings
    from kubebill.store.local import LocalStore

    spark.session(
        master="local[2]",
        conf={"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
              "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"},
    )  # fmt: skip
    figures: dict[str, Any] = {}
    widen = spark_batch.SparkBatch._widen

    def timed_widen(batch: spark_batch.SparkBatch) -> None:
        started = time.monotonic()
        widen(batch)
        figures["spark_s"] = time.monotonic() - started
        figures["parts_mb"] = _size_mb(Path(str(batch.staging.local)) / "result")

    def batches(run: spark_batch.StagedDay) -> Iterator[pa.RecordBatch]:
        out = Path(tempfile.mkdtemp(prefix="kubebill-bench-rows-"))
        started = time.monotonic()
        rows.write_parquet(str(out / "spark.parquet"), result_batches(run.parts))
        figures["reencode_s"] = time.monotonic() - started
        figures.update(parts=len(run.parts), object_mb=_size_mb(out / "spark.parquet"))
        return result_batches(run.parts)

    spark_batch.SparkBatch._widen = timed_widen  # type: ignore[method-assign]
    spark_batch.StagedDay.batches = batches  # type: ignore[method-assign]
    settings = dataclasses.replace(Settings.from_env(), engine="spark")
    started = time.monotonic()
    summary = pipeline.merge(LocalStore(root), settings, days=[merge_run.DAY])
    figures.update(merge_s=time.monotonic() - started, rows=summary.rows)
    figures["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="bill lines of the day")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB", help="KUBEBILL_MEMORY_LIMIT (the driver's DuckDB)")
    parser.add_argument("--child", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return 0
    env = dict(os.environ, KUBEBILL_MEMORY_LIMIT=args.memory_limit, KUBEBILL_LOG_LEVEL="warning")
    with tempfile.TemporaryDirectory(prefix="kubebill-bench-store-") as folder:
        shape = merge_run.generate(Path(folder), args.rows)
        print(json.dumps(shape), flush=True)
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, __file__, "--child", folder], env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                print(f"failed: {done.stderr.strip()[-600:]}", flush=True)
                continue
            print(done.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
