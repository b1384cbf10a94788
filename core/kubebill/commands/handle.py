"""`kubebill handle`: route one created key, as every blob-created function does."""

from __future__ import annotations

import argparse

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "route one created key, as every blob-created function does"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", help="the created object key, relative to the store")
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
