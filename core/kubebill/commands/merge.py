"""`kubebill merge`: reconcile the given days (default: the days whose inputs changed since the last merge)."""

from __future__ import annotations

import argparse

from kubebill import log, pipeline
from kubebill.commands import common
from kubebill.settings import Settings

HELP = "reconcile the given days (default: the days whose inputs changed since the last merge)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_days(parser, month=True)
    common.add_store(parser)


def describe(summary: pipeline.MergeSummary) -> str:
    """One line a person reads after a merge."""
    if not summary.days:
        return "merge: no day has changed inputs; nothing to do"
    parts = [
        f"merged {len(summary.merged)} day(s)",
        f"{len(summary.unchanged)} unchanged",
        f"{summary.rows} result rows",
        f"{summary.seconds:.1f}s",
    ]
    if summary.bad_inputs:
        parts.append(f"{len(summary.bad_inputs)} bad input(s) left out: {', '.join(summary.bad_inputs)}")
    return "merge: " + ", ".join(parts)


def run(args: argparse.Namespace, settings: Settings) -> int:
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
        },
    )
    print(describe(summary))
    for key in summary.keys:
        print(f"  {store.url.rstrip('/')}/{key}")
    return 0
