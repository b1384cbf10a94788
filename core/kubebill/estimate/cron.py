"""How often a CronJob runs: runs per average month (730 h) of a standard 5-field cron schedule.

Counted over a whole non-leap year and divided by 12, so `0 0 1 * *` is 1 run a month and `@daily`
30.42. Fields: minute hour day-of-month month day-of-week, each `*`, `N`, `A-B`, `*/S`, `A-B/S` or a comma
list of those; month and weekday names (`jan`, `mon`); `@hourly @daily @midnight @weekly @monthly @yearly
@annually`. As in cron, when both day fields are restricted a day matches either. `CRON_TZ=`/`TZ=` prefixes
are ignored: the time zone does not change how many runs a month has.
"""

from __future__ import annotations

from datetime import date, timedelta

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_NONE: dict[str, int] = {}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, _NONE),
    ("hour", 0, 23, _NONE),
    ("day of month", 1, 31, _NONE),
    ("month", 1, 12, _MONTHS),
)
_WEEKDAY = ("day of week", 0, 7, _DAYS)
REFERENCE_YEAR = 2025


def _value(text: str, names: dict[str, int], field: str, low: int, high: int) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{field}: expected a number {low}-{high}, found {text!r}")
    return int(text)


def _field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{field}: expected a step of 1 or more after '/', found {step_text!r}")
            step = int(step_text)
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, names, field, low, high), _value(b, names, field, low, high)
            if last < first:
                raise ValueError(f"{field}: range {span!r} runs backwards")
        else:
            first = _value(span, names, field, low, high)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return values


def runs_per_month(schedule: str) -> float:
    """Runs in an average month (a year's runs / 12); ValueError saying which field is wrong."""
    words = schedule.split()
    while words and words[0].upper().startswith(("CRON_TZ=", "TZ=")):
        words = words[1:]
    if len(words) == 1 and words[0].lower() in _MACROS:
        words = _MACROS[words[0].lower()].split()
    if len(words) != 5:
        raise ValueError(f"expected 5 fields (minute hour day-of-month month day-of-week), found {schedule!r}")
    minutes, hours, doms, months = (
        _field(text, name, low, high, names) for text, (name, low, high, names) in zip(words, _FIELDS, strict=False)
    )
    name, low, high, names = _WEEKDAY
    weekdays = {d % 7 for d in _field(words[4], name, low, high, names)}
    dom_any, dow_any = words[2] in ("*", "?"), words[4] in ("*", "?")
    per_day = len(minutes) * len(hours)
    runs = 0
    day = date(REFERENCE_YEAR, 1, 1)
    while day.year == REFERENCE_YEAR:
        if day.month in months:
            dom_ok, dow_ok = day.day in doms, (day.isoweekday() % 7) in weekdays
            if (dom_ok and dow_ok) if (dom_any or dow_any) else (dom_ok or dow_ok):
                runs += per_day
        day += timedelta(days=1)
    return runs / 12
