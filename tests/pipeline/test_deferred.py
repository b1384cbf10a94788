"""KUBEBILL_ENGINE=spark: the functions record the changed days instead of merging; `kubebill merge` merges them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kubebill import pipeline, runtime
from kubebill.ledger import QueueStore
from kubebill.settings import Settings
from kubebill.store.base import Store
from tests.emulators import Backend
from tests.pipeline.merge_inputs import DAY, LAYOUT, focus_csv, make_store

BILL = "billing/focus/2025-06.csv"


def _recorded(store: Store) -> set[date]:
    return set(QueueStore(store, LAYOUT).load()[0].days)


def _no_result(store: Store, day: date = DAY) -> bool:
    try:
        store.head(LAYOUT.result_parquet_key(day))
    except FileNotFoundError:
        return True
    return False


def test_events_record_days_and_the_merge_takes_them(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    spark = Settings(store=str(tmp_path), engine="spark")
    outcome = pipeline.handle_object_created(store, spark, BILL)
    assert (outcome.decision, outcome.days) == ("deferred", [DAY])
    assert _recorded(store) == {DAY} and _no_result(store)
    assert store.read_bytes(LAYOUT.state_key("ledger.json"))  # the ledger scan ran
    allocation = LAYOUT.allocation_key("c1", DAY, "opencost")
    assert pipeline.handle_object_created(store, spark, allocation).decision == "deferred"
    assert _recorded(store) == {DAY} and _no_result(store)  # recorded once

    summary = pipeline.merge(store, spark)
    assert summary.merged == [DAY] and not _no_result(store)
    assert _recorded(store) == set()
    # merged and unchanged since: neither recorded nor re-merged
    again = pipeline.handle_object_created(store, spark, BILL)
    assert (again.decision, again.days) == ("unchanged", [])
    assert pipeline.merge(store, spark).days == []


def test_a_recorded_day_with_unchanged_inputs_is_merged_and_leaves_the_record(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    settings = Settings(store=str(tmp_path))
    pipeline.merge(store, settings)
    QueueStore(store, LAYOUT).add([DAY])  # e.g. the catch-up timer's restated day
    summary = pipeline.merge(store, settings)
    assert summary.days == [DAY]
    assert _recorded(store) == set()


def test_a_day_that_fails_stays_recorded(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    spark = Settings(store=str(tmp_path), engine="spark")
    pipeline.merge(store, Settings(store=str(tmp_path)))
    bad = LAYOUT.allocation_key("c1", DAY, "opencost")
    store.write(bad, b"not parquet")  # a rejected export replacing a merged one: the day keeps its last result
    outcome = pipeline.handle_object_created(store, spark, bad)
    assert outcome.decision == "poison" and outcome.days == [DAY]
    assert _recorded(store) == {DAY}
    with pytest.raises(Exception, match="2025-06-17"):
        pipeline.merge(store, spark)
    assert _recorded(store) == {DAY}


def test_a_bill_waiting_for_its_manifest_records_nothing(tmp_path: Path) -> None:
    store = make_store(tmp_path, bill=False)
    key = "billing/aws/cur/data/BILLING_PERIOD=2025-06/part-0.parquet"
    store.write(key, b"PAR1")
    outcome = pipeline.handle_object_created(store, Settings(store=str(tmp_path), engine="spark"), key)
    assert outcome.decision == "waiting-for-manifest"
    assert _recorded(store) == set()


def test_catch_up_records_the_restated_days(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    spark = Settings(store=str(tmp_path), engine="spark", restate_days=2)
    fields = runtime.catch_up(runtime.Runtime.from_settings(spark), source="test", today=date(2025, 6, 19))
    assert fields["decision"] == "deferred"
    assert fields["days"] == ["2025-06-17", "2025-06-18"]
    assert _recorded(store) == {DAY, date(2025, 6, 18)} and _no_result(store)
    summary = pipeline.merge(store, spark)
    assert DAY in summary.merged and _recorded(store) == set()


def test_on_an_emulated_bucket(s3_env: Backend) -> None:
    store = s3_env.store
    settings = Settings(store=s3_env.url, engine="spark")
    store.write(BILL, focus_csv([("bucket-1", 3.0, 5)]))
    outcome = pipeline.handle_object_created(store, settings, BILL)
    assert (outcome.decision, outcome.days) == ("deferred", [DAY])
    body = json.loads(store.read_bytes(LAYOUT.state_key("queue.json")))
    assert body["days"] == ["2025-06-17"]
    assert pipeline.merge(store, settings).merged == [DAY]
    assert _recorded(store) == set()
