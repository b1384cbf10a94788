"""`kubebill report`: read results and print cost per group."""

from __future__ import annotations

import argparse

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "read results and print cost per group"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default="namespace", help="namespace, cluster, controller, pod or label:KEY")
    parser.add_argument("--window", default="7d", help="24h, 7d, 30d or YYYY-MM")
    parser.add_argument("--format", default="table", choices=("table", "csv", "json", "html"))
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
