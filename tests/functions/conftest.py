"""Fixtures of the function tests: a store named like the events' bucket, the cloud adapters, the log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubebill.store import LocalStore
from tests.functions.clouds import CLOUDS
from tests.sources import replay

BUCKET = "kubebill-test"
TOKEN = "s3cr3t-metrics-token"


class Lines(logging.Handler):
    """Every `kubebill.events` line (one per event), parsed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(record.getMessage()))

    def take(self) -> list[dict[str, Any]]:
        taken, self.records = self.records, []
        return taken


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("kubebill.events")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """A local store whose directory name is the events' bucket (a local directory stands in for a bucket)."""
    root = tmp_path / BUCKET
    root.mkdir()
    for name in list(__import__("os").environ):
        if name.startswith("KUBEBILL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KUBEBILL_STORE", str(root))
    monkeypatch.setenv("KUBEBILL_METRICS_TOKEN", TOKEN)
    return LocalStore(root, url=str(root))


@pytest.fixture(params=sorted(CLOUDS), scope="module")
def cloud(request: pytest.FixtureRequest) -> Any:
    return CLOUDS[request.param]()


@pytest.fixture(scope="session")
def aks_allocation(external: Path) -> bytes:
    """The real AKS cost-analysis agent sample (2025-06-17) as the allocation export Parquet kubebill writes."""
    import io
    from datetime import date

    import pyarrow.parquet as pq

    from kubebill.sources import aks_agent

    table = aks_agent.parse(
        [(external / "aks" / "cost-analysis.json").read_bytes()], day=date(2025, 6, 17), cluster="aks-demo"
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.fixture
def aks_api(external: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 answering like the AKS cost-analysis agent (`/resources/v1`)."""
    with replay.aks_agent(external) as url:
        yield url


AKS_KEY = "allocations/cluster=aks-demo/year=2025/month=06/day=17/aks.parquet"


@pytest.fixture
def aks_day(local_store: LocalStore, external: Path, aks_allocation: bytes) -> str:
    """The real AKS bill (Cost Management export) and the cluster's allocation export of 2025-06-17 in the
    store, with no event delivered yet; returns the allocation's key (its event merges the day)."""
    local_store.write(
        "billing/azure/cost-management-export.csv", (external / "aks" / "cost-management-export.csv").read_bytes()
    )
    local_store.write(AKS_KEY, aks_allocation)
    return AKS_KEY
