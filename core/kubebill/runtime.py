"""What every cloud function does around its one pipeline call, the same on AWS, Azure and Google Cloud.

Settings and store are built once per process (warm invocations reuse them); each event ends in exactly
one JSON log line (`kubebill.events` logger: event, key, decision, days, rows, duration_ms); an object in
another bucket or outside the store's prefix is ignored; a bad event is logged, counted in health and
acknowledged; transient errors raise so the platform retries. No function runtime is imported here.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import urlparse

from kubebill import health, pipeline
from kubebill.errors import StoreError, described
from kubebill.events import ObjectEvent
from kubebill.layout import Layout
from kubebill.model import parse_day, utc_today
from kubebill.settings import Settings
from kubebill.store import open_store
from kubebill.store.base import Store

EVENTS = logging.getLogger("kubebill.events")
T = TypeVar("T")


class _Line(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def setup_logging(*, propagate: bool = False) -> None:
    """One JSON object per line on stdout (CloudWatch, Cloud Logging parse it); `propagate` for Azure's worker."""
    if propagate:
        EVENTS.propagate = True
    elif not any(getattr(h, "_kubebill", False) for h in EVENTS.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_Line())
        handler._kubebill = True  # type: ignore[attr-defined]
        EVENTS.addHandler(handler)
        EVENTS.propagate = False
    EVENTS.setLevel(logging.INFO)


def emit(fields: Mapping[str, Any], *, level: int = logging.INFO) -> None:
    """The one log line of an event; Cloud Logging reads `severity` and shows `message`, the others parse JSON."""
    summary = " ".join(str(fields[k]) for k in ("event", "decision", "key") if fields.get(k))
    line = {"severity": logging.getLevelName(level), "message": summary, **fields}
    EVENTS.log(level, json.dumps(line, default=str, sort_keys=False))


@dataclass
class Runtime:
    """Settings, the open store and where it lives (bucket, root prefix) for one process."""

    settings: Settings
    bucket: str | None
    root: str
    _store: Store | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        parsed = urlparse(settings.store)
        if parsed.scheme in ("s3", "az", "gs"):
            return cls(settings, parsed.netloc, parsed.path.strip("/"))
        # A local directory stands in for a bucket; its name is the bucket's name.
        path = parsed.path if parsed.scheme == "file" else settings.store
        return cls(settings, os.path.basename(os.path.abspath(os.path.expanduser(path))), "")

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings.store)
            return self._store

    @property
    def layout(self) -> Layout:
        return Layout.from_settings(self.settings)

    def relative_key(self, event: ObjectEvent) -> tuple[str | None, str]:
        """The key inside the store, or None and why the object is not the store's."""
        if event.bucket != self.bucket:
            return None, f"bucket {event.bucket!r} is not the store's bucket {self.bucket!r}"
        if not self.root:
            return event.key, ""
        if not event.key.startswith(self.root + "/"):
            return None, f"outside the store's prefix {self.root}/"
        return event.key[len(self.root) + 1 :], ""


_CURRENT: dict[tuple[tuple[str, str], ...], Runtime] = {}
_CURRENT_LOCK = threading.Lock()


