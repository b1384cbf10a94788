"""`kubebill report`: read results and print cost per group."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.layout import Layout
from kubebill.settings import Settings

HELP = "read results and print cost per group"
# kubebill.sinks.report's choices, without importing duckdb for --help
FORMATS = ("table", "csv", "json", "html")
COSTS = ("billed", "effective", "list", "all")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of groups, 1 or more; got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        default="namespace",
        help="group by one or more keys joined by commas: namespace, cluster, node, provider, service, controller, "
        "pod, label:KEY, allocation (workload, idle, shared, …)",
    )
    parser.add_argument(
        "--window",
        default="7d",
        help="24h, 7d, 30d (back from the newest result day), a month YYYY-MM or a day YYYY-MM-DD",
    )
    parser.add_argument("--from", dest="from_", metavar="YYYY-MM-DD", help="first day (instead of --window)")
    parser.add_argument("--to", metavar="YYYY-MM-DD", help="last day, included (with --from; default: newest day)")
    parser.add_argument("--top", type=_positive, metavar="N", help="the N largest groups per currency, then 'other'")
    parser.add_argument(
        "--cost", default="all", choices=COSTS, help="cost column(s) shown; shares are of this column (billed for all)"
    )
    parser.add_argument("--currency", metavar="CODE", help="only rows billed in this currency (default: every one)")
    parser.add_argument("--format", default="table", choices=FORMATS, help="output format")
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    parser.add_argument(
        "--compare",
        choices=("cloud",),
        help="cloud: per namespace and day, the allocation export's split against the cloud's own (AWS split cost "
        "allocation data, GKE cost allocation) where both cover a cluster, in EffectiveCost (table, csv, json)",
    )
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill import budgets
    from kubebill.sinks import report, report_format  # duckdb: loaded only by this command
    from kubebill.sinks.results import available_days, read_days

    keys = report.key_names(args.by)
    if args.to and not args.from_:
        raise InputError("--to needs --from")
    store = common.read_store(args, settings)
    entries = budgets.read(store)  # a bad budgets file stops here, naming its line
    layout = Layout.from_settings(settings)
    available = available_days(store, layout)
    if args.from_:
        wanted = report.range_days(args.from_, args.to, available)
        window = f"{wanted[0]}..{wanted[-1]}"
    else:
        wanted = report.window_days(args.window, available)
        window = args.window
    days = sorted(set(wanted) & set(available))
    if not days:
        newest = f"; results span {min(available)} to {max(available)}" if available else ""
        raise InputError(f"no results for {window} in {store.url}{newest}")
    if args.compare:
        return _compare(args, store, layout, days, window)
    results = read_days(store, layout, days)
    hashed = settings.hash_pod_names
    named = "" if args.from_ else f" ({window})"
    title = f"kubebill cost by {', '.join(keys)}, {days[0]} to {days[-1]}{named}"
    rows = report.group_costs(results, args.by, cost=args.cost, currency=args.currency, hash_pod_names=hashed)
    if args.format == "html":
        text = report.html_report(results, title=title, by=args.by, hash_pod_names=hashed, budget_entries=entries)
    else:
        rows = report.top(rows, args.top)
        if args.format == "csv":
            text = report_format.format_csv(rows, keys=keys, cost=args.cost)
        elif args.format == "json":
            text = report_format.format_json(rows, keys=keys, cost=args.cost, window=window, days=days)
        else:
            text = report_format.format_table(rows, keys=keys, cost=args.cost, title=title)
    _emit(args, text)
    return 0


def _emit(args: argparse.Namespace, text: str) -> None:
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(args.out)
    else:
        sys.stdout.write(text)


def _compare(args: argparse.Namespace, store: Any, layout: Layout, days: list[Any], window: str) -> int:
    from kubebill.sinks import compare_report

    table = compare_report.read(store, layout, days)
    if args.format == "html":
        raise InputError("--compare cloud: expected --format table, csv or json, found html")
    if args.format == "csv":
        text = compare_report.format_csv(table)
    elif args.format == "json":
        text = compare_report.format_json(table, window=window)
    else:
        title = f"kubebill against the cloud's own split, EffectiveCost by namespace, {days[0]} to {days[-1]}"
        text = compare_report.format_table(table, title=title)
    _emit(args, text)
    return 0
