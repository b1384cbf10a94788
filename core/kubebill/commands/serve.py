"""`kubebill serve`: a long-running HTTP server for in-cluster use (/metrics, /healthz, /readyz)."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import threading
from types import FrameType

from kubebill import log
from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "serve /metrics, /healthz and /readyz; optionally run the export and merge on their schedules"

_log = log.get("serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_store(parser)
    parser.add_argument("--port", type=int, default=9090, help="TCP port to listen on (default: %(default)s)")
    parser.add_argument(
        "--bind", default="0.0.0.0", metavar="ADDRESS", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--schedule",
        action="store_true",
        help="also run the export (KUBEBILL_EXPORT_SCHEDULE) and the catch-up merge (KUBEBILL_CATCH_UP_SCHEDULE)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill import server

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0-65535, found {args.port}")
    settings = dataclasses.replace(settings, store=common.store_url(args, settings))
    try:
        scheduled = server.jobs(settings) if args.schedule else []
    except ValueError as exc:
        raise InputError(f"KUBEBILL_EXPORT_SCHEDULE / KUBEBILL_CATCH_UP_SCHEDULE: {exc}") from None
    exposition = server.Exposition(settings)
    try:
        httpd = server.MetricsServer((args.bind, args.port), exposition)
    except OSError as exc:
        raise InputError(f"cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    threads = [threading.Thread(target=httpd.serve_forever, name="http", daemon=True)]
    if scheduled:
        threads.append(
            threading.Thread(target=server.run_schedule, args=(scheduled, stop), name="schedule", daemon=True)
        )
    for thread in threads:
        thread.start()
    host, port = httpd.server_address[:2]
    _log.info("serving", extra={"address": f"{host!s}:{port}", "store": settings.store, "schedule": bool(scheduled)})
    print(f"kubebill serve: listening on http://{host!s}:{port}", flush=True)
    stop.wait()
    _log.info("stopping: finishing requests in flight")
    httpd.shutdown()
    httpd.server_close()
    for thread in threads[1:]:
        thread.join(timeout=30)  # a scheduled job in flight finishes unless it outlasts the pod's grace period
    return 0
