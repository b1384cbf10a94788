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
from collections.abc import Callable, Mapping
from datetime import date
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


# What a record's field must be, for `fields`: a test and its name for the message.
Kind = tuple[Callable[[Any], bool], str]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


COUNT: Kind = (_count, "a count")
NUMBER: Kind = (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a number")
BOOL: Kind = (lambda v: isinstance(v, bool), "true or false")
TEXT: Kind = (lambda v: isinstance(v, str), "a text")
TEXT_OR_NULL: Kind = (lambda v: v is None or isinstance(v, str), "a text or null")
TEXTS: Kind = (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of texts")
PAIRS: Kind = (
    lambda v: isinstance(v, list) and all(isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) for x in v),
    "a list of [key, etag] pairs",
)


def _iso_days(value: Any) -> bool:
    try:
        return TEXTS[0](value) and all(date.fromisoformat(v) for v in value)
    except ValueError:
        return False


ISO_DAYS: Kind = (_iso_days, "a list of ISO days (YYYY-MM-DD)")
COUNTS: Kind = (lambda v: isinstance(v, dict) and all(_count(n) for n in v.values()), "counts by name")


def fields(document: dict[str, Any], kinds: Mapping[str, Kind]) -> dict[str, Any]:
    """`document` when each of its fields named in `kinds` is of its kind; InputError naming the first that is not."""
    for name, (ok, expected) in kinds.items():
        if name in document and not ok(document[name]):
            raise InputError(f"{name}: expected {expected}, found {document[name]!r:.80}")
    return document
