"""Timeouts, retries and clear errors against a real local server that misbehaves on purpose."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kubebill.errors import SourceError, Unreachable
from kubebill.sources import http
from kubebill.sources.body import read
from tests.sources.replay import ReplayServer, Reply, Request

FAST = http.HttpOptions(connect_timeout=1.0, read_timeout=0.5, retry_seconds=3.0, backoff_seconds=0.05)
GOOD = b'{"code":200,"data":[{}]}'


def fetch(server: ReplayServer, options: http.HttpOptions = FAST) -> bytes:
    with requests.Session() as session:
        return bytes(http.get(session, server.url + "/allocation/compute", {"window": "w"}, read, options=options))


def failing_first(count: int, failure: Reply) -> tuple[list[int], object]:
    calls = [0]

    def route(request: Request) -> Reply:
        calls[0] += 1
        return failure if calls[0] <= count else Reply(GOOD)

    return calls, route


def test_5xx_answers_are_retried_until_one_succeeds(server: ReplayServer) -> None:
    calls, route = failing_first(2, Reply(b"upstream down", status=503))
    server.route = route  # type: ignore[assignment]
    assert fetch(server) == GOOD
    assert calls[0] == 3


def test_retries_stop_at_the_time_budget(server: ReplayServer) -> None:
    server.route = lambda request: Reply(b'{"code":500}', status=500)
    options = http.HttpOptions(connect_timeout=1, read_timeout=1, retry_seconds=0.6, backoff_seconds=0.1)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"no usable answer after \d+ attempt\(s\) within 0.6s.*HTTP 500"):
        fetch(server, options)
    assert time.monotonic() - started < 3
    assert len(server.requests) >= 2


def test_a_slow_answer_past_the_read_timeout_is_retried_then_reported(server: ReplayServer) -> None:
    server.route = lambda request: Reply(GOOD, delay=1.5)
    options = http.HttpOptions(connect_timeout=1, read_timeout=0.3, retry_seconds=0.8, backoff_seconds=0.05)
    with pytest.raises(SourceError, match="timed out"):
        fetch(server, options)


def test_a_body_that_stalls_past_the_read_timeout_is_retried(server: ReplayServer) -> None:
    calls, route = failing_first(1, Reply(GOOD * 1000, stall=1.5))
    server.route = route  # type: ignore[assignment]
    assert fetch(server) == GOOD
    assert calls[0] == 2


def test_a_connection_cut_mid_body_is_retried(server: ReplayServer) -> None:
    calls, route = failing_first(1, Reply(GOOD[:10], declared_length=len(GOOD)))
    server.route = route  # type: ignore[assignment]
    assert fetch(server) == GOOD
    assert calls[0] == 2


def test_4xx_is_reported_at_once_with_the_body(server: ReplayServer) -> None:
    server.route = lambda request: Reply(b'{"code":400,"message":"bad window"}', status=400)
    with pytest.raises(SourceError, match=r"expected HTTP 200, got 400.*bad window"):
        fetch(server)
    assert len(server.requests) == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_fails_fast_naming_the_cause() -> None:
    port = closed_port()
    options = http.HttpOptions(connect_timeout=0.5, read_timeout=0.5, retry_seconds=60.0, backoff_seconds=0.05)
    started = time.monotonic()
    with requests.Session() as session, pytest.raises(Unreachable) as caught:
        http.get(session, f"http://127.0.0.1:{port}/allocation/compute", {}, read, options=options)
    assert str(caught.value) == f"cannot connect to http://127.0.0.1:{port}: connection refused"
    assert time.monotonic() - started < 5  # a few quick attempts, not the 60 s budget


def test_a_name_that_does_not_resolve_fails_fast_naming_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DNS failure, made here by the resolver call itself failing (no lookup leaves the machine)."""
    import socket

    def no_such_name(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    options = http.HttpOptions(connect_timeout=0.5, read_timeout=0.5, retry_seconds=60.0, backoff_seconds=0.05)
    started = time.monotonic()
    with requests.Session() as session, pytest.raises(Unreachable) as caught:
        http.get(session, "http://opencost.example:9003/allocation/compute", {}, read, options=options)
    assert str(caught.value) == (
        "cannot connect to http://opencost.example:9003: name not resolved (Name or service not known)"
    )
    assert time.monotonic() - started < 5


def test_export_from_a_closed_port_exits_1_with_one_line(tmp_path: Path) -> None:
    port = closed_port()
    result = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "export", "--url", f"http://127.0.0.1:{port}", "--cluster", "c1",
         "--date", "2025-06-01", "--store", str(tmp_path), "--workers", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"kubebill export: cannot connect to http://127.0.0.1:{port}: connection refused"
    )


def test_chunked_bodies_are_read_whole(server: ReplayServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield GOOD[:5]
        yield GOOD[5:]

    server.route = lambda request: Reply(chunks)
    assert fetch(server) == GOOD
