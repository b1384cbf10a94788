"""`kubebill merge`: reconcile the given days (default: the days whose inputs changed since the last merge)."""

from __future__ import annotations

import argparse

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "reconcile the given days (default: the days whose inputs changed since the last merge)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_days(parser, month=True)
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
