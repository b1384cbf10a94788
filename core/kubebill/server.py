"""The in-cluster metrics server behind `kubebill serve`: /metrics, /healthz, /readyz, and optional schedules.

/metrics is the exposition of `kubebill.sinks.metrics.render` (cached there per result version). When the
store cannot be read, the last good exposition is served with `kubebill_metrics_stale_seconds` saying how
old it is, and /readyz answers 503 with the reason, so a rolling update or a store outage never blanks the
dashboards. Memory holds one exposition body plus the render cache, whatever the store's size.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubebill import log, runtime
from kubebill.schedule import Cron
from kubebill.settings import Settings
from kubebill.sinks.exposition import CONTENT_TYPE, Family, render_text
from kubebill.store import open_store
from kubebill.store.base import Store

_log = log.get("serve")
_TEXT = "text/plain; charset=utf-8"


@dataclass
class Exposition:
    """The last good exposition and the outcome of the latest attempt to refresh it."""

    settings: Settings
    store: Store | None = None  # opened on the first refresh, so a store down at start only fails readiness
    body: bytes | None = None
    rendered_at: float | None = None  # time.time() of the last good render
    error: str | None = None  # why the latest attempt failed; None when it succeeded
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refresh(self) -> None:
        """Render again (cheap when no result changed); on failure keep the last good body and note why."""
        from kubebill.sinks.metrics import render  # duckdb: loaded on the first scrape, not at start

        try:
            if self.store is None:
                self.store = open_store(self.settings.store)
            body, _ = render(self.store, self.settings)
        except Exception as exc:
            with self._lock:
                self.error = f"store {self.settings.store} unreadable: {type(exc).__name__}: {exc}"
            _log.warning("metrics refresh failed", extra={"reason": self.error})
            return
        with self._lock:
            self.body, self.rendered_at, self.error = body, time.time(), None

    def current(self) -> tuple[bytes | None, str | None]:
        """(body with the staleness families appended, or None before any good render; the latest error)."""
        with self._lock:
            body, rendered_at, error = self.body, self.rendered_at, self.error
        if body is None or rendered_at is None:
            return None, error
        stale = Family(
            "kubebill_metrics_stale_seconds",
            "gauge",
            "Age of the served exposition when the store could not be read for this scrape (0: fresh)",
        )
        stale.add(0.0 if error is None else max(0.0, time.time() - rendered_at))
        up = Family("kubebill_store_up", "gauge", "1 if the store could be read for this scrape, else 0")
        up.add(1.0 if error is None else 0.0)
        extra = render_text([stale, up], common={"tenant_id": self.settings.tenant_id})
        return body + extra, error


@dataclass(frozen=True)
class Job:
    """A scheduled pipeline call: `run` at every firing of `cron`."""

    name: str
    cron: Cron
    run: Callable[[], Any]


def jobs(settings: Settings) -> list[Job]:
    """The export and the catch-up merge on the settings' schedules, through the functions' own runtime."""
    rt = runtime.Runtime.from_settings(settings)
    return [
        Job("export", Cron.parse(settings.export_schedule), lambda: runtime.export(rt, source="serve")),
        Job("catch-up", Cron.parse(settings.catch_up_schedule), lambda: runtime.catch_up(rt, source="serve")),
    ]


def run_schedule(scheduled: list[Job], stop: threading.Event, *, clock: Callable[[], datetime] | None = None) -> None:
    """Run each job when due until `stop` is set; a failing job is logged and runs again at its next firing."""
    now = clock or (lambda: datetime.now(UTC))
    due = {job.name: job.cron.next_after(now()) for job in scheduled}
    while not stop.is_set():
        job = min(scheduled, key=lambda j: due[j.name])
        wait = (due[job.name] - now()).total_seconds()
        if wait > 0:
            stop.wait(min(wait, 60.0))  # re-check the clock at least every minute (suspend, clock steps)
            continue
        _log.info("scheduled job started", extra={"job": job.name})
        try:
            job.run()
        except Exception as exc:  # runtime logged the failure line; the server keeps serving
            _log.error("scheduled job failed", extra={"job": job.name, "reason": f"{type(exc).__name__}: {exc}"})
        due[job.name] = job.cron.next_after(now())


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    # HTTP/1.0 (the default): one request per connection, so no idle keep-alive connection (Prometheus keeps
    # them) holds a shutdown; the timeout bounds a client that connects and sends nothing
    timeout = 30

    def do_GET(self) -> None:
        started = time.perf_counter()
        status, body, content_type, headers = self._route(self.path.split("?", 1)[0])
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "request",
                extra={
                    "method": "GET",
                    "path": self.path,
                    "status": status,
                    "bytes": len(body),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "remote": self.client_address[0],
                },
            )

    def _route(self, path: str) -> tuple[int, bytes, str, dict[str, str]]:
        state = self.server.exposition
        if path == "/healthz":
            return 200, b"ok\n", _TEXT, {}
        if path == "/readyz":
            state.refresh()
            _, error = state.current()
            return (503, f"not ready: {error}\n".encode(), _TEXT, {}) if error else (200, b"ready\n", _TEXT, {})
        if path == "/metrics":
            if state.settings.metrics_token and not runtime.authorized(
                state.settings, self.headers.get("Authorization")
            ):
                reply = runtime.UNAUTHORIZED
                return reply.status, reply.body, reply.content_type, reply.headers
            state.refresh()
            body, error = state.current()
            if body is None:
                return 503, f"no exposition yet: {error}\n".encode(), _TEXT, {}
            return 200, body, CONTENT_TYPE, {}
        return 404, b"not found: try /metrics, /healthz or /readyz\n", _TEXT, {}

    def log_message(self, format: str, *args: Any) -> None:  # the JSON debug line above replaces it
        pass


class MetricsServer(ThreadingHTTPServer):
    """Finishes the requests in flight on shutdown (no daemon request threads)."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], exposition: Exposition) -> None:
        super().__init__(address, _Handler)
        self.exposition = exposition
