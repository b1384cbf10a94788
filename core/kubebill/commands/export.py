"""`kubebill export`: pull allocation data for each UTC day from a cluster API and write it to the store."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date, timedelta
from typing import Any

from kubebill import log, pipeline, progress
from kubebill.commands import common
from kubebill.errors import ConfigError, InputError
from kubebill.model import days_between, yesterday
from kubebill.settings import Settings

HELP = "pull allocation data for each UTC day from a cluster API and write it to the store"

# flag dest -> Settings field (values are parsed by the field's own parser, like the variable)
_QUERY_FLAGS = {
    "step": "step",
    "aggregate": "aggregate",
    "include_idle": "include_idle",
    "idle_by_node": "idle_by_node",
    "share_idle": "share_idle",
    "resolution": "resolution",
    "accumulate": "accumulate",
    "filter": "filter",
    "workers": "export_workers",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=("opencost", "kubecost", "aks"), help="allocation API (KUBEBILL_SOURCE)")
    parser.add_argument("--url", help="base URL of the API (KUBEBILL_SOURCE_URL)")
    parser.add_argument(
        "--cluster", help="cluster name (KUBEBILL_CLUSTER; default: the one the OpenCost/Kubecost answer names)"
    )
    common.add_days(parser)
    common.add_store(parser)
    parser.add_argument(
        "--workers", metavar="N", help="processes parsing steps side by side; 1: least memory (KUBEBILL_EXPORT_WORKERS)"
    )
    query = parser.add_argument_group("query options (OpenCost/Kubecost)")
    query.add_argument("--step", metavar="DURATION", help="one request per step, e.g. 1h (KUBEBILL_STEP)")
    query.add_argument("--aggregate", metavar="PROPS", help="aggregate properties (KUBEBILL_AGGREGATE)")
    for flag, var in (("include-idle", "INCLUDE_IDLE"), ("idle-by-node", "IDLE_BY_NODE"), ("share-idle", "SHARE_IDLE")):
        query.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=f"KUBEBILL_{var}")
    query.add_argument("--resolution", metavar="DURATION", help="Prometheus resolution, e.g. 1m (KUBEBILL_RESOLUTION)")
    query.add_argument("--accumulate", metavar="VALUE", help="OpenCost accumulate (KUBEBILL_ACCUMULATE)")
    query.add_argument("--filter", metavar="EXPR", help="OpenCost filter expression (KUBEBILL_FILTER)")


def with_flags(args: argparse.Namespace, settings: Settings) -> Settings:
    """Settings with the query flags applied, each validated like its variable."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    changes: dict[str, Any] = {}
    for dest, name in _QUERY_FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if isinstance(value, bool):
            changes[name] = value
            continue
        try:
            changes[name] = fields[name].metadata["parse"](value)
        except ValueError as exc:
            raise ConfigError(f"--{dest.replace('_', '-')} {value!r}: expected {exc}") from None
    return dataclasses.replace(settings, **changes)


def export_days(args: argparse.Namespace, settings: Settings) -> list[date]:
    """--date / --from --to, else KUBEBILL_EXPORT_FROM/TO, else yesterday (UTC)."""
    chosen = common.selected_days(args)
    if chosen is not None:
        return chosen
    if settings.export_from is not None:
        return list(days_between(settings.export_from, settings.export_to or settings.export_from))
    if settings.export_to is not None:
        raise InputError("KUBEBILL_EXPORT_TO needs KUBEBILL_EXPORT_FROM")
    return [yesterday()]


def cluster_name(args: argparse.Namespace, settings: Settings, days: list[date]) -> str | None:
    """--cluster, KUBEBILL_CLUSTER, else the one cluster the OpenCost/Kubecost answer names."""
    source = args.source or settings.source
    url = args.url or settings.source_url
    if args.cluster or settings.cluster or not url or source == "aks" or not days:
        return str(args.cluster or settings.cluster or "") or None
    import requests

    from kubebill.sources.cluster_name import discover
    from kubebill.sources.http import HttpOptions
    from kubebill.sources.opencost import Query

    with requests.Session() as session:
        name = discover(
            session,
            base_url=url,
            source=source,
            day=days[0],
            query=Query.from_settings(settings),
            options=HttpOptions.from_settings(settings),
        )
    log.get("export").info("cluster %s, as the API's answer names it", name, extra={"cluster": name})
    return name


def export(args: argparse.Namespace, settings: Settings) -> pipeline.ExportSummary:
    settings = with_flags(args, settings)
    days = export_days(args, settings)
    store = common.open_any(common.store_url(args, settings))
    cluster = cluster_name(args, settings, days)
    source = args.source or settings.source
    steps = max(1, timedelta(days=1) // settings.step_delta) if source != "aks" else 1
    with progress.phase(f"export {len(days)} day(s)", total=len(days) * steps) as bar:

        def on_day(day: date, rows: int, key: str) -> None:
            if source == "aks":  # one request per day: the day is the step
                bar.tick(f"{day} {rows} rows")

        return pipeline.export(
            store, settings, days=days, source=args.source, url=args.url, cluster=cluster, on_day=on_day
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    summary = export(args, settings)
    print(f"exported {len(summary.days)} day(s), {summary.rows} rows of {summary.source} for cluster {summary.cluster}")
    for key in summary.keys:
        print(key)
    return 0
