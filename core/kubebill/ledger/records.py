"""Reading kubebill's own JSON records under ``results/_state/``: the ledger, each day's merge state, the day record
and the health record.

Each is kubebill's bookkeeping, never the money: the ledger is built again from a fresh scan of the inputs on every
merge, a day's state only says whether its result is current, health's counters are figures. A damaged record (not
JSON, not what it should hold: cut short, overwritten, edited by hand) is therefore logged, naming the key and what
was wrong, and read as empty. Stopping on it instead stopped every later merge until someone deleted it by hand, and
every result went stale meanwhile. The record's etag is still returned, so the next conditional write replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from kubebill import log
from kubebill.errors import InputError
from kubebill.store.base import Store

LOG = log.get("state")
T = TypeVar("T")


def load(store: Store, key: str, parse: Callable[[bytes], T], empty: T, *, warn: bool = True) -> tuple[T, str | None]:
    """(`parse(body)`, etag) of the record at `key`; (`empty`, None) when there is none; (`empty`, etag) when it is
    damaged: `parse` raised InputError, ValueError, TypeError, KeyError or AttributeError on it (logged unless `warn` is
    false: a caller reading it again in one run)."""
    try:
        etag = store.head(key).etag  # before the read: a newer body then fails the next write's if_match
        body = store.read_bytes(key)
    except FileNotFoundError:
        return empty, None
    try:
        return parse(body), etag
    except (ValueError, TypeError, KeyError, AttributeError, InputError) as exc:
        if not warn:
            return empty, etag
        LOG.warning(
            "state record unreadable: read as empty, the next write replaces it",
            extra={"key": key, "reason": f"{type(exc).__name__}: {exc}"[:300], "found": body[:80].decode("latin-1")},
        )
        return empty, etag


def json_object(body: bytes) -> dict[str, Any]:
    """The JSON object in `body`; InputError saying what was found otherwise."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InputError(f"expected JSON, found unreadable bytes ({exc})") from None
    if not isinstance(document, dict):
        raise InputError(f"expected a JSON object, found {type(document).__name__}")
    return document
