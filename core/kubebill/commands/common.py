"""Options several commands share, and turning them into days."""

from __future__ import annotations

import argparse
from datetime import date

from kubebill.errors import InputError
from kubebill.model import days_between, month_days, parse_day, yesterday
from kubebill.settings import Settings


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="URL", help="store URL (default: KUBEBILL_STORE, else ./kubebill-data)")


def add_days(parser: argparse.ArgumentParser, *, month: bool = False) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--date", metavar="YYYY-MM-DD", help="one UTC day")
    group.add_argument("--from", dest="from_", metavar="YYYY-MM-DD", help="first UTC day of a range (with --to)")
    if month:
        group.add_argument("--month", metavar="YYYY-MM", help="every day of a month")
    parser.add_argument("--to", metavar="YYYY-MM-DD", help="last UTC day of a range, included (with --from)")


def store_url(args: argparse.Namespace, settings: Settings) -> str:
    return getattr(args, "store", None) or settings.store


def selected_days(args: argparse.Namespace, *, default: list[date] | None = None) -> list[date] | None:
    """The days --date / --from --to / --month name; `default` (None = "decide later") if none given."""
    try:
        if getattr(args, "to", None) and not getattr(args, "from_", None):
            raise InputError("--to needs --from")
        if getattr(args, "date", None):
            return [parse_day(args.date)]
        if getattr(args, "from_", None):
            first = parse_day(args.from_)
            last = parse_day(args.to) if args.to else yesterday()
            return list(days_between(first, last))
        if getattr(args, "month", None):
            return month_days(args.month)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return default
