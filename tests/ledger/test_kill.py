"""kill -9 at random points of a merge: the next merge repairs every output and equals an uninterrupted merge.

The child process merges through a store that SIGKILLs it right before or right after its Nth write or delete
(N drawn at random over every write of the merge up to its last day-state commit: the ledger, each day's
result, each day's state, the month CSV, the commits), so every window between two writes is reachable
without any hook in kubebill itself."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from kubebill.sinks import results
from kubebill.store.local import LocalStore
from tests.ledger.bills import LAYOUT
from tests.pipeline.merge_inputs import DAY, focus_csv, make_store, parquet_bytes
from tests.reconcile.tables import alloc_row, allocation

DAYS = [DAY + timedelta(days=n) for n in range(2)]
BILL = "billing/focus/2025-06.csv"
FINAL = focus_csv([("arn:aws:ec2:us-east-1:1:instance/i-0001", 0.75, h) for h in range(24)] + [("bucket-1", 4.0, 5)])

# argv: store root, N (0: count only), before|after, file for the keys written; prints the merge summary as JSON
CHILD = """
import json, os, signal, sys
from kubebill import pipeline
from kubebill.settings import Settings
from kubebill.store.local import LocalStore

root, nth, when, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
written = []


class Killing:
    def __init__(self, inner):
        self.inner, self.url = inner, inner.url

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _op(self, key, run):
        written.append(key)
        with open(log, "w") as out:
            json.dump(written, out)
        if len(written) == nth and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = run()
        if len(written) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    def write(self, key, data, **kw):
        return self._op(key, lambda: self.inner.write(key, data, **kw))

    def write_file(self, key, path, **kw):
        return self._op(key, lambda: self.inner.write_file(key, path, **kw))

    def delete(self, key, **kw):
        return self._op(key, lambda: self.inner.delete(key, **kw))


summary = pipeline.merge(Killing(LocalStore(root)), Settings(result_csv="month"))
print(json.dumps({"days": [str(d) for d in summary.days], "merged": [str(d) for d in summary.merged],
                  "unchanged": [str(d) for d in summary.unchanged]}))
"""


KILLS_PER_KIND = 5


def _inputs(root: Path) -> None:
    store = make_store(root)
    for n, day in enumerate(DAYS[1:], start=1):
        rows = [alloc_row(namespace=ns, start=24 * n + h, cpu=1 + n) for h in range(24) for ns in ("web", "db")]
        store.write(LAYOUT.allocation_key("c1", day, "opencost"), parquet_bytes(allocation(rows)))
        lines = [("arn:aws:ec2:us-east-1:1:instance/i-0001", 0.25 * n, h) for h in range(24)]
        store.write(f"billing/focus/{day}.csv", focus_csv(lines, day=day))


def _merge(root: Path, *, nth: int = 0, when: str = "after") -> tuple[int, dict[str, list[str]], list[str]]:
    """A merge in a fresh process: (exit code, its summary when it finished, the keys it wrote or deleted)."""
    log = root.parent / f"{root.name}-writes.json"
    scratch = root.parent / "tmp"  # a killed merge leaves its temporary folder: under the test's, not /tmp
    scratch.mkdir(exist_ok=True)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(nth), when, str(log)],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert child.returncode in (0, -9), child.stderr.decode()[-2000:]
    summary = json.loads(child.stdout) if child.returncode == 0 else {}
    return child.returncode, summary, json.loads(log.read_text()) if log.exists() else []


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


def _last_state_write(writes: list[str]) -> int:
    """1-based index of the merge's last write of a day's state (its commit): a kill up to it leaves work."""
    return max(n for n, key in enumerate(writes, start=1) if "/_state/merge/" in key)


def _store(root: Path, *, merged_before: bool) -> None:
    """The inputs with the final bill; `merged_before`: merged once before the bill changed (stale outputs are at
    stake then)."""
    _inputs(root)
    if merged_before:
        assert _merge(root)[0] == 0
    LocalStore(root).write(BILL, FINAL)


@pytest.mark.slow
def test_a_merge_killed_at_any_write_is_repaired_by_the_next_one(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    _store(reference, merged_before=False)
    code, _, writes = _merge(reference)
    assert code == 0
    want = _outputs(reference)
    # the writes of an uninterrupted merge of each kind of store, up to its last day-state commit
    probe = tmp_path / "probe"
    _store(probe, merged_before=True)
    last = {False: _last_state_write(writes), True: _last_state_write(_merge(probe)[2])}
    # kill points drawn at random, without repeats, per kind of store (before or after the Nth write; right after
    # the last commit nothing is left to repair, so that point is not drawn)
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    draws = {
        before: rng.sample(
            [("after", n) for n in range(1, last[before])] + [("before", n) for n in range(1, last[before] + 1)],
            KILLS_PER_KIND,
        )
        for before in (False, True)
    }
    for attempt in range(2 * KILLS_PER_KIND):
        root = tmp_path / f"killed-{attempt}"
        before = bool(attempt % 2)
        _store(root, merged_before=before)
        when, nth = draws[before][attempt // 2]
        code, _, done = _merge(root, nth=nth, when=when)
        where = f"killed {when} write {nth} of {last[before]} ({done[-1] if done else '?'}), seed {seed}"
        assert code == -9 and len(done) == nth, f"not killed: {where}"
        code, again, _ = _merge(root)
        assert code == 0
        assert again["merged"] and not again["unchanged"], f"{where}: the next merge said {again}"
        got = _outputs(root)
        assert got[1] == want[1], f"month CSV differs after a merge {where}"
        assert got[0].keys() == want[0].keys()
        for day, table in want[0].items():
            assert got[0][day].equals(table), f"{day} differs after a merge {where}"
        assert _merge(root)[1]["days"] == [], f"{where}: a repaired store still has work pending"
    shutil.rmtree(tmp_path, ignore_errors=True)
