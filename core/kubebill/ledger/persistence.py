"""The ledger's persistence layer: one JSON object under ``results/_state/`` and conditional writes."""

from __future__ import annotations

import json

from kubebill.errors import InputError, PreconditionFailed
from kubebill.layout import Layout
from kubebill.ledger import records
from kubebill.ledger.record import Ledger
from kubebill.store.base import Store

NAME = "ledger.json"
_ATTEMPTS = 20


class LedgerStore:
    """Load and save the ledger of one store. `save` writes only if nobody wrote since `load` (else it raises
    PreconditionFailed); `replace` is for a merge that just built the ledger from a fresh scan: a lost race is
    retried, the newest scan's ledger is the one kept."""

    def __init__(self, store: Store, layout: Layout) -> None:
        self.store = store
        self.key = layout.state_key(NAME)

    def load(self, *, warn: bool = True) -> tuple[Ledger, str | None]:
        """The ledger and its etag; a damaged one is read as empty, logged when `warn` (see ledger.records): the
        merge builds the ledger again from its scan."""
        return records.load(self.store, self.key, _parse, Ledger(), warn=warn)

    def save(self, ledger: Ledger, etag: str | None) -> str:
        body = _body(ledger)
        if etag is None:
            return self.store.write(self.key, body, if_absent=True).etag
        return self.store.write(self.key, body, if_match=etag).etag

    def replace(self, ledger: Ledger) -> str | None:
        """Write `ledger` over whatever is there; nothing is written when it is unchanged (returns its etag)."""
        for _ in range(_ATTEMPTS):
            current, etag = self.load(warn=False)  # the merge's own load named a damaged ledger already
            if etag is not None and _body(current) == _body(ledger):
                return etag
            try:
                return self.save(ledger, etag)
            except PreconditionFailed:
                continue
        raise RuntimeError(f"could not write {self.key}: {_ATTEMPTS} concurrent writers in a row")


def _parse(body: bytes) -> Ledger:
    doc = records.fields(records.json_object(body), {"entries": (lambda v: isinstance(v, list), "a list")})
    for entry in doc.get("entries", []):
        if not isinstance(entry, dict):
            raise InputError(f"entries: expected objects, found {entry!r:.80}")
        records.fields(entry, _ENTRY)
    return Ledger.from_json(doc)


_ENTRY = {
    "key": records.TEXT,
    "kind": records.TEXT,
    "state": records.TEXT,
    "days": records.ISO_DAYS,
    "parts": records.TEXTS,
    "rows": records.COUNT,
}


def _body(ledger: Ledger) -> bytes:
    return json.dumps(ledger.to_json(), indent=1, sort_keys=True).encode()
