"""`kubebill package`: build the deployable function artifact that infra/ deploys."""

from __future__ import annotations

import argparse
from pathlib import Path

from kubebill.devtools import packaging
from kubebill.settings import Settings

HELP = "build the deployable function artifact that infra/ deploys"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cloud", choices=packaging.CLOUDS, required=True, help="the cloud whose artifact to build")
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write the artifact into")
    parser.add_argument(
        "--arch",
        choices=tuple(packaging.AWS_PLATFORMS),
        action="append",
        help="AWS only: Lambda architecture to build (repeatable; default: all)",
    )
    parser.add_argument(
        "--python",
        choices=packaging.LAMBDA_PYTHONS,
        default=packaging.LAMBDA_PYTHONS[0],
        help="AWS only: the Lambda Python runtime the wheels are for (must match python_runtime; default: %(default)s)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    built = packaging.build(
        args.cloud, Path(args.out), architectures=args.arch or tuple(packaging.AWS_PLATFORMS), python=args.python
    )
    for artifact in built:
        size = f"{artifact.unzipped_bytes / 2**20:.1f} MB unzipped"
        if artifact.zipped_bytes is not None:
            size += f", {artifact.zipped_bytes / 2**20:.1f} MB zipped"
        print(f"{artifact.path}\t{size}")
    return 0
