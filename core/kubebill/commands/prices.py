"""`kubebill prices`: the unit prices a cluster really paid, learned from its results."""

from __future__ import annotations

import argparse
import sys

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.store import open_store

HELP = "unit prices (CPU core-hour, RAM GiB-hour, GPU-hour, PV GiB-month, load-balancer hour) learned from results"
FORMATS = ("table", "json")  # kubebill.estimate.render.PRICE_FORMATS, without importing it for --help


def add_days(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", metavar="C", help="cluster (default: the only one in the results)")
    parser.add_argument(
        "--days", type=int, default=7, metavar="N", help="result days to learn from, back from the newest"
    )


def check_days(args: argparse.Namespace) -> None:
    if args.days < 1:
        raise InputError(f"--days: expected 1 or more, found {args.days}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_days(parser)
    parser.add_argument("--format", default="table", choices=FORMATS, help="output format")
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill.estimate import render
    from kubebill.estimate.prices import learn

    check_days(args)
    store = open_store(common.store_url(args, settings))
    book, _ = learn(store, Layout.from_settings(settings), cluster=args.cluster, days=args.days)
    sys.stdout.write(render.prices_json(book) if args.format == "json" else render.prices_table(book))
    return 0
