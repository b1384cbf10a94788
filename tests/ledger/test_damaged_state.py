"""kubebill's own records and results damaged between merges: no merge stops on them, no result stays missing or
foreign, and the money is the bill's (DESIGN 3.4). On the four stores."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kubebill import health, pipeline
from kubebill.cli import main
from kubebill.ledger import LedgerStore, QueueStore
from kubebill.settings import Settings
from kubebill.store.base import Store
from kubebill.store.local import LocalStore
from tests.emulators import Backend
from tests.ledger.bills import LAYOUT, assert_sums, cur2_run, expected, focus_csv

SETTINGS = Settings(result_csv="month")
JUNE = [(date(2025, 6, d), 1.25 * d, "USD") for d in (3, 4, 5)]
EUR = [(date(2025, 6, 4), 7.5, "EUR")]
DAY = date(2025, 6, 4)

# (record, damaged body): cut short, not JSON, JSON of another shape, fields of the wrong type
DAMAGE = {
    "ledger.json": [
        b'{"entries": [{"key": "billing/a',
        b"\x00\xff",
        b"[]",
        b'{"entries": 5}',
        b'{"entries": [7]}',
        b'{"entries": [{"key": "k", "kind": "billing", "state": "accepted", "days": "2025-06-04"}]}',
    ],
    f"merge/{DAY.isoformat()}.json": [b"", b'"a text"', b"{not json", b'{"rows": "x"}', b'{"inputs": 5}'],
    "health.json": [b"nope", b"[1, 2]", b'{"merges_total": "x", "bad_inputs": 5}', b'{"inputs": {"accepted": "a"}}'],
    "queue.json": [b'{"days": ["2025-13-01"]}', b"{"],
}


def _merged(store: Store) -> None:
    cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [d for d, _, _ in JUNE]


def test_a_damaged_state_record_is_read_as_empty_and_written_again(
    any_store: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """Each damage used to stop every later merge (a JSON or type error, exit 1) until the record was deleted by hand,
    every result going stale meanwhile."""
    store = any_store.store
    _merged(store)
    for name, bodies in DAMAGE.items():
        key = LAYOUT.state_key(name)
        for body in bodies:
            caplog.clear()
            store.write(key, body)
            summary = pipeline.merge(store, SETTINGS)
            assert_sums(store, expected(JUNE))
            warned = [r for r in caplog.records if r.getMessage().startswith("state record unreadable")]
            assert warned and {r.key for r in warned} == {key}, (name, body)  # type: ignore[attr-defined]
            # the day whose state was damaged is merged again, to the same money; no other day is
            assert summary.merged == ([DAY] if name.startswith("merge/") else []), (name, body)
            if name != "queue.json":  # the day record is written only when a day is recorded or leaves it
                json.loads(store.read_bytes(key))  # written again whole
    assert LedgerStore(store, LAYOUT).load()[0].entries
    assert health.read(store, LAYOUT)["merges_total"] >= 1
    assert QueueStore(store, LAYOUT).load()[0].days == frozenset()
    assert pipeline.merge(store, SETTINGS).merged == []


@pytest.mark.parametrize("damage", ["deleted", "replaced"])
def test_a_result_deleted_or_replaced_is_merged_again(any_store: Backend, damage: str) -> None:
    """A day's result is derived from inputs still there: one deleted, or overwritten by anything but a merge (a copy
    tool, a truncated upload), is written again by the next merge, and its month's CSV composed again. It used to
    stay missing or foreign while the day's state said it was current."""
    store = any_store.store
    _merged(store)
    key = LAYOUT.result_parquet_key(DAY)
    if damage == "deleted":
        store.delete(key)
    else:
        store.write(key, store.read_bytes(key)[:100])
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [DAY]
    assert_sums(store, expected(JUNE))
    month = store.read_bytes(LAYOUT.result_csv_key(2025, 6)).decode()
    assert "2025-06-04" in month
    assert pipeline.merge(store, SETTINGS).merged == []


@pytest.mark.parametrize("ledger", ["deleted", "damaged"])
def test_a_restatement_after_the_ledger_was_lost_still_empties_the_days_it_left(
    any_store: Backend, ledger: str
) -> None:
    """Without the previous ledger, the days a restated bill no longer covers are found from the results and each
    day's merge state (which inputs it was merged from): days 3 and 5 lose the money they kept before."""
    store = any_store.store
    store.write("billing/focus/june.csv", focus_csv(JUNE))
    pipeline.merge(store, SETTINGS)
    key = LAYOUT.state_key("ledger.json")
    if ledger == "deleted":
        store.delete(key)
    else:
        store.write(key, store.read_bytes(key)[:50])
    store.write("billing/focus/june.csv", focus_csv(EUR))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [date(2025, 6, d) for d in (3, 4, 5)]
    assert_sums(store, expected(EUR))
    assert pipeline.merge(store, SETTINGS).days == []


@pytest.mark.parametrize("command", [["report"], ["report", "--by", "namespace", "--format", "json"], ["metrics"],
                                     ["prices"]])  # fmt: skip
def test_a_damaged_result_read_before_the_next_merge_is_one_line_naming_it(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every reader of results (reports, metrics, prices) says which object and what to do, exit 2; it printed
    Arrow's 'magic bytes not found' naming no object, and once aborted the interpreter (exit 134)."""
    store = LocalStore(tmp_path)
    _merged(store)
    key = LAYOUT.result_parquet_key(DAY)
    store.write(key, b"PAR1 cut short")
    assert main([*command, "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{key}: not a readable result" in err and "kubebill merge" in err and "Traceback" not in err
