"""`kubebill simulate`: write synthetic allocation and native billing exports with ground truth."""

from __future__ import annotations

import argparse

from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "write synthetic allocation and native billing exports with ground truth"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", required=True, help="store folder to write into")
    parser.add_argument(
        "--provider", choices=("aws", "azure", "gcp"), action="append", help="repeatable; default all three"
    )
    parser.add_argument("--clusters", type=int, default=1, help="clusters per provider")
    parser.add_argument("--nodes", type=int, default=3, help="nodes per cluster")
    parser.add_argument("--pods", type=int, default=12, help="pods per cluster")
    parser.add_argument("--days", type=int, default=2, help="UTC days, ending yesterday")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same bytes)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