def current() -> Runtime:
    """The process's Runtime, rebuilt only when a KUBEBILL_* variable changed."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("KUBEBILL_")))
    with _CURRENT_LOCK:
        if env not in _CURRENT:
            _CURRENT.clear()
            _CURRENT[env] = Runtime.from_settings(Settings.from_env())
        return _CURRENT[env]


def _timed(fields: dict[str, Any], job: Callable[[], T]) -> T:
    """Run `job`; on an exception log one error line naming it and re-raise (the platform retries)."""
    started = time.monotonic()
    try:
        return job()
    except Exception as exc:
        fields.update(decision="error", reason=described(exc))
        fields["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        emit(fields, level=logging.ERROR)
        raise
    finally:
        fields.setdefault("duration_ms", round((time.monotonic() - started) * 1000, 1))


def _count(runtime: Runtime, fields: dict[str, Any], counter: str, **record: Any) -> None:
    """Add one to a health counter; the event is acknowledged either way, so a failure is only noted."""
    try:
        health.record(runtime.store, runtime.layout, increment=(counter,), **record)
    except Exception as exc:
        fields["health"] = f"not recorded: {type(exc).__name__}: {exc}"


def bad_event(runtime: Runtime, what: str, reason: str, **context: Any) -> dict[str, Any]:
    """Log, count (health `bad_events_total`) and acknowledge an event kubebill cannot use."""
    fields: dict[str, Any] = {"event": what, "decision": "bad-event", "reason": reason, **context}
    _count(runtime, fields, "bad_events_total", last_bad_event=reason)
    emit(fields, level=logging.WARNING)
    return fields


def object_created(runtime: Runtime, event: ObjectEvent, *, source: str) -> dict[str, Any]:
    """Route one created object through `pipeline.handle_object_created`; returns the logged fields."""
    fields: dict[str, Any] = {"event": "object-created", "source": source, "bucket": event.bucket, "key": event.key}
    if not event.created:
        fields.update(decision="ignored", reason="not an object-created event", duration_ms=0.0)
        emit(fields)
        return fields
    key, why = runtime.relative_key(event)
    if key is None:
        fields.update(decision="ignored", reason=why, duration_ms=0.0)
        _count(runtime, fields, "ignored_events_total")
        emit(fields)
        return fields
    outcome = _timed(fields, lambda: pipeline.handle_object_created(runtime.store, runtime.settings, key))
    fields.update(
        key=outcome.key,
        decision=outcome.decision,
        days=[d.isoformat() for d in outcome.days],
        rows=outcome.rows,
    )
    if outcome.reason:
        fields["reason"] = outcome.reason
    emit(fields, level=logging.WARNING if outcome.decision == "poison" else logging.INFO)
    return fields


def export(runtime: Runtime, *, day: str | None = None, source: str, **context: Any) -> dict[str, Any]:
    """The daily export timer: `day` (YYYY-MM-DD) or yesterday (UTC); `context` goes into the log line."""
    fields: dict[str, Any] = {"event": "export", "source": source, **context}
    try:
        chosen = parse_day(day) if day else utc_today() - timedelta(days=1)
    except ValueError as exc:
        return bad_event(runtime, "export", str(exc), source=source)
    summary = _timed(fields, lambda: pipeline.export(runtime.store, runtime.settings, days=[chosen]))
    fields.update(
        decision="exported",
        days=[d.isoformat() for d in summary.days],
        rows=summary.rows,
        cluster=summary.cluster,
        keys=summary.keys,
    )
    emit(fields)
    return fields


def catch_up(runtime: Runtime, *, source: str, today: date | None = None, **context: Any) -> dict[str, Any]:
    """The catch-up timer: re-merge the restated days; `context` goes into the log line."""
    from kubebill.errors import InputError

    fields: dict[str, Any] = {"event": "catch-up", "source": source, **context}
    try:
        summary = _timed(fields, lambda: pipeline.catch_up(runtime.store, runtime.settings, today=today))
    except InputError as exc:
        if isinstance(exc, StoreError):
            raise  # the store itself is unusable: retrying is right
        # bad input (a day whose inputs cannot be merged): retrying cannot help; the other days merged, the
        # ledger and health name it
        fields.update(decision="bad-input", reason=str(exc))
        emit(fields, level=logging.WARNING)
        return fields
    fields.update(
        decision="deferred" if summary.deferred else "merged" if summary.merged else "unchanged",
        days=[d.isoformat() for d in summary.days],
        merged=[d.isoformat() for d in summary.merged],
        rows=summary.rows,
    )
    if summary.bad_inputs:
        fields["bad_inputs"] = summary.bad_inputs
    emit(fields)
    return fields


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


UNAUTHORIZED = HttpReply(401, b"unauthorized\n", "text/plain; charset=utf-8", {"WWW-Authenticate": "Bearer"})


def authorized(settings: Settings, authorization: str | None) -> bool:
    """`Authorization: Bearer <KUBEBILL_METRICS_TOKEN>`, compared in constant time; no token set = no access."""
    token = settings.metrics_token
    if not token or not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def header(headers: object, name: str) -> str | None:
    """A header by case-insensitive name (API Gateway v2 lower-cases them; Flask and Azure do not); any other
    shape (None, a list of pairs, a string, a number) is tolerated: a list of pairs is read, the rest has none."""
    if isinstance(headers, Mapping):
        pairs: list[Any] = list(headers.items())
    elif isinstance(headers, list | tuple):
        pairs = [p for p in headers if isinstance(p, list | tuple) and len(p) == 2]
    else:
        return None
    for key, value in pairs:
        if isinstance(key, str) and key.lower() == name.lower():
            return value if isinstance(value, str) else None
    return None


def metrics(runtime: Runtime, authorization: str | None, *, source: str) -> HttpReply:
    """The metrics endpoint: 401 and nothing else without the right bearer token, else the exposition."""
    fields: dict[str, Any] = {"event": "metrics", "source": source}
    if not authorized(runtime.settings, authorization):
        reason = "no KUBEBILL_METRICS_TOKEN configured" if not runtime.settings.metrics_token else "bad token"
        emit({**fields, "decision": "unauthorized", "reason": reason, "duration_ms": 0.0}, level=logging.WARNING)
        return UNAUTHORIZED
    from kubebill.sinks.metrics import render

    body, content_type = _timed(fields, lambda: render(runtime.store, runtime.settings))
    emit({**fields, "decision": "served", "bytes": len(body)})
    return HttpReply(200, body, content_type)
