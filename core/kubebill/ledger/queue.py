"""The days waiting for a Spark merge: a record (`DayQueue`) and its persistence (`QueueStore`).

With ``KUBEBILL_ENGINE=spark`` the functions do not merge: they add the days an input changed to
``results/_state/queue.json``; the scheduled ``kubebill merge`` merges them and removes each day it committed.
Every change is a conditional write retried on a lost race, so two writers never lose each other's days.

The record is a hand-off, not the truth: `kubebill merge` also takes every day whose inputs changed since its
committed state (the day fingerprint). A damaged record is therefore logged and read as empty, and the next write
replaces it; it never stops a merge or an event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from kubebill.errors import InputError, PreconditionFailed
from kubebill.layout import Layout
from kubebill.ledger import records
from kubebill.store.base import Store

NAME = "queue.json"
_ATTEMPTS = 20


@dataclass(frozen=True)
class DayQueue:
    """The recorded UTC days (no IO here)."""

    days: frozenset[date] = frozenset()

    def added(self, days: Iterable[date]) -> DayQueue:
        return DayQueue(self.days | set(days))

    def removed(self, days: Iterable[date]) -> DayQueue:
        return DayQueue(self.days - set(days))

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "days": [d.isoformat() for d in sorted(self.days)]}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], *, where: str) -> DayQueue:
        raw = doc.get("days") if isinstance(doc, Mapping) else None
        if not isinstance(raw, list):
            raise InputError(f"{where}: expected an object with a list of ISO days under 'days', found {doc!r:.200}")
        try:
            return cls(frozenset(date.fromisoformat(str(day)) for day in raw))
        except ValueError as exc:
            raise InputError(f"{where}: expected ISO days (YYYY-MM-DD) under 'days': {exc}") from None


def parse(body: bytes, *, where: str) -> DayQueue:
    """The record in `body`; InputError saying what was expected and what was found."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise InputError(f"{where}: expected JSON, found unreadable bytes ({exc})") from None
    return DayQueue.from_json(doc, where=where)


class QueueStore:
    """Load and change the queue of one store. `add` and `remove` re-read and retry until their conditional
    write wins; neither writes when it would change nothing."""

    def __init__(self, store: Store, layout: Layout) -> None:
        self.store = store
        self.key = layout.state_key(NAME)

    def load(self) -> tuple[DayQueue, str | None]:
        """The record and its etag; a damaged record is logged and read as empty (see the module's docstring)."""
        return records.load(self.store, self.key, lambda body: parse(body, where=self.key), DayQueue())

    def add(self, days: Iterable[date]) -> DayQueue:
        wanted = set(days)
        return self._update(lambda queue: queue.added(wanted))

    def remove(self, days: Iterable[date]) -> DayQueue:
        """Remove `days` only: a day recorded again meanwhile by another writer stays if it is not among them."""
        gone = set(days)
        return self._update(lambda queue: queue.removed(gone))

    def _update(self, change: Callable[[DayQueue], DayQueue]) -> DayQueue:
        for _ in range(_ATTEMPTS):
            current, etag = self.load()
            updated = change(current)
            if updated == current:
                return current
            body = json.dumps(updated.to_json(), indent=1).encode()
            try:
                if etag is None:
                    self.store.write(self.key, body, if_absent=True)
                else:
                    self.store.write(self.key, body, if_match=etag)
            except PreconditionFailed:
                continue
            return updated
        raise RuntimeError(f"could not write {self.key}: {_ATTEMPTS} concurrent writers in a row")
