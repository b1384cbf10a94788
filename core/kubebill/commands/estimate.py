"""`kubebill estimate`: what Kubernetes manifests will cost a month at the cluster's real prices, for CI."""

from __future__ import annotations

import argparse
import sys

from kubebill.commands import common
from kubebill.commands.prices import add_days, check_days
from kubebill.errors import InputError
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.store import open_store

HELP = "monthly cost of Kubernetes manifests at the cluster's effective and list prices from its results"
FORMATS = ("table", "json", "markdown")  # kubebill.estimate.render.ESTIMATE_FORMATS, without importing it for --help


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        required=True,
        metavar="FILE|DIR|-",
        help="manifest file, folder (every *.yaml, *.yml, *.json below) or - for standard input; repeatable",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE|cluster",
        help="compare with these manifests, or with what the same workloads cost in the results (cluster)",
    )
    parser.add_argument(
        "--fail-over",
        type=float,
        metavar="PCT",
        help="exit 1 when the effective cost rises more than PCT %% over the baseline",
    )
    parser.add_argument("--with-overhead", action="store_true", help="add the cluster's idle and shared overhead")
    parser.add_argument(
        "--requests-only",
        action="store_true",
        help="price requests as they are, not × what this cluster's containers are allocated beyond their requests",
    )
    parser.add_argument("--namespace", default="default", help="namespace of objects that name none")
    add_days(parser)
    parser.add_argument("--format", default="table", choices=FORMATS, help="output format")
    common.add_store(parser)


def _yaml() -> None:
    try:
        import yaml  # noqa: F401
    except ImportError:
        raise InputError("reading manifests needs PyYAML: pip install 'kubebill[estimate]'") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill.estimate import pricing, render
    from kubebill.estimate.manifests import read_sources
    from kubebill.estimate.prices import learn

    check_days(args)
    if args.fail_over is not None and not args.baseline:
        raise InputError("--fail-over needs --baseline FILE or --baseline cluster to compare with")
    _yaml()
    demands, problems = read_sources(args.files, namespace=args.namespace)
    old = None
    if args.baseline and args.baseline != "cluster":
        old, old_problems = read_sources([args.baseline], namespace=args.namespace)
        problems += old_problems
    store = open_store(common.store_url(args, settings))
    book, results = learn(store, Layout.from_settings(settings), cluster=args.cluster, days=args.days)
    options = {"with_overhead": args.with_overhead, "requests_only": args.requests_only}
    estimate = pricing.estimate(demands, book, **options)
    if old is not None:
        pricing.compare_with_file(estimate, pricing.estimate(old, book, **options), args.baseline)
    elif args.baseline == "cluster":
        pricing.compare_with_cluster(estimate, results)
    messages = [str(p) for p in problems]
    if args.format == "json":
        sys.stdout.write(render.estimate_json(estimate, messages))
    elif args.format == "markdown":
        sys.stdout.write(render.estimate_markdown(estimate))
    else:
        sys.stdout.write(render.estimate_table(estimate))
    sys.stdout.flush()
    for message in messages:
        print(f"kubebill estimate: {message}", file=sys.stderr)
    if problems:
        return 2
    if args.fail_over is not None and estimate.over(args.fail_over):
        diff = estimate.difference()
        pct = "" if diff is None or diff[1] is None else f" ({diff[1]:+.1f} %)"
        print(f"kubebill estimate: cost rises more than {args.fail_over:g} %{pct} over the baseline", file=sys.stderr)
        return 1
    return 0
