"""`kubebill package`: build the deployable function artifact that infra/ deploys."""

from __future__ import annotations

import argparse

from kubebill.errors import InputError
from kubebill.settings import Settings

HELP = "build the deployable function artifact that infra/ deploys"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cloud", choices=("aws", "azure", "gcp"), required=True)
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write the artifact into")


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise InputError("not built yet")
