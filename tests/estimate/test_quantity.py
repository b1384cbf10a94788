"""The Kubernetes quantity parser and the cron schedule counter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubebill.estimate.cron import runs_per_month
from kubebill.estimate.quantity import byte_count, cores, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("1", Decimal(1)),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("2.", Decimal(2)),
        ("+3", Decimal(3)),
        ("-1", Decimal(-1)),
        ("100n", Decimal("1E-7")),
        ("250u", Decimal("0.00025")),
        ("1k", Decimal(1000)),
        ("1M", Decimal(10**6)),
        ("1G", Decimal(10**9)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),
        ("1Ki", Decimal(1024)),
        ("1Mi", Decimal(1024**2)),
        ("2Gi", Decimal(2 * 1024**3)),
        ("1Ti", Decimal(1024**4)),
        ("1Pi", Decimal(1024**5)),
        ("1Ei", Decimal(1024**6)),
        ("1.5Gi", Decimal(3 * 1024**3 // 2)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("12e-3", Decimal("0.012")),
        ("5e+2", Decimal(500)),
        (" 256Mi ", Decimal(256 * 1024**2)),
        (2, Decimal(2)),
        (0.25, Decimal("0.25")),
    ],
)
def test_quantities(text: object, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "bad",
    ["500x", "", "Gi", "1.2.3", "1 Gi", "1gi", "1KiB", "m", "0x10", "1e", "e3", "--1", "1mi", "NaN", None, True, [1]],
)
def test_refused_quantities_name_the_value(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a Kubernetes quantity") as caught:
        parse_quantity(bad)
    assert repr(bad) in str(caught.value) or type(bad).__name__ in str(caught.value)


def test_nan_and_infinite_numbers_are_refused() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            parse_quantity(bad)


def test_helpers() -> None:
    assert cores("250m") == 0.25 and byte_count("1Gi") == 1024**3


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["", "m", "k", "Ki", "Mi", "Gi", "M", "G"]))
def test_integer_quantities_scale_by_their_suffix(number: int, suffix: str) -> None:
    scale = {"": 1, "m": Decimal("0.001"), "k": 1000, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "M": 10**6, "G": 10**9}
    assert parse_quantity(f"{number}{suffix}") == number * Decimal(scale[suffix])


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("@daily", 365 / 12),
        ("@midnight", 365 / 12),
        ("@hourly", 24 * 365 / 12),
        ("@weekly", 52 / 12),  # 2025 has 52 Sundays
        ("@monthly", 1),
        ("@yearly", 1 / 12),
        ("0 0 1 * *", 1),
        ("*/15 * * * *", 4 * 24 * 365 / 12),
        ("0 9 * * 1-5", 261 / 12),  # weekdays of 2025
        ("0 9 * * MON-FRI", 261 / 12),
        ("0 0 1 jan,jul *", 2 / 12),
        ("0 0 1 * mon", (12 + 52) / 12),  # either day field matches (2025: no 1st of a month is a Monday? see below)
        ("0 0 * * 7", 52 / 12),  # 7 is Sunday too
        ("0 0-23/6 * * *", 4 * 365 / 12),
        ("CRON_TZ=Europe/Paris 0 3 * * *", 365 / 12),
        ("TZ=UTC 0 3 * * *", 365 / 12),
        ("0 0 29 2 *", 0),
    ],
)
def test_runs_per_month(schedule: str, runs: float) -> None:
    if schedule == "0 0 1 * mon":  # 1st of the month or a Monday: 12 firsts + 52 Mondays − the firsts that are Mondays
        runs = (12 + 52 - 2) / 12  # 2025-09-01 and 2025-12-01 are Mondays
    assert runs_per_month(schedule) == pytest.approx(runs)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("* * * *", "expected 5 fields"),
        ("61 * * * *", "minute: expected a number 0-59"),
        ("0 25 * * *", "hour: expected a number 0-23"),
        ("0 0 32 * *", "day of month"),
        ("0 0 * 13 *", "month"),
        ("0 0 * * 8", "day of week"),
        ("*/0 * * * *", "step of 1 or more"),
        ("5-1 * * * *", "runs backwards"),
        ("@often", "expected 5 fields"),
        ("x * * * *", "minute"),
    ],
)
def test_bad_schedules(schedule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        runs_per_month(schedule)
