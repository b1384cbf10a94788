"""`kubebill report`: read results and print cost per group."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kubebill.commands import common
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.store import open_store

HELP = "read results and print cost per group"
FORMATS = ("table", "csv", "json", "html")  # kubebill.sinks.report.FORMATS, without importing duckdb for --help


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default="namespace", help="namespace, cluster, controller, pod or label:KEY")
    parser.add_argument("--window", default="7d", help="24h, 7d, 30d (back from the newest result day) or YYYY-MM")
    parser.add_argument("--format", default="table", choices=FORMATS)
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill.sinks import report  # duckdb: loaded only by this command
    from kubebill.sinks.results import available_days, read_days

    report.parse_by(args.by)
    store = open_store(common.store_url(args, settings))
    layout = Layout.from_settings(settings)
    available = available_days(store, layout)
    wanted = report.window_days(args.window, available)
    days = sorted(set(wanted) & set(available))
    if not days:
        print(f"kubebill report: no results for window {args.window} in {store.url}; nothing to report")
        return 0
    results = read_days(store, layout, days)
    hashed = settings.hash_pod_names
    title = f"kubebill cost by {args.by}, {days[0]} to {days[-1]} ({args.window})"
    if args.format == "html":
        text = report.html_report(results, title=title, by=args.by, hash_pod_names=hashed)
    else:
        rows = report.group_costs(results, args.by, hash_pod_names=hashed)
        if args.format == "csv":
            text = report.format_csv(rows)
        elif args.format == "json":
            text = report.format_json(rows, by=args.by, window=args.window, days=days)
        else:
            text = report.format_table(rows, by=args.by, title=title)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(args.out)
    else:
        sys.stdout.write(text)
    return 0
