"""The 6-field NCRONTAB schedules `kubebill serve --schedule` runs the export and the catch-up merge on."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kubebill.schedule import Cron
from kubebill.server import Job, jobs, run_schedule
from kubebill.settings import Settings


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 10 0 * * *", "2025-06-15T00:09:59", "2025-06-15T00:10:00"),  # the export default
        ("0 10 0 * * *", "2025-06-15T00:10:00", "2025-06-16T00:10:00"),  # strictly after
        ("0 40 0 * * *", "2025-12-31T23:00:00", "2026-01-01T00:40:00"),  # the catch-up default, over a year end
        ("*/15 * * * * *", "2025-06-15T00:00:14", "2025-06-15T00:00:15"),
        ("0 0 6-8 * * *", "2025-06-15T08:30:00", "2025-06-16T06:00:00"),
        ("0 0 12 * * 1", "2025-06-15T13:00:00", "2025-06-16T12:00:00"),  # 2025-06-16 is a Monday
        ("0 0 12 * * 0", "2025-06-16T00:00:00", "2025-06-22T12:00:00"),  # Sunday as 0 ...
        ("0 0 12 * * 7", "2025-06-16T00:00:00", "2025-06-22T12:00:00"),  # ... and as 7
        ("0 0 0 29 2 *", "2025-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("0 0 0 1 * 1", "2025-06-02T00:00:00", "2025-06-09T00:00:00"),  # day or weekday, as cron does
    ],
)
def test_next_firing(expression: str, after: str, expected: str) -> None:
    assert Cron.parse(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 10 0 * *", "expected 6 fields"),
        ("0 75 0 * * *", "minute field '75' is outside 0-59"),
        ("0 0 0 0 * *", "day field '0' is outside 1-31"),
        ("0 0 */0 * * *", "hour field '*/0' is outside 0-23"),
        ("0 0 5-2 * * *", "hour field '5-2' is outside 0-23"),
        ("0 0 0 * 1-x *", "month field '1-x' is not a number"),
    ],
)
def test_bad_fields_are_named(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Cron.parse(expression)


def test_the_default_settings_parse() -> None:
    settings = Settings()
    assert Cron.parse(settings.export_schedule).hours == (0,)
    assert Cron.parse(settings.catch_up_schedule).minutes == (40,)


def test_jobs_run_when_due_and_a_failure_does_not_stop_the_others() -> None:
    ran: list[str] = []
    enough = threading.Event()

    def good() -> None:
        ran.append("good")
        if ran.count("good") >= 2:
            enough.set()

    def bad() -> None:
        ran.append("bad")
        raise RuntimeError("store unreachable")

    every_second = Cron.parse("* * * * * *")
    stop = threading.Event()
    worker = threading.Thread(
        target=run_schedule, args=([Job("bad", every_second, bad), Job("good", every_second, good)], stop)
    )
    worker.start()
    try:
        assert enough.wait(timeout=10), ran
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert ran.count("bad") >= 2  # it failed, and ran again at its next firing


def test_the_scheduled_jobs_are_the_functions_export_and_catch_up(tmp_path: Path) -> None:
    settings = Settings(store=str(tmp_path), export_schedule="0 5 1 * * *", catch_up_schedule="30 */10 * * * *")
    export, catch_up = jobs(settings)
    assert (export.name, export.cron) == ("export", Cron.parse("0 5 1 * * *"))
    assert (catch_up.name, catch_up.cron) == ("catch-up", Cron.parse("30 */10 * * * *"))
    logged = catch_up.run()  # the catch-up merge on an empty store: nothing to merge, one log line
    assert logged["event"] == "catch-up" and logged["source"] == "serve" and logged["decision"] == "unchanged"
