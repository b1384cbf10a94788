"""One scenario suite, run against the AWS, Azure and GCP entry points with real platform payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubebill import health
from kubebill.layout import Layout
from kubebill.store import LocalStore
from tests.functions.conftest import BUCKET, TOKEN, Lines

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


def test_other_bucket_is_ignored_and_writes_nothing(cloud: Any, local_store: LocalStore, lines: Lines):
    cloud.created("someone-elses-bucket", ALLOCATION)
    [line] = lines.take()
    assert line["decision"] == "ignored"
    assert "someone-elses-bucket" in line["reason"]
    assert _keys(local_store) == []


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
