"""Several days in one Spark run (reconcile.spark_batch): its Spark jobs do not grow with the days, each day's rows
are the DuckDB path's, and a day whose check fails fails alone with the DuckDB path's message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kubebill.errors import InputError
from kubebill.reconcile import spark_batch, spark_staging
from kubebill.reconcile.engine import Options, Reconciliation, reconcile
from kubebill.store.local import LocalStore
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line
from tests.reconcile.test_stages import _day
from tests.spark.compare import assert_same_rows

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

OPTIONS = Options(shared_spread="weighted")


def _shifted(table: pa.Table, days: int) -> pa.Table:
    """`table` with every timestamp moved `days` days on."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            by = pa.scalar(timedelta(days=days), pa.duration(field.type.unit))
            table = table.set_column(i, field, pc.add(table[field.name], by))
    return table


def _inputs(count: int) -> dict[date, spark_batch.DayInputs]:
    a, c = _day()
    return {DAY.date() + timedelta(days=n): spark_batch.DayInputs(_shifted(a, n), _shifted(c, n)) for n in range(count)}


def _jobs(spark: Any, group: str, work: Callable[[], Any]) -> tuple[int, Any]:
    """The Spark jobs `work` started (its job group's), and what it returned."""
    context = spark.sparkContext
    context.setJobGroup(group, group)
    try:
        found = work()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    return len(context.statusTracker().getJobIdsForGroup(group)), found


def _batch(spark: Any, tmp_path: Path, inputs: dict[date, spark_batch.DayInputs], name: str, **kw: Any) -> Any:
    staged = spark_staging.staging(spark.sparkContext.master, parent=str(tmp_path / name), **kw)
    return staged, lambda: spark_batch.run(inputs, options=OPTIONS, spark_session=spark, staged=staged)


def _table(days: dict[date, Callable[[], Any]]) -> pa.Table:
    [make] = days.values()
    run = make()
    try:
        return run.table()
    finally:
        run.close()


def test_three_days_take_the_jobs_of_about_one_and_give_each_day_the_duckdb_rows(spark: Any, tmp_path: Path) -> None:
    one, three = _inputs(1), _inputs(3)
    staged_one, run_one = _batch(spark, tmp_path, one, "one")
    one_jobs, one_day = _jobs(spark, "kubebill-one-day", run_one)
    try:
        found = one[DAY.date()]
        assert_same_rows(reconcile(found.allocation, found.cost, day=DAY.date(), options=OPTIONS), _table(one_day))
    finally:
        staged_one.remove()
    staged, run_three = _batch(spark, tmp_path, three, "three")
    three_jobs, days = _jobs(spark, "kubebill-three-days", run_three)
    print(f"Spark jobs: 1 day {one_jobs}, 3 days {three_jobs}")
    # Measured 98 and 212: the stored stages' writes, the keymap, the cluster check, the invariants and the RESULT
    # widening run once whatever the days; adaptive execution runs each shuffle and broadcast of a write's plan as
    # a job of its own, and a plan over three days' branches has three times those. A run per day: 3 x 98.
    assert one_jobs > 20
    assert three_jobs < 2.5 * one_jobs
    try:
        for day, found in three.items():
            expected = reconcile(found.allocation, found.cost, day=day, options=OPTIONS)
            assert expected.num_rows
            run = days[day]()
            try:
                assert_same_rows(expected, run.table())
            finally:
                run.close()
    finally:
        staged.remove()
    assert not Path(staged.workdir).exists()


def test_a_day_that_fails_its_check_fails_alone_and_staging_on_the_store(spark: Any, tmp_path: Path) -> None:
    """Two days: the first's rows alike but for which key part is NULL (the target ids must keep them apart, which
    Spark's xxhash64 alone, skipping NULLs, would not); the second's node in two clusters' exports: it fails with the
    DuckDB path's message, the first gives the DuckDB rows. The staging folder is the store's (as on a cluster;
    here a local store: the driver's inputs uploaded, written by Spark and read back through the store), gone
    afterwards."""
    nulls = allocation(
        [
            alloc_row(controller=None, pod="p", container="p"),
            alloc_row(controller="p", pod="p", container=None),
            idle_row(),
        ]
    )
    conflict = allocation([alloc_row(cluster="blue"), alloc_row(cluster="green", namespace="api")])
    bill = cost([line("i-0001", 3.0)])
    first, broken = DAY.date(), DAY.date() + timedelta(days=1)
    keys = {("blue", "opencost"): "allocations/cluster=blue/x.parquet", ("green", "opencost"): "allocations/g.parquet"}
    inputs = {
        first: spark_batch.DayInputs(nulls, bill),
        broken: spark_batch.DayInputs(_shifted(conflict, 1), _shifted(bill, 1), keys),
    }
    with pytest.raises(InputError) as duckdb:
        Reconciliation(inputs[broken].allocation, inputs[broken].cost, day=broken, allocation_keys=keys)
    store = LocalStore(tmp_path / "store")
    staged = spark_staging.staging(
        "yarn", parent=str(tmp_path / "driver"), store=store, store_url=store.url, key="results/_state/spark"
    )
    assert staged.url.startswith("file://" + str(tmp_path / "store" / "results/_state/spark/")) and not staged.local
    days = spark_batch.run(inputs, options=Options(), spark_session=spark, staged=staged)
    try:
        assert staged.uploaded and all(u.startswith(staged.url) for u in staged.uploaded.values())
        with pytest.raises(InputError) as on_spark:
            days[broken]()
        assert str(on_spark.value) == str(duckdb.value) and "allocations/g.parquet" in str(duckdb.value)
        assert_same_rows(reconcile(nulls, bill, day=first), _table({first: days[first]}))
    finally:
        staged.remove()
    assert list(store.list("results/")) == [] and not Path(staged.workdir).exists()


def test_the_staging_folder_is_local_on_a_local_master_else_under_the_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    for master in ("local", "local[2]", "LOCAL[*, 3]"):
        found = spark_staging.staging(master, parent=str(tmp_path), store=store, store_url="s3://b/p", key="r/_state")
        assert found.store is None and found.local and found.url == "file://" + found.local
        found.remove()
    for master in ("yarn", "spark://10.0.0.1:7077", "k8s://https://k", None):
        found = spark_staging.staging(master, parent=str(tmp_path), store=store, store_url="s3://b/p/", key="r/_s/")
        assert found.store is store and found.local is None
        assert found.url == f"s3a://b/p/{found.prefix}" and found.prefix.startswith("r/_s/")
        found.remove()
    found = spark_staging.staging("yarn", parent=str(tmp_path), store=None)
    assert found.store is None  # no store to stage under: the driver's disk
    found.remove()
