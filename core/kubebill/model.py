"""Windows, days and the sentinel names kubebill shares with OpenCost."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

IDLE = "__idle__"
UNALLOCATED = "__unallocated__"
UNMOUNTED = "__unmounted__"
SHARED = "__shared__"
SENTINELS = frozenset({IDLE, UNALLOCATED, UNMOUNTED, SHARED})


@dataclass(frozen=True, order=True)
class Window:
    """A half-open UTC interval [start, end), OpenCost's Window."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Window bounds must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError(f"Window end {self.end.isoformat()} is not after start {self.start.isoformat()}")

    @classmethod
    def of_day(cls, day: date) -> Window:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return cls(start, start + timedelta(days=1))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def steps(self, step: timedelta) -> Iterator[Window]:
        """Consecutive sub-windows of length `step` (the last one clipped to the end)."""
        cursor = self.start
        while cursor < self.end:
            nxt = min(cursor + step, self.end)
            yield Window(cursor, nxt)
            cursor = nxt

    def days(self) -> list[date]:
        """The UTC days this window touches."""
        first = self.start.astimezone(UTC).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        return list(days_between(first, last))

    def to_opencost(self) -> str:
        """The `window=` query value OpenCost accepts: RFC 3339 start,end."""
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return f"{self.start.astimezone(UTC).strftime(fmt)},{self.end.astimezone(UTC).strftime(fmt)}"


def days_between(first: date, last: date) -> Iterator[date]:
    """Every day from `first` to `last`, both included."""
    if last < first:
        raise ValueError(f"range end {last} is before its start {first}")
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def utc_today() -> date:
    return datetime.now(UTC).date()


def yesterday() -> date:
    return utc_today() - timedelta(days=1)


def parse_day(text: str) -> date:
    """YYYY-MM-DD, with a message that says so."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def month_days(month: str) -> list[date]:
    """Every day of a YYYY-MM month."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"expected a month as YYYY-MM, got {month!r}") from None
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return list(days_between(first, nxt - timedelta(days=1)))
