"""The days recorded for the Spark merge: idempotent adds, removals of only the given days, no day lost to a race."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest

from kubebill.errors import InputError
from kubebill.layout import Layout
from kubebill.ledger import DayQueue, QueueStore
from kubebill.ledger.queue import parse
from kubebill.store.base import Store
from tests.emulators import Backend

LAYOUT = Layout()
D1, D2, D3 = date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)


def test_the_record_adds_idempotently_and_round_trips() -> None:
    queue = DayQueue().added([D2, D1]).added([D1])
    assert queue.days == {D1, D2}
    assert queue.removed([D1, D3]).days == {D2}
    assert DayQueue.from_json(queue.to_json(), where="q") == queue
    assert queue.to_json() == {"version": 1, "days": ["2025-06-01", "2025-06-02"]}


def test_a_bad_record_is_named_with_what_was_expected() -> None:
    with pytest.raises(InputError, match=r"results/_state/queue.json: expected ISO days"):
        parse(b'{"days": ["2025-13-01"]}', where="results/_state/queue.json")
    with pytest.raises(InputError, match=r"queue.json: expected an object with a list of ISO days"):
        parse(b"[1, 2]", where="queue.json")
    with pytest.raises(InputError, match=r"queue.json: expected JSON"):
        parse(b"\x00{", where="queue.json")


def test_a_damaged_record_stops_nothing_and_the_next_write_replaces_it(
    local_env: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = local_env.store
    queues = QueueStore(store, LAYOUT)
    store.write(queues.key, b'{"days": ["2025-13-01"]}')
    queue, etag = queues.load()
    assert queue == DayQueue() and etag is not None
    (record,) = [r for r in caplog.records if r.name == "kubebill.state"]
    assert "unreadable" in record.getMessage() and "expected ISO days" in record.reason  # type: ignore[attr-defined]
    assert queues.add([D1]).days == {D1}
    assert json.loads(store.read_bytes(queues.key)) == {"version": 1, "days": ["2025-06-01"]}


def _writes_nothing_when_unchanged(store: Store) -> None:
    queues = QueueStore(store, LAYOUT)
    assert queues.load() == (DayQueue(), None)
    queues.remove([D1])  # nothing recorded: nothing written
    with pytest.raises(FileNotFoundError):
        store.head(queues.key)
    queues.add([D1, D2])
    etag = store.head(queues.key).etag
    queues.add([D2])
    assert store.head(queues.key).etag == etag
    queues.remove([D1])
    assert json.loads(store.read_bytes(queues.key))["days"] == ["2025-06-02"]


def _two_writers_lose_no_day(store: Store) -> None:
    """Two writers add their own days at once while a third removes days it merged: every added day is kept."""
    first = [D1 + timedelta(days=n) for n in range(0, 16, 2)]
    second = [D1 + timedelta(days=n) for n in range(1, 16, 2)]
    merged = [date(2025, 5, 1), date(2025, 5, 2)]
    QueueStore(store, LAYOUT).add(merged)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run(change: str, days: list[date]) -> None:
        queues = QueueStore(store, LAYOUT)  # one per writer, as two function instances would have
        try:
            start.wait()
            for day in days:
                getattr(queues, change)([day])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("add", first)),
        threading.Thread(target=run, args=("add", second)),
        threading.Thread(target=run, args=("remove", merged)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert QueueStore(store, LAYOUT).load()[0].days == {*first, *second}


def test_local_store_writes_nothing_when_unchanged(local_env: Backend) -> None:
    _writes_nothing_when_unchanged(local_env.store)


def test_local_store_two_writers_lose_no_day(local_env: Backend) -> None:
    _two_writers_lose_no_day(local_env.store)


def test_s3_two_writers_lose_no_day(s3_env: Backend) -> None:
    _writes_nothing_when_unchanged(s3_env.store)
    s3_env.store.delete(QueueStore(s3_env.store, LAYOUT).key)
    _two_writers_lose_no_day(s3_env.store)
