"""`kubebill demo`: the main job on the embedded local store."""

from __future__ import annotations

import argparse

from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "simulate clusters on all three clouds, export, merge, print a summary and write results and an HTML report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default="./kubebill-demo", help="folder of the demo store and report")


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
