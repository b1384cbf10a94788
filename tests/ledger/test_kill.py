"""kill -9 at random points of a merge: the next merge repairs every output and equals an uninterrupted merge."""

from __future__ import annotations

import csv
import io
import random
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from kubebill import pipeline
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore
from tests.ledger.bills import LAYOUT
from tests.pipeline.merge_inputs import DAY, focus_csv, make_store, parquet_bytes
from tests.reconcile.tables import alloc_row, allocation

DAYS = [DAY + timedelta(days=n) for n in range(2)]
BILL = "billing/focus/2025-06.csv"
FINAL = focus_csv([("arn:aws:ec2:us-east-1:1:instance/i-0001", 0.75, h) for h in range(24)] + [("bucket-1", 4.0, 5)])


def _inputs(root: Path) -> None:
    store = make_store(root)
    for n, day in enumerate(DAYS[1:], start=1):
        rows = [alloc_row(namespace=ns, start=24 * n + h, cpu=1 + n) for h in range(24) for ns in ("web", "db")]
        store.write(LAYOUT.allocation_key("c1", day, "opencost"), parquet_bytes(allocation(rows)))
        lines = [("arn:aws:ec2:us-east-1:1:instance/i-0001", 0.25 * n, h) for h in range(24)]
        store.write(f"billing/focus/{day}.csv", focus_csv(lines, day=day))


def _merge_cli(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kubebill.cli", "merge", "--store", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _outputs(root: Path) -> tuple[dict[str, pa.Table], list[str]]:
    """Every day's result rows (in a fixed order) and the month CSV's lines (sorted: row order is free)."""
    store = LocalStore(root)
    days = {
        d.isoformat(): results.read_day(store, LAYOUT, d).sort_by([("x_SourceKey", "ascending"),
                                                                   ("x_SourceRowId", "ascending"),
                                                                   ("x_K8sPod", "ascending")])
        for d in results.available_days(store, LAYOUT)
    }  # fmt: skip
    text = store.read_bytes(LAYOUT.result_csv_key(2025, 6)).decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    return days, [",".join(header), *sorted(",".join(r) for r in rows)]


@pytest.mark.slow
def test_a_merge_killed_anywhere_is_repaired_by_the_next_one(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    _inputs(reference)
    LocalStore(reference).write(BILL, FINAL)
    started = time.monotonic()
    assert _merge_cli(reference).wait(timeout=300) == 0
    duration = time.monotonic() - started
    want = _outputs(reference)
    rng = random.Random(14)
    killed = 0
    for attempt, fraction in enumerate([0.5, 0.8, 0.95, rng.uniform(0.3, 1.0)]):
        root = tmp_path / f"killed-{attempt}"
        _inputs(root)
        if attempt % 2:  # a store merged once already, whose bill then changed: stale outputs are at stake
            assert _merge_cli(root).wait(timeout=300) == 0
        LocalStore(root).write(BILL, FINAL)
        child = _merge_cli(root)
        time.sleep(duration * fraction)
        child.kill()  # SIGKILL: no cleanup of any kind
        killed += child.wait(timeout=60) == -9
        again = pipeline.merge(LocalStore(root), Settings())
        got = _outputs(root)
        assert got[1] == want[1], f"month CSV differs after a kill at {fraction:.2f} of a merge"
        assert got[0].keys() == want[0].keys()
        for day, table in want[0].items():
            assert got[0][day].equals(table), f"{day} differs after a kill at {fraction:.2f} of a merge"
        assert pipeline.merge(LocalStore(root), Settings()).days == [], "a repaired store still has work pending"
        assert again.merged or child.returncode == 0
    assert killed >= 2, "the kills came after the merges had finished: nothing was interrupted"
    shutil.rmtree(tmp_path, ignore_errors=True)
