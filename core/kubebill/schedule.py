"""When a 6-field NCRONTAB expression (second minute hour day month weekday, UTC) next fires.

The settings validate the expression's characters (`KUBEBILL_EXPORT_SCHEDULE`, `KUBEBILL_CATCH_UP_SCHEDULE`);
this module reads its fields. Day and weekday follow cron: when both are restricted, either one matching
is enough. Weekday 0 and 7 are Sunday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("second", "minute", "hour", "day", "month", "weekday")


@dataclass(frozen=True)
class Cron:
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Raises ValueError naming the field that is not a cron field."""
        fields = expression.split()
        if len(fields) != 6:
            raise ValueError(f"expected 6 fields (second minute hour day month weekday), found {len(fields)}")
        values = [
            _field(text, low, high, name) for text, (low, high), name in zip(fields, _RANGES, _NAMES, strict=True)
        ]
        return cls(
            seconds=tuple(sorted(values[0])),
            minutes=tuple(sorted(values[1])),
            hours=tuple(sorted(values[2])),
            days=frozenset(values[3]),
            months=frozenset(values[4]),
            weekdays=frozenset(7 if d == 0 else d for d in values[5]),
            any_day=fields[3] == "*",
            any_weekday=fields[5] == "*",
        )

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = day.isoweekday() in self.weekdays  # Monday 1 .. Sunday 7
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after `moment` (UTC), within the next 5 years."""
        moment = moment.astimezone(UTC).replace(microsecond=0)
        midnight = moment.replace(hour=0, minute=0, second=0)
        for offset in range(366 * 5):
            day = midnight + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    for second in self.seconds:
                        candidate = day.replace(hour=hour, minute=minute, second=second)
                        if candidate > moment:
                            return candidate
        raise ValueError("the schedule never fires")


def _field(text: str, low: int, high: int, name: str) -> set[int]:
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                first, last = low, high
            elif "-" in body:
                a, b = body.split("-", 1)
                first, last = int(a), int(b)
            else:
                first = int(body)
                last = high if step_text else first
        except ValueError:
            raise ValueError(f"{name} field {text!r} is not a number, range, list or step") from None
        if step < 1 or not low <= first <= last <= high:
            raise ValueError(f"{name} field {text!r} is outside {low}-{high}")
        found.update(range(first, last + 1, step))
    return found
