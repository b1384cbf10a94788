"""`kubebill merge`: reconcile the given days (default: the days whose inputs changed since the last merge)."""

from __future__ import annotations

import argparse
import dataclasses

from kubebill import log, pipeline
from kubebill.commands import common
from kubebill.settings import Settings

HELP = "reconcile the given days (default: the days whose inputs changed since the last merge)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_days(parser, month=True)
    common.add_store(parser)
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        help="what runs the SQL stages (default: KUBEBILL_ENGINE, else duckdb); spark needs kubebill[spark] and a JRE",
    )


def describe(summary: pipeline.MergeSummary) -> str:
    """One line a person reads after a merge."""
    parts = [
        f"merged {len(summary.merged)} day(s)",
        f"{len(summary.unchanged)} unchanged",
        f"{summary.rows} result rows",
        f"{summary.seconds:.1f}s",
    ]
    if not summary.days:
        parts = ["no day has changed inputs; nothing to do"]
    if summary.bad_inputs:
        parts.append(f"{len(summary.bad_inputs)} rejected input(s) left out: {', '.join(summary.bad_inputs)}")
    if summary.overlapping:
        parts.append(
            f"{len(summary.overlapping)} overlapping input(s) left out, another export of the same account and "
            f"period counts instead: {', '.join(summary.overlapping)}"
        )
    if summary.unallocated:
        parts.append(f"clusters of rejected allocation export(s) merged unallocated: {', '.join(summary.unallocated)}")
    if summary.unmatched:
        parts.append(f"policy selector(s) that matched nothing: {', '.join(summary.unmatched)}")
    see = "; see `kubebill status`" if summary.bad_inputs or summary.overlapping else ""
    return "merge: " + ", ".join(parts) + see


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.engine:
        settings = dataclasses.replace(settings, engine=args.engine)
    store = common.write_store(args, settings)
    days = common.selected_days(args)
    summary = pipeline.merge(store, settings, days=days)
    log.get("merge").info(
        "merge done",
        extra={
            "days": [d.isoformat() for d in summary.days],
            "merged": [d.isoformat() for d in summary.merged],
            "rows": summary.rows,
            "bad_inputs": summary.bad_inputs,
            "overlapping": summary.overlapping,
            "unmatched": summary.unmatched,
            "inputs": summary.inputs,
        },
    )
    print(describe(summary))
    for key in summary.keys:
        print(f"  {store.url.rstrip('/')}/{key}")
    return 0
