"""KUBEBILL_ENGINE=spark at the AWS, Azure and GCP entry points: events and the catch-up timer record days, log
`deferred`, and merge nothing; the Spark job's `kubebill merge` then merges what they recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kubebill import pipeline
from kubebill.layout import Layout
from kubebill.ledger import QueueStore
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store import LocalStore
from tests.functions.conftest import AKS_KEY, BUCKET, Lines
from tests.spark.conftest import spark  # noqa: F401  (the one session: its merges run in it)

# the Spark tests' worker: the merge below joins their session instead of starting a JVM with Spark's defaults
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

AZURE_BILL = "billing/azure/cost-management-export.csv"


def _recorded(store: LocalStore) -> list[str]:
    return sorted(d.isoformat() for d in QueueStore(store, Layout()).load()[0].days)


def test_events_and_the_catch_up_record_days_and_the_spark_merge_takes_them(
    cloud: Any,
    local_store: LocalStore,
    lines: Lines,
    external: Path,
    aks_allocation: bytes,
    monkeypatch: pytest.MonkeyPatch,
    spark: Any,  # noqa: F811
):
    monkeypatch.setenv("KUBEBILL_ENGINE", "spark")
    local_store.write(AZURE_BILL, (external / "aks" / "cost-management-export.csv").read_bytes())
    cloud.created(BUCKET, AZURE_BILL)
    local_store.write(AKS_KEY, aks_allocation)
    cloud.created(BUCKET, AKS_KEY)
    bill, allocation = lines.take()
    assert (bill["decision"], bill["days"]) == ("deferred", ["2025-06-16", "2025-06-17"])
    assert (allocation["decision"], allocation["days"]) == ("deferred", ["2025-06-17"])
    assert results.available_days(local_store, Layout()) == []
    assert _recorded(local_store) == ["2025-06-16", "2025-06-17"]

    cloud.catch_up()
    [line] = lines.take()
    assert (line["event"], line["decision"]) == ("catch-up", "deferred")
    restated = [d.isoformat() for d in pipeline.catch_up_days(Settings(), datetime.now(UTC).date())]
    assert line["days"] == restated
    assert _recorded(local_store) == sorted({"2025-06-16", "2025-06-17", *restated})

    summary = pipeline.merge(local_store, Settings.from_env())  # what the Spark job's merge selects and clears
    assert [d.isoformat() for d in summary.merged] == ["2025-06-16", "2025-06-17"]
    assert _recorded(local_store) == []
