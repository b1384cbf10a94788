"""`kubebill export`: pull allocation data for each UTC day from a cluster API and write it to the store."""

from __future__ import annotations

import argparse

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "pull allocation data for each UTC day from a cluster API and write it to the store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=("opencost", "kubecost", "aks"), help="allocation API (KUBEBILL_SOURCE)")
    parser.add_argument("--url", help="base URL of the API (KUBEBILL_SOURCE_URL)")
    parser.add_argument("--cluster", help="cluster name (KUBEBILL_CLUSTER)")
    common.add_days(parser)
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
