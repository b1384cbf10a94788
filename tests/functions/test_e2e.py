"""End to end per cloud, on its storage emulator: upload an allocation export and a billing export, deliver
the platform's events to the function entry points, and the result appears; the same event again changes
nothing; two events for one day at once end in one consistent result (the emulators enforce preconditions).

AWS on moto_server (S3), Azure on Azurite (Blob), GCP on fake-gcs-server (GCS); stores have a root prefix.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from kubebill.layout import Layout
from kubebill.sinks import results
from tests.emulators import Backend
from tests.functions.clouds import CLOUDS, race
from tests.functions.conftest import AKS_KEY

EMULATOR = {"aws": "s3_env", "azure": "azure_env", "gcp": "gcs_env"}
AZURE_BILL = "billing/azure/cost-management/cost-management-export.csv"


def _versions(backend: Backend) -> set[tuple[str, str]]:
    return {(i.key, i.etag) for i in backend.store.list() if not i.key.endswith("_state/health.json")}


@pytest.mark.parametrize("name", sorted(EMULATOR))
def test_events_on_the_emulated_bucket_produce_the_result(
    name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, external: Path, aks_allocation: bytes
):
    backend: Backend = request.getfixturevalue(EMULATOR[name])
    monkeypatch.setenv("KUBEBILL_STORE", backend.url)
    monkeypatch.setenv("AZURE_STORAGE_RESULT_FILE", "cost-analysis/result.csv")  # the AKS tool's: month CSVs on
    cloud: Any = CLOUDS[name]()
    parsed = urlparse(backend.url)
    bucket, root = parsed.netloc, parsed.path.strip("/")
    layout = Layout()

    def deliver(key: str) -> None:
        cloud.created(bucket, f"{root}/{key}")

    backend.store.write(AKS_KEY, aks_allocation)
    backend.store.write(AZURE_BILL, (external / "aks" / "cost-management-export.csv").read_bytes())
    failures = race(deliver, [AKS_KEY, AZURE_BILL])
    assert failures == []

    assert [d.isoformat() for d in results.available_days(backend.store, layout)] == ["2025-06-16", "2025-06-17"]
    day = results.read_day(backend.store, layout, date(2025, 6, 17))
    assert day.num_rows > 0
    month = backend.store.read_bytes(layout.result_csv_key(2025, 6))
    assert month.startswith(results.HEADER) and month.count(results.HEADER) == 1
    days = [layout.result_day_csv_key(date(2025, 6, d)) for d in (16, 17)]
    assert month == b"".join(backend.store.read_bytes(key) for key in days)  # composed by the service
    assert backend.store.read_bytes("cost-analysis/result.csv") == month

    before = _versions(backend)
    deliver(AZURE_BILL)  # the same event again
    deliver(AKS_KEY)
    assert _versions(backend) == before
    assert results.read_day(backend.store, layout, date(2025, 6, 17)).equals(day)

    # A result written under the results prefix never triggers a merge, even delivered as an event.
    deliver(layout.result_parquet_key(date(2025, 6, 17)))
    assert _versions(backend) == before
