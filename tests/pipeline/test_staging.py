"""The merge's staging of a billing unit (`pipeline._Staged`): read on a thread of its own, every line summed for the
ledger, only the merge's days kept in the local copy, a bad unit recorded and its copy removed."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill import billing, pipeline
from kubebill.store.local import LocalStore
from tests.pipeline.merge_inputs import DAY, LAYOUT, focus_csv

DAYS = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]


def _store(root: Path) -> LocalStore:
    """One FOCUS unit: 24 hourly lines on each of three days, the day's index + 1 as each line's BilledCost."""
    store = LocalStore(root / "store")
    files = [focus_csv([(f"i-{n}", float(n + 1), h) for h in range(24)], day=day) for n, day in enumerate(DAYS)]
    body = files[0] + b"".join(f.split(b"\n", 1)[1] for f in files[1:])  # one header
    store.write("billing/focus/2025-06.csv", body)
    return store


def _stage(store: LocalStore, workdir: Path, days: set[date] | None) -> tuple[pipeline._Staged, object, str | None]:
    staged = pipeline._Staged(str(workdir), days)
    (unit,) = billing.scan(store, LAYOUT).units
    return staged, unit, staged.path(store, unit)


@pytest.mark.parametrize(
    ("days", "kept"),
    [({DAY}, {DAY: 2.0}), (set(DAYS), {d: n + 1.0 for n, d in enumerate(DAYS)}), (None, None)],
)
def test_staging_keeps_the_merges_days_and_sums_every_line(
    tmp_path: Path, days: set[date] | None, kept: dict[date, float] | None
) -> None:
    store = _store(tmp_path)
    staged, unit, path = _stage(store, tmp_path, days)
    assert path is not None
    table = pq.read_table(path)
    expected = kept if kept is not None else {d: n + 1.0 for n, d in enumerate(DAYS)}
    starts = pc.cast(table["ChargePeriodStart"], "date32")
    assert sorted(set(starts.to_pylist())) == sorted(expected)
    for day, cost in expected.items():
        of_day = table.filter(pc.equal(starts, day))
        assert of_day.num_rows == 24 and pc.sum(of_day["BilledCost"]).as_py() == pytest.approx(24 * cost)
    # the ledger's sums and the unit's days cover every line, kept or not
    assert staged.line_days[unit] == set(DAYS)
    for n, day in enumerate(DAYS):
        assert staged.expected([unit], day) == {
            "USD": pytest.approx(
                {
                    "BilledCost": 24 * (n + 1.0),
                    "EffectiveCost": 24 * (n + 1.0) * 0.8,
                    "ListCost": 24 * (n + 1.0) * 1.2,
                    "ContractedCost": 24 * (n + 1.0),
                }
            )
        }


def test_a_unit_that_fails_on_its_reading_thread_is_recorded_and_its_copy_removed(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    good = focus_csv([("i-1", 1.0, h) for h in range(3)])
    store.write("billing/focus/2025-06.csv", good + b"2025-06-01T00:00:00Z,2025-06-17T05:00:00Z,,AWS,x,Compute,i-2,"
                b"Usage,USD,not-a-number,1,1,1,\n")  # fmt: skip
    workdir = tmp_path / "work"
    workdir.mkdir()
    staged, unit, path = _stage(store, workdir, {DAY})
    assert path is None
    assert "not-a-number" in staged.errors[unit] or "BilledCost" in staged.errors[unit]
    assert staged.reads[unit].error == staged.errors[unit]
    assert os.listdir(workdir) == []  # the partial copy is gone
