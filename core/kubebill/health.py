"""Health counters of the pipeline, kept in the store (`results/_state/health.json`).

Merges, ignored and bad events update it; the metrics sink renders it (last merge time, duration,
success, errors, and `inputs`: the input ledger's objects per state as of the last merge, exposed as
`kubebill_inputs{state=…}`). Updates are read-modify-write with an etag precondition, retried on a lost race.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubebill.errors import PreconditionFailed
from kubebill.layout import Layout
from kubebill.ledger import records
from kubebill.ledger.record import STATES
from kubebill.sinks.exposition import Family
from kubebill.store.base import Store

KEY = "health.json"
COUNTERS = (
    "merges_total",
    "merge_failures_total",
    "bad_inputs_total",
    "bad_events_total",
    "ignored_events_total",
    "exports_total",
    "export_failures_total",
)


def read(store: Store, layout: Layout) -> dict[str, Any]:
    """The current health record; `{}` when nothing has run yet (or it is damaged: ledger.records)."""
    return records.load(store, layout.state_key(KEY), _parse, dict[str, Any]())[0]


def _parse(body: bytes) -> dict[str, Any]:
    """The health record in `body`, each field the merge and the metrics read of its type; InputError naming the first
    that is not (the record is then read as empty: ledger.records)."""
    return records.fields(records.json_object(body), _FIELDS)


_FIELDS = dict.fromkeys(COUNTERS, records.COUNT) | {
    "bad_inputs": records.TEXTS,
    "last_bad_inputs": records.TEXTS,
    "last_merge_days": records.TEXTS,
    "inputs": records.COUNTS,
    "last_merge_success": records.BOOL,
    "last_merge_duration_seconds": records.NUMBER,
}


def record(
    store: Store, layout: Layout, *, increment: tuple[str, ...] | Mapping[str, int] = (), **fields: Any
) -> dict[str, Any]:
    """Add 1 to each counter in `increment` (or the amount a mapping gives), set `fields`, stamp `updated`."""
    amounts = dict(increment) if isinstance(increment, Mapping) else dict.fromkeys(increment, 1)
    for name in amounts:
        if name not in COUNTERS:
            raise ValueError(f"unknown health counter {name!r}; expected one of {', '.join(COUNTERS)}")
    key = layout.state_key(KEY)
    for _ in range(20):
        current, etag = records.load(store, key, _parse, dict[str, Any]())
        for name, amount in amounts.items():
            current[name] = int(current.get(name, 0)) + amount
        current.update(fields)
        current["updated"] = datetime.now(UTC).isoformat()
        body = json.dumps(current, sort_keys=True, default=str).encode()
        try:
            if etag is None:
                store.write(key, body, if_absent=True)
            else:
                store.write(key, body, if_match=etag)
            return dict(current)
        except PreconditionFailed:
            continue
    raise RuntimeError(f"could not update {key}: too many concurrent writers")


def inputs_family(record: dict[str, Any]) -> Family:
    """`kubebill_inputs{state=…}`: input objects per ledger state at the last merge (every state, 0 when none)."""
    family = Family("kubebill_inputs", "gauge", "Input objects (billing files, allocation exports) per ledger state")
    counts = record.get("inputs") or {}
    for state in STATES:
        family.add(float(counts.get(state, 0)), state=state)
    return family
