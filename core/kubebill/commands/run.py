"""`kubebill run`: export then merge the same days (the AKS seed tool's "both" mode)."""

from __future__ import annotations

import argparse

from kubebill import pipeline
from kubebill.commands import common
from kubebill.commands import export as export_command
from kubebill.settings import Settings
from kubebill.store import open_store

HELP = "export then merge the same days"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    export_command.add_arguments(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    summary = export_command.export(args, settings)
    print(f"exported {len(summary.days)} day(s), {summary.rows} rows of {summary.source} for cluster {summary.cluster}")
    merged = pipeline.merge(open_store(common.store_url(args, settings)), settings, days=summary.days)
    print(f"merged {len(merged.merged)} day(s), unchanged {len(merged.unchanged)}, {merged.rows} result rows")
    return 0
