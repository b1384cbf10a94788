"""GET a cluster API with timeouts always set and bounded retries (exponential backoff with full jitter).

A request is retried on connection errors, timeouts, a body cut short and 5xx answers, until the total
time budget (KUBEBILL_HTTP_RETRY_SECONDS) is spent; then it fails with a one-line `SourceError`. When
nothing listens or the name does not resolve, waiting out the budget helps nobody: after a few quick
attempts it fails with `Unreachable` (`cannot connect to http://host:port: connection refused`). The
parse callback reads the body as a stream of chunks, so a retry re-runs it from the start: it must be a
function of the body only.
"""

from __future__ import annotations

import random
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from kubebill import log
from kubebill.errors import SourceError, Unreachable
from kubebill.settings import Settings

T = TypeVar("T")
CHUNK_BYTES = 1 << 20
QUICK_ATTEMPTS = 3  # refused / unresolved: enough to ride out a restarting pod or a DNS blip
_LOG = log.get("sources.http")
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class HttpOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    retry_seconds: float = 120.0
    backoff_seconds: float = 0.5  # first retry waits up to this; doubles per attempt
    backoff_cap_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpOptions:
        return cls(settings.http_connect_timeout, settings.http_read_timeout, settings.http_retry_seconds)


class _Retryable(Exception):
    """A 5xx answer: worth another attempt."""


class Chunks:
    """The body as chunks, with `size_hint` = Content-Length when it is the decoded size (0 if unknown)."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        length = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        self.size_hint = int(length) if length.isdigit() and not encoded else 0

    def __iter__(self) -> Iterator[bytes]:
        return self.response.iter_content(CHUNK_BYTES)


def unreachable(exc: BaseException) -> str | None:
    """'connection refused' or 'name not resolved' when that is what is under a connection error."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return f"name not resolved ({item.strerror or item})"
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it (``http://user:pass@host`` → ``http://***@host``) hidden:
    a KUBEBILL_SOURCE_URL with credentials is never logged or shown with them."""
    return _USERINFO.sub(r"\1***@", text)


def _reason(exc: BaseException) -> str:
    text = redact(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def get(
    session: requests.Session,
    url: str,
    params: Mapping[str, str],
    parse: Callable[[Chunks], T],
    *,
    options: HttpOptions,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """GET `url` and return `parse(chunks of the body)`, retrying transient failures within the budget."""
    deadline = time.monotonic() + options.retry_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            with session.get(
                url, params=params, stream=True, timeout=(options.connect_timeout, options.read_timeout)
            ) as response:
                if response.status_code >= 500:
                    raise _Retryable(f"HTTP {response.status_code} {response.reason}: {_body_hint(response)}")
                if response.status_code != 200:
                    raise SourceError(
                        f"{redact(response.url)}: expected HTTP 200, got {response.status_code} {response.reason}: "
                        f"{_body_hint(response)}"
                    )
                return parse(Chunks(response))
        except (*_TRANSIENT, _Retryable) as exc:
            cause = unreachable(exc) if isinstance(exc, requests.ConnectionError) else None
            reason = cause or _reason(exc)
            delay = random.uniform(0, min(options.backoff_cap_seconds, options.backoff_seconds * 2 ** (attempt - 1)))
            spent = time.monotonic() + delay >= deadline
            if cause is not None and (attempt >= QUICK_ATTEMPTS or spent):
                raise Unreachable(f"cannot connect to {redact(_origin(url))}: {cause}") from None
            if spent:
                raise SourceError(
                    f"{redact(url)}: no usable answer after {attempt} attempt(s) within {options.retry_seconds:g}s "
                    f"(KUBEBILL_HTTP_RETRY_SECONDS): {reason}"
                ) from None
            _LOG.warning("retrying %s in %.2fs: %s", redact(url), delay, reason, extra={"attempt": attempt})
            sleep(delay)


def _body_hint(response: requests.Response) -> str:
    """The first line of an error body (OpenCost/Kubecost put the reason there)."""
    try:
        text = response.raw.read(2048, decode_content=True).decode("utf-8", "replace")
    except Exception:  # the body is only a hint; never mask the status
        return "(no body)"
    line = " ".join(text.split())
    return (line[:300] + "...") if len(line) > 300 else (line or "(empty body)")
