"""`kubebill package`: build the deployable function artifact, or the Spark job artifact, that infra/ deploys."""

from __future__ import annotations

import argparse
from pathlib import Path

from kubebill.devtools import packaging, spark_job
from kubebill.settings import Settings

HELP = "build the deployable function artifact (--cloud) or the Spark job artifact (--target spark) infra/ deploys"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cloud", choices=packaging.CLOUDS, help="the cloud whose function artifact to build")
    what.add_argument(
        "--target",
        choices=spark_job.TARGETS,
        help="spark: the job artifact of KUBEBILL_ENGINE=spark (wheel, entry script, dependency archive)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write the artifact into")
    parser.add_argument(
        "--arch",
        choices=tuple(packaging.AWS_PLATFORMS),
        action="append",
        help="AWS and spark: architecture to build (repeatable; default: all for AWS, x86_64 for spark)",
    )
    parser.add_argument(
        "--python",
        choices=sorted({*packaging.LAMBDA_PYTHONS, *spark_job.PYTHONS}),
        default=packaging.LAMBDA_PYTHONS[0],
        help="AWS and spark: the Python the wheels are for (AWS: the Lambda runtime, must match python_runtime; "
        "spark: the service's Python; default: %(default)s)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.target == "spark":
        built = spark_job.build(Path(args.out), architectures=args.arch or ("x86_64",), python=args.python)
    else:
        built = packaging.build(
            args.cloud, Path(args.out), architectures=args.arch or tuple(packaging.AWS_PLATFORMS), python=args.python
        )
    for artifact in built:
        size = f"{artifact.unzipped_bytes / 2**20:.1f} MB unzipped"
        if artifact.zipped_bytes is not None:
            size += f", {artifact.zipped_bytes / 2**20:.1f} MB zipped"
        print(f"{artifact.path}\t{size}")
    return 0
