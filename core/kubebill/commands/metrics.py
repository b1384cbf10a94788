"""`kubebill metrics`: print Prometheus exposition text for the latest results."""

from __future__ import annotations

import argparse
import sys

from kubebill.commands import common
from kubebill.settings import Settings

HELP = "print Prometheus exposition text for the latest results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill import budgets
    from kubebill.sinks import metrics  # duckdb: loaded only by this command

    store = common.read_store(args, settings)
    budgets.read(store)  # a bad budgets file is an error here (exit 2); a server only logs it and goes on
    body, _ = metrics.render(store, settings)
    sys.stdout.write(body.decode())
    return 0
