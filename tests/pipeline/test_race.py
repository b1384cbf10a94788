"""Two merges of one day racing (threads on one local store) end with the result of the newest inputs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kubebill import pipeline
from kubebill.errors import PreconditionFailed
from kubebill.settings import Settings
from kubebill.sinks import results
from tests.pipeline.merge_inputs import DAY, LAYOUT, focus_csv, make_store


def test_racing_merges_end_with_the_newest_inputs(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    settings = Settings(store=str(tmp_path))
    errors: list[BaseException] = []

    def merge() -> None:
        try:
            pipeline.merge(store, settings, days=[DAY])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    for round_ in range(3):
        threads = [threading.Thread(target=merge) for _ in range(3)]
        for thread in threads:
            thread.start()
        newest = 1.0 + round_
        store.write("billing/focus/2025-06.csv", focus_csv([("i-0001", newest, 2)]))
        late = threading.Thread(target=merge)  # started after the newest bill landed
        late.start()
        for thread in [*threads, late]:
            thread.join()
        assert not errors
        table = results.read_day(store, LAYOUT, DAY)
        assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(newest)
        state = json.loads(store.read_bytes(LAYOUT.state_key("merge/2025-06-17.json")))
        assert state["result_etag"] == store.head(LAYOUT.result_parquet_key(DAY)).etag


def test_a_stale_writer_cannot_replace_a_newer_day(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    pipeline.merge(store, Settings(store=str(tmp_path)), days=[DAY])
    path = tmp_path / "stale.parquet"
    path.write_bytes(store.read_bytes(LAYOUT.result_parquet_key(DAY)))
    with pytest.raises(PreconditionFailed):
        results.write_day(store, LAYOUT, DAY, str(path), expected_etag="not-the-current-etag")
    with pytest.raises(PreconditionFailed):
        results.write_day(store, LAYOUT, DAY, str(path), expected_etag=None)
