"""One scenario suite, run against the AWS, Azure and GCP entry points with real platform payloads."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubebill import health, pipeline
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store import LocalStore
from tests.functions.clouds import race
from tests.functions.conftest import AKS_KEY, BUCKET, TOKEN, Lines

ALLOCATION = "allocations/cluster=demo/year=2025/month=06/day=17/opencost.parquet"


def _keys(store: LocalStore) -> list[str]:
    return [info.key for info in store.list()]


@pytest.mark.parametrize(
    "key",
    ["results/parquet/year=2025/month=06/day=17/result.parquet", "results/_state/health.json"],
)
def test_keys_under_results_are_ignored_and_write_nothing(cloud: Any, local_store: LocalStore, lines: Lines, key: str):
    cloud.created(BUCKET, key)
    [line] = lines.take()
    assert (line["decision"], line["key"]) == ("ignored", key)
    assert "results prefix" in line["reason"]
    assert _keys(local_store) == []  # no health write either: that would be an event under results/ again


def test_other_bucket_is_ignored_and_counted(cloud: Any, local_store: LocalStore, lines: Lines):
    local_store.write(ALLOCATION, b"an input of the same name in our bucket is not merged")
    cloud.created("someone-elses-bucket", ALLOCATION)
    [line] = lines.take()
    assert line["decision"] == "ignored"
    assert "someone-elses-bucket" in line["reason"]
    assert _keys(local_store) == [ALLOCATION, "results/_state/health.json"]
    assert health.read(local_store, Layout())["ignored_events_total"] == 1


def test_keys_outside_the_input_prefixes_are_ignored_and_counted(cloud: Any, local_store: LocalStore, lines: Lines):
    cloud.created(BUCKET, "exports/readme.txt")
    cloud.created(BUCKET, "allocations/cluster=demo/_SUCCESS")
    first, second = lines.take()
    assert first["decision"] == second["decision"] == "ignored"
    assert "outside the input prefixes" in first["reason"]
    assert "not an allocation key" in second["reason"]
    assert health.read(local_store, Layout())["ignored_events_total"] == 2


def test_bad_event_shapes_are_logged_counted_and_acknowledged(cloud: Any, local_store: LocalStore, lines: Lines):
    bad = cloud.bad_events()
    for event in bad:
        cloud.bad(event)  # no exception: acknowledged, never retried
    logged = lines.take()
    assert [line["decision"] for line in logged] == ["bad-event"] * len(bad)
    assert all(line["reason"] for line in logged)
    assert health.read(local_store, Layout())["bad_events_total"] == len(bad)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
def test_metrics_without_the_right_token_is_401_and_nothing_else(
    cloud: Any, local_store: LocalStore, lines: Lines, authorization: str | None
):
    status, body = cloud.metrics(authorization)
    assert (status, body) == (401, b"unauthorized\n")
    [line] = lines.take()
    assert line["decision"] == "unauthorized"


def test_metrics_with_no_token_configured_refuses_everyone(
    cloud: Any, local_store: LocalStore, lines: Lines, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("KUBEBILL_METRICS_TOKEN")
    assert cloud.metrics(f"Bearer {TOKEN}") == (401, b"unauthorized\n")
    assert "no KUBEBILL_METRICS_TOKEN" in lines.take()[0]["reason"]


def test_one_log_line_per_event_with_the_decoded_key(cloud: Any, local_store: LocalStore, lines: Lines):
    key = "exports/cur 2025+06/data=1 (copy).csv.gz"
    cloud.created(BUCKET, key)
    [line] = lines.take()
    assert line["key"] == key
    assert line["source"] == cloud.name
    assert {"event", "decision", "duration_ms", "severity"} <= set(line)


def test_metrics_with_the_token_serves_the_exposition_with_health(cloud: Any, local_store: LocalStore, lines: Lines):
    cloud.bad(cloud.bad_events()[0])
    status, body = cloud.metrics(f"Bearer {TOKEN}")
    assert status == 200
    text = body.decode()
    assert "# TYPE kubebill_cluster_cost gauge" in text
    assert any(line.startswith("kubebill_bad_events_total") and line.endswith(" 1") for line in text.splitlines())
    assert [line["decision"] for line in lines.take()] == ["bad-event", "served"]


def test_a_store_that_cannot_be_used_raises_so_the_platform_retries(
    cloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: Lines
):
    broken = tmp_path / "broken" / BUCKET
    broken.parent.mkdir()
    broken.write_text("a file where the store's directory should be")
    monkeypatch.setenv("KUBEBILL_STORE", str(broken))
    with pytest.raises(Exception):  # noqa: B017 - each platform surfaces it its own way (raise, HTTP 500)
        cloud.created(BUCKET, ALLOCATION)
    [line] = lines.take()
    assert line["decision"] == "error"
    assert "StoreError" in line["reason"]


AZURE_BILL = "billing/azure/cost-management/cost-management-export.csv"
CUR_BASE = "billing/aws/cur/koku-local/20180801-20180901/"
CUR_PART = CUR_BASE + "16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz"
CUR_MANIFEST = CUR_BASE + "koku-local-Manifest.json"


def _snapshot(store: LocalStore) -> set[tuple[str, str]]:
    """Every object and its version, but the health record (the merge stamps each run there)."""
    return {(info.key, info.etag) for info in store.list() if not info.key.endswith("_state/health.json")}


def test_allocation_and_billing_events_merge_and_the_same_event_again_writes_nothing(
    cloud: Any, local_store: LocalStore, lines: Lines, external: Path, aks_allocation: bytes
):
    layout = Layout()
    local_store.write(AZURE_BILL, (external / "aks" / "cost-management-export.csv").read_bytes())
    cloud.created(BUCKET, AZURE_BILL)
    [line] = lines.take()
    assert (line["decision"], line["days"]) == ("merged", ["2025-06-16", "2025-06-17"])
    assert line["rows"] > 0
    assert {d.isoformat() for d in results.available_days(local_store, layout)} == {"2025-06-16", "2025-06-17"}
    billed_only = results.read_day(local_store, layout, date(2025, 6, 17))

    local_store.write(AKS_KEY, aks_allocation)
    cloud.created(BUCKET, AKS_KEY)  # the cluster's splits arrive after the bill: the day is merged again
    [line] = lines.take()
    assert (line["decision"], line["days"]) == ("merged", ["2025-06-17"])
    assert results.read_day(local_store, layout, date(2025, 6, 17)).num_rows > billed_only.num_rows

    before = _snapshot(local_store)
    cloud.created(BUCKET, AZURE_BILL)  # a duplicate delivery
    cloud.created(BUCKET, AKS_KEY)  # a late, out-of-order one
    assert [line["decision"] for line in lines.take()] == ["unchanged", "unchanged"]
    assert _snapshot(local_store) == before


def test_data_part_waits_for_its_manifest(cloud: Any, local_store: LocalStore, lines: Lines, external: Path):
    local_store.write(CUR_PART, gzip.compress((external / "aws" / "koku_legacy-cur_test_cur.csv").read_bytes()))
    cloud.created(BUCKET, CUR_PART)
    [line] = lines.take()
    assert line["decision"] == "waiting-for-manifest"
    assert not [key for key, _ in _snapshot(local_store) if key.startswith("results/")]

    local_store.write(CUR_MANIFEST, (external / "aws" / "koku_legacy-cur_koku-local-Manifest.json").read_bytes())
    cloud.created(BUCKET, CUR_MANIFEST)
    [line] = lines.take()  # complete now: the days its lines start on are merged, whatever the manifest's period
    assert line["decision"] == "merged"
    assert line["days"] == ["2018-06-01"]


def test_two_events_for_one_day_at_once_end_in_one_consistent_result(
    cloud: Any, local_store: LocalStore, lines: Lines, external: Path, aks_allocation: bytes
):
    local_store.write(AKS_KEY, aks_allocation)
    local_store.write(AZURE_BILL, (external / "aks" / "cost-management-export.csv").read_bytes())
    failures = race(lambda key: cloud.created(BUCKET, key), [AKS_KEY, AZURE_BILL], timeout=120)
    assert failures == []
    assert {line["decision"] for line in lines.take()} <= {"merged", "unchanged"}
    layout = Layout()
    day = results.read_day(local_store, layout, date(2025, 6, 17))
    # One consistent result: every origin bill line of the day is there once, with all its split rows.
    before = _snapshot(local_store)
    cloud.created(BUCKET, AKS_KEY)
    assert [line["decision"] for line in lines.take()] == ["unchanged"]
    assert _snapshot(local_store) == before
    assert day.num_rows > 0
    assert results.read_day(local_store, layout, date(2025, 6, 17)).equals(day)


def test_poison_input_is_logged_recorded_and_acknowledged(cloud: Any, local_store: LocalStore, lines: Lines):
    local_store.write(ALLOCATION, b"PAR1 not a parquet file at all")
    cloud.created(BUCKET, ALLOCATION)  # no exception: acknowledged, never retried forever
    [line] = lines.take()
    assert line["decision"] == "poison"
    assert ALLOCATION in line["reason"]
    assert health.read(local_store, Layout())["bad_events_total"] == 1


def test_catch_up_timer_re_merges_the_restated_days(cloud: Any, local_store: LocalStore, lines: Lines):
    cloud.catch_up()
    [line] = lines.take()
    assert line["event"] == "catch-up"
    expected = pipeline.catch_up_days(Settings(), datetime.now(UTC).date())
    assert line["days"] == [day.isoformat() for day in expected]


def test_export_timer_writes_yesterdays_allocations(
    cloud: Any, local_store: LocalStore, lines: Lines, aks_api: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KUBEBILL_SOURCE", "aks")
    monkeypatch.setenv("KUBEBILL_SOURCE_URL", aks_api)
    monkeypatch.setenv("KUBEBILL_CLUSTER", "aks-demo")
    cloud.export()
    [line] = lines.take()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert (line["decision"], line["days"], line["cluster"]) == ("exported", [yesterday.isoformat()], "aks-demo")
    assert local_store.head(Layout().allocation_key("aks-demo", yesterday, "aks")).size > 0
