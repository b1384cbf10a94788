"""`kubebill merge --engine spark` end to end: a three-cloud simulated store and the real AKS sample give the same
results, summaries and ledger as the DuckDB path; a Spark job failing midway commits nothing and a re-run
completes; no JRE is one line naming what to install."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kubebill import pipeline
from kubebill.cli import main
from kubebill.layout import Layout
from kubebill.ledger import LedgerStore
from kubebill.reconcile import spark as spark_engine
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore
from tests.spark.compare import assert_same_rows

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

DAYS = [date(2025, 6, 16), date(2025, 6, 17)]


def _simulated(root: Path) -> None:
    code = main(
        ["simulate", "--out", str(root), "--clusters", "2", "--nodes", "2", "--pods", "4", "--days", "2",
         "--end", DAYS[-1].isoformat(), "--seed", "3"]
    )  # fmt: skip
    assert code == 0
    store = LocalStore(root)  # an input the ledger rejects: both engines must say the same of it
    store.write("billing/focus/broken.csv", b"BilledCost,ChargePeriodStart,EffectiveCost\nnot-a-number,2025-06-17,1\n")


def _both(tmp_path: Path) -> tuple[LocalStore, LocalStore]:
    _simulated(tmp_path / "duckdb")
    shutil.copytree(tmp_path / "duckdb", tmp_path / "spark")
    return LocalStore(tmp_path / "duckdb"), LocalStore(tmp_path / "spark")


def _states(store: LocalStore) -> dict[str, Any]:
    layout = Layout()
    found = {}
    for day in DAYS:
        with contextlib.suppress(FileNotFoundError):
            found[day.isoformat()] = json.loads(store.read_bytes(layout.state_key(f"merge/{day.isoformat()}.json")))
    return found


def _same_merge(duckdb_store: LocalStore, spark_store: LocalStore, summary: Any, spark_summary: Any) -> None:
    assert spark_summary.merged == summary.merged == DAYS
    assert spark_summary.rows == summary.rows and spark_summary.stats == summary.stats
    assert spark_summary.bad_inputs == summary.bad_inputs and spark_summary.reasons == summary.reasons
    for day in DAYS:
        assert_same_rows(results.read_day(duckdb_store, Layout(), day), results.read_day(spark_store, Layout(), day))
    ledger = {k: (e.state, e.reason) for k, e in LedgerStore(duckdb_store, Layout()).load()[0].entries.items()}
    spark_ledger = {k: (e.state, e.reason) for k, e in LedgerStore(spark_store, Layout()).load()[0].entries.items()}
    assert spark_ledger == ledger
    assert not any(state.get("pending") for state in _states(spark_store).values())


def test_three_clouds_same_results_and_ledger_and_a_failure_midway_commits_nothing(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulated store (2 clusters on each cloud, 2 days, one input the ledger rejects) merged on Spark (both
    days in one Spark run) with a task of the second day's failing: nothing of either day is written; a re-run
    completes with the DuckDB path's results, summary, ledger and rejections."""
    duckdb_store, spark_store = _both(tmp_path)
    summary = pipeline.merge(duckdb_store, Settings(store=str(duckdb_store.root)), days=DAYS)
    assert "billing/focus/broken.csv" in summary.bad_inputs
    clusters = set(results.read_day(duckdb_store, Layout(), DAYS[-1])["x_K8sCluster"].to_pylist())
    assert len({c for c in clusters if c}) == 6
    original = spark_engine.stage_sql

    def failing(name: str, prefix: str = "") -> str:  # the second day's lines fail a Spark task (a real job failure)
        text = original(name, prefix)
        return text + " AND assert_true(ChargePeriodStart < TIMESTAMP '2025-06-17 00:00:00') IS NULL" * (
            name == "bill_lines"
        )

    monkeypatch.setattr(spark_engine, "stage_sql", failing)
    settings = Settings(store=str(spark_store.root), engine="spark")
    with pytest.raises(Exception, match=r"assert_true|ChargePeriodStart"):
        pipeline.merge(spark_store, settings, days=DAYS)
    # both days are one Spark run: neither day's result nor state is written, and the staging folder is gone
    assert _states(spark_store) == {} and results.available_days(spark_store, Layout()) == []
    assert list(spark_store.list("results/_state/spark/")) == []
    monkeypatch.setattr(spark_engine, "stage_sql", original)
    _same_merge(duckdb_store, spark_store, summary, pipeline.merge(spark_store, settings, days=DAYS))


def test_real_aks_sample_same_result(spark: Any, tmp_path: Path, external: Path) -> None:
    from tests.sources import replay

    day, cluster = date(2025, 6, 17), "akhantimirov-aks"
    stores = {}
    with replay.aks_agent(external) as url:
        for engine in ("duckdb", "spark"):
            store = LocalStore(tmp_path / engine)
            settings = Settings(store=str(tmp_path / engine), engine=engine)
            pipeline.export(store, settings, days=[day], source="aks", url=url, cluster=cluster)
            store.write(
                "billing/azure/cost-management-export.csv",
                (external / "aks" / "cost-management-export.csv").read_bytes(),
            )
            assert pipeline.merge(store, settings, days=[day]).merged == [day]
            stores[engine] = store
    assert_same_rows(
        results.read_day(stores["duckdb"], Layout(), day), results.read_day(stores["spark"], Layout(), day)
    )


def test_no_java_is_one_line_naming_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PATH")}
    env["PATH"] = str(tmp_path)  # no java on it
    found = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "merge", "--engine", "spark", "--store", str(tmp_path / "store"),
         "--date", "2025-06-17"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert found.returncode == 2, found.stderr
    assert "Traceback" not in found.stderr and len(found.stderr.strip().splitlines()) == 1
    assert "default-jre-headless" in found.stderr and "Java runtime" in found.stderr
    assert spark_engine.java_found({"PATH": str(tmp_path)}) is None
