"""`kubebill metrics`: print Prometheus exposition text for the latest results."""

from __future__ import annotations

import argparse

from kubebill.commands import common
from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "print Prometheus exposition text for the latest results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
