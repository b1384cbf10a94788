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
