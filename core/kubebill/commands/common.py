"""Options several commands share, and turning them into days."""

from __future__ import annotations

import argparse
from datetime import date

from kubebill.errors import InputError
from kubebill.model import days_between, month_days, parse_day, yesterday
from kubebill.settings import Settings
from kubebill.store import LocalStore, Store, open_store

DEFAULT_STORE = Settings().store
# the extra that brings each store scheme's SDK
EXTRAS = {"s3": "aws", "az": "azure", "gs": "gcp"}


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


def open_any(url: str) -> Store:
    """`open_store(url)`; a missing cloud SDK becomes the `pip install 'kubebill[…]'` line to run."""
    try:
        return open_store(url)
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get(url.split("://", 1)[0].lower()) if "://" in url else None
        if extra is None:
            raise
        raise InputError(
            f"{url}: the {extra} SDK is not installed ({exc.name}); run: pip install 'kubebill[{extra}]'"
        ) from None


def read_store(args: argparse.Namespace, settings: Settings) -> Store:
    """The store a read command reads: InputError naming it when it is a local folder that does not exist."""
    url = store_url(args, settings)
    store = open_any(url)
    if isinstance(store, LocalStore) and not store.root.exists():
        raise InputError(f"store {url} does not exist (give --store or KUBEBILL_STORE)")
    return store


def write_store(args: argparse.Namespace, settings: Settings) -> Store:
    """The store a merge writes: a missing local folder is created only for the default store, and said so."""
    url = store_url(args, settings)
    store = open_any(url)
    if isinstance(store, LocalStore) and not store.root.exists():
        if url != DEFAULT_STORE:
            raise InputError(f"store {url} does not exist (create it, or give another --store)")
        store.root.mkdir(parents=True)
        print(f"created the default store {url} (--store or KUBEBILL_STORE choose another)")
    return store


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
