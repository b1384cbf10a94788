"""Property: over random sets of bill files — duplicates, copies under other prefixes, empty manifests, lines outside
their period, non-finite values — Σ results per day and currency = Σ of the distinct accepted lines, and every
object is in exactly one ledger state."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubebill import billing, pipeline
from kubebill.ledger import STATES, LedgerStore
from kubebill.settings import Settings
from kubebill.store.local import LocalStore
from tests.ledger.bills import LAYOUT, Line, assert_sums, cur2_run, expected, focus_csv

DAYS = [date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)]  # 05-31: outside June's period
lines = st.lists(
    st.tuples(st.sampled_from(DAYS), st.sampled_from([0.5, 1.25, 3.0, -2.0, 10.0]), st.sampled_from(["USD", "EUR"])),
    min_size=1,
    max_size=4,
)


@dataclass(frozen=True)
class Bill:
    kind: str  # focus | cur2
    lines: tuple[Line, ...]
    copies: int  # the same bytes again under other prefixes (a FOCUS file) or the run's folder copied (CUR 2.0)
    bad: str  # "" | "inf" | "empty-manifest"


bills = st.lists(
    st.builds(
        Bill,
        kind=st.sampled_from(["focus", "cur2"]),
        lines=lines.map(tuple),
        copies=st.integers(0, 2),
        bad=st.sampled_from(["", "", "", "inf", "empty-manifest"]),
    ),
    min_size=1,
    max_size=4,
)


def _write(store: LocalStore, number: int, bill: Bill) -> tuple[list[Line], bytes]:
    """Write one bill (and its copies); the lines that must count (none when it must be rejected or wait), and
    what makes it the same bill as another (a FOCUS file's bytes)."""
    lines = list(bill.lines)
    if bill.kind == "focus":
        body = focus_csv(lines)
        if bill.bad == "inf":
            body = body.replace(f"{lines[0][1]!r},".encode(), b"inf,", 1)
        for copy in range(bill.copies + 1):
            store.write(f"billing/focus-{copy}/f{number}.csv", body)
        return ([] if bill.bad == "inf" else lines), body
    data, manifest = cur2_run(store, f"x{number}", date(2025, 6, 1), lines, execution="e1", account=f"{number:012d}")
    if bill.bad == "inf":
        store.write(data, _with_infinity(lines))
    if bill.bad == "empty-manifest":
        store.write(manifest, b"")
    for copy in range(bill.copies):
        for key in (data, manifest):
            store.write(key.replace("billing/aws/", f"billing/aws-copy{copy}/"), store.read_bytes(key))
    return ([] if bill.bad else lines), f"cur2-{number}".encode()


def _with_infinity(lines: list[Line]) -> bytes:
    from tests.ledger.bills import cur2_parquet

    return cur2_parquet([(lines[0][0], float("inf"), lines[0][2]), *lines[1:]])


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bills=bills)
def test_results_sum_to_the_distinct_accepted_lines_and_every_object_has_one_state(bills: list[Bill]) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = LocalStore(Path(root))
        counted: list[Line] = []
        seen: set[bytes] = set()
        for number, bill in enumerate(bills):
            kept, identity = _write(store, number, bill)
            if kept and identity not in seen:  # byte-identical FOCUS files count once
                counted += kept
            seen.add(identity)
        pipeline.merge(store, Settings())
        assert_sums(store, expected(counted))
        listed = {i.key for i in store.list("billing/")}
        ledger, _ = LedgerStore(store, LAYOUT).load()
        assert set(ledger.entries) == listed
        assert all(e.state in STATES for e in ledger.entries.values())
        found = billing.scan(store, LAYOUT)
        placed = Counter(
            [k for u in found.units for k in u.keys]
            + [s.key for s in found.rejected + found.skipped]
            + list(found.companions)
        )
        assert set(placed) == listed and max(placed.values()) == 1, placed
