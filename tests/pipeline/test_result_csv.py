"""KUBEBILL_RESULT_CSV end to end on a local store: no CSV by default, a CSV per day, and the month composed from
the day files (one header, days in order, only the merged day converted again), also at the AKS tool's key."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from kubebill import pipeline
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore
from tests.pipeline.merge_inputs import DAY, LAYOUT, focus_csv, make_store

DAYS = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]


def _bills(store: LocalStore, *, cost: float = 1.0) -> None:
    """A bill file per day: one EC2 line an hour of DAYS (only DAY has an allocation)."""
    for day in DAYS:
        lines = [("arn:aws:ec2:us-east-1:1:instance/i-0001", cost, h) for h in range(24)]
        store.write(f"billing/focus/{day.isoformat()}.csv", focus_csv(lines, day=day))


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_no_csv_by_default(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert Settings.from_env({}).result_csv == "off"

    pipeline.merge(store, Settings(), days=[DAY])

    assert results.available_days(store, LAYOUT) == [DAY]
    assert list(store.list(f"{LAYOUT.results_prefix}/csv/")) == []


def test_day_mode_writes_each_day_with_its_header_next_to_its_parquet(tmp_path: Path) -> None:
    store = make_store(tmp_path, bill=False)
    _bills(store)

    summary = pipeline.merge(store, Settings(result_csv="day"), days=DAYS)

    assert summary.merged == DAYS
    for day in DAYS:
        rows = _rows(store.read_bytes(LAYOUT.result_day_csv_key(day)))
        assert len(rows) == results.read_day(store, LAYOUT, day).num_rows
        assert sum(float(r["BilledCost"]) for r in rows) == pytest.approx(24.0)
        assert {r["ChargePeriodStart"][:10] for r in rows} == {day.isoformat()}
    assert [i.key for i in store.list(f"{LAYOUT.results_prefix}/csv/")] == [
        LAYOUT.result_day_csv_key(d) for d in DAYS
    ]  # no month file


def test_month_mode_composes_the_day_files_in_order_and_converts_only_the_day_merged(tmp_path: Path) -> None:
    store = make_store(tmp_path, bill=False)
    _bills(store)
    settings = Settings(result_csv="month")
    pipeline.merge(store, settings, days=[DAYS[2]])  # the last day first: its file starts with the header ...
    summary = pipeline.merge(store, settings, days=DAYS[:2])  # ... which it loses once earlier days have results

    month = store.read_bytes(LAYOUT.result_csv_key(2025, 6))
    assert month.count(results.HEADER) == 1 and month.startswith(results.HEADER)
    assert month == b"".join(store.read_bytes(LAYOUT.result_day_csv_key(d)) for d in DAYS)
    rows = _rows(month)
    assert len(rows) == sum(results.read_day(store, LAYOUT, d).num_rows for d in DAYS)
    assert [r["ChargePeriodStart"][:10] for r in rows] == sorted(r["ChargePeriodStart"][:10] for r in rows)
    assert sum(float(r["BilledCost"]) for r in rows) == pytest.approx(72.0)
    assert LAYOUT.result_csv_key(2025, 6) in summary.keys

    others = {d: store.head(LAYOUT.result_day_csv_key(d)).etag for d in (DAYS[0], DAYS[2])}
    store.write(f"billing/focus/{DAY.isoformat()}.csv", focus_csv([("i-0001", 2.0, h) for h in range(24)], day=DAY))
    pipeline.merge(store, settings, days=[DAY])

    assert {d: store.head(LAYOUT.result_day_csv_key(d)).etag for d in (DAYS[0], DAYS[2])} == others
    rows = _rows(store.read_bytes(LAYOUT.result_csv_key(2025, 6)))
    assert sum(float(r["BilledCost"]) for r in rows) == pytest.approx(24.0 + 48.0 + 24.0)


def test_month_mode_converts_days_merged_before_it_was_on(tmp_path: Path) -> None:
    store = make_store(tmp_path, bill=False)
    _bills(store)
    pipeline.merge(store, Settings(), days=DAYS[:2])  # CSV off: Parquet only

    pipeline.merge(store, Settings(result_csv="month"), days=[DAYS[2]])

    rows = _rows(store.read_bytes(LAYOUT.result_csv_key(2025, 6)))
    assert len(rows) == sum(results.read_day(store, LAYOUT, d).num_rows for d in DAYS)


def test_the_aks_tools_result_file_gets_the_month(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"KUBEBILL_STORE": str(tmp_path), "AZURE_STORAGE_RESULT_FILE": "cost-analysis/result.csv"}
    )
    assert (settings.result_csv, settings.result_csv_file) == ("month", "cost-analysis/result.csv")
    assert Settings.from_env({"AZURE_STORAGE_RESULT_FILE": "x.csv", "KUBEBILL_RESULT_CSV": "day"}).result_csv == "day"
    store = make_store(tmp_path)

    summary = pipeline.merge(store, settings, days=[DAY])

    month = store.read_bytes(LAYOUT.result_csv_key(2025, 6))
    assert store.read_bytes("cost-analysis/result.csv") == month
    assert "cost-analysis/result.csv" in summary.keys
    assert len(_rows(month)) == results.read_day(store, LAYOUT, DAY).num_rows


def test_header_is_the_result_schema_as_duckdb_writes_it(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    pipeline.merge(store, Settings(result_csv="day"), days=[DAY])
    with store.open(LAYOUT.result_day_csv_key(DAY)) as stream:
        assert stream.readline() == results.HEADER


@pytest.mark.parametrize("then", ["off", "day"])
def test_a_csv_the_new_mode_does_not_write_is_removed_instead_of_going_stale(tmp_path: Path, then: str) -> None:
    """Month mode, then `off` or `day`: the CSVs the new mode writes no more went stale as the days merged again
    (a restated bill's money in the Parquet, the old money in the CSVs)."""
    store = make_store(tmp_path, bill=False)
    _bills(store)
    pipeline.merge(store, Settings(result_csv="month"))
    assert store.head(LAYOUT.result_csv_key(2025, 6))

    _bills(store, cost=2.0)
    summary = pipeline.merge(store, Settings(result_csv=then))

    assert summary.merged == DAYS
    listed = [i.key for i in store.list(f"{LAYOUT.results_prefix}/csv/")]
    assert listed == ([] if then == "off" else [LAYOUT.result_day_csv_key(d) for d in DAYS])
    for key in listed:
        assert sum(float(r["BilledCost"]) for r in _rows(store.read_bytes(key))) == pytest.approx(48.0)


@pytest.mark.parametrize("damage", ["deleted", "replaced"])
def test_a_day_csv_deleted_or_replaced_by_hand_is_written_again_by_the_next_merge(tmp_path: Path, damage: str) -> None:
    """The day CSV is an output like the Parquet: gone or not the one the merge wrote, its day merges again (it
    stayed missing or foreign until the day's inputs changed)."""
    store = make_store(tmp_path, bill=False)
    _bills(store)
    settings = Settings(result_csv="day")
    pipeline.merge(store, settings)
    key = LAYOUT.result_day_csv_key(DAY)
    good = store.read_bytes(key)
    if damage == "deleted":
        store.delete(key)
    else:
        store.write(key, b"not,the,result\n")

    summary = pipeline.merge(store, settings)

    assert summary.merged == [DAY]
    assert sorted(store.read_bytes(key).splitlines()) == sorted(good.splitlines())  # rows in any order
    assert pipeline.merge(store, settings).merged == []


@pytest.mark.parametrize("key", [LAYOUT.result_csv_key(2025, 6), "cost-analysis/result.csv"])
def test_a_month_csv_deleted_by_hand_is_composed_again_without_merging_a_day(tmp_path: Path, key: str) -> None:
    """The month's CSV, or the AKS tool's result file, deleted: composed again from the day CSVs."""
    store = make_store(tmp_path, bill=False)
    _bills(store)
    settings = Settings(result_csv="month", result_csv_file="cost-analysis/result.csv")
    pipeline.merge(store, settings)
    good = store.read_bytes(key)
    store.delete(key)

    summary = pipeline.merge(store, settings)

    assert summary.merged == []
    assert store.read_bytes(key) == good  # the same day files composed
