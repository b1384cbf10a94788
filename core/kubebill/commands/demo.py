"""`kubebill demo`: the main job on the embedded local store, with nothing to configure and no network.

Simulates one cluster per cloud (AWS, Azure, Google Cloud) with their native billing exports, serves each
cluster's OpenCost API on 127.0.0.1, runs the real export against it, merges, prints a summary per cloud /
cluster / namespace, checks the result against the simulation's ground truth, and writes an HTML report.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.store.local import LocalStore

if TYPE_CHECKING:
    import pyarrow as pa

HELP = "simulate clusters on all three clouds, export, merge, print a summary and write results and an HTML report"

DEMO_DAYS = 2

_SUMMARY = """
WITH r AS (SELECT ProviderName AS cloud, x_K8sCluster AS cluster, x_K8sAllocation AS kind,
                  coalesce(x_K8sNamespace, '(' || x_K8sAllocation || ')') AS namespace,
                  BillingCurrency AS currency, BilledCost, EffectiveCost, ListCost
           FROM results WHERE x_K8sAllocation <> 'estimated')
SELECT cloud, coalesce(cluster, '(outside clusters)') AS cluster,
       namespace, currency,
       sum(BilledCost) AS billed, sum(EffectiveCost) AS effective, sum(ListCost) AS list,
       sum(BilledCost) FILTER (WHERE kind = 'idle') / nullif(sum(BilledCost), 0) AS idle,
       sum(BilledCost) FILTER (WHERE kind IN ('shared', 'unmounted', 'unallocated')) / nullif(sum(BilledCost), 0)
         AS unallocated,
       GROUPING(cluster) + GROUPING(namespace) AS level
FROM r GROUP BY GROUPING SETS ((cloud, currency), (cloud, cluster, currency), (cloud, cluster, namespace, currency))
HAVING NOT (cluster IS NULL AND GROUPING(cluster) = 0 AND GROUPING(namespace) = 0)
ORDER BY cloud, cluster NULLS FIRST, level DESC, billed DESC
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default="./kubebill-demo", help="folder of the demo store and report")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def summary_table(results: pa.Table) -> str:
    """Per cloud / cluster / namespace: billed, effective and list cost, idle and unallocated shares of billed."""
    from kubebill.reconcile import session

    con = session.connect()
    try:
        con.register("results", results)
        rows = con.execute(_SUMMARY).fetchall()
    finally:
        con.close()
    header = ("cloud", "cluster", "namespace", "billed", "effective", "list", "idle %", "unalloc. %")
    lines = []
    for cloud, cluster, namespace, currency, billed, effective, listed, idle, unallocated, level in rows:
        if level == 2:
            cluster, namespace = "(all)", ""
        elif level == 1:
            namespace = "(all)" if cluster != "(outside clusters)" else ""
        money = [f"{v or 0:,.2f} {currency}" for v in (billed, effective, listed)]
        shares = [_percent(idle), _percent(unallocated)] if level else ["", ""]
        lines.append((cloud or "", cluster, namespace, *money, *shares))
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    numeric = {3, 4, 5, 6, 7}

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(
            str(v).rjust(w) if i in numeric else str(v).ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in lines)])


def run(args: argparse.Namespace, settings: Settings) -> int:
    import pyarrow.parquet as pq

    from kubebill import pipeline
    from kubebill.reconcile import accuracy
    from kubebill.simulate import GROUND_TRUTH_KEY, Scenario, cluster_names, serve_opencost, simulate
    from kubebill.sinks import report, results

    started = time.monotonic()
    out = Path(args.out).absolute()
    world, root = out / "simulated", out / "store"
    for folder in (world, root):  # the demo's own folders only: a rerun starts clean
        shutil.rmtree(folder, ignore_errors=True)
    scenario = Scenario(days=DEMO_DAYS)
    print(f"simulating {', '.join(scenario.providers)}: one cluster each, {DEMO_DAYS} days …", flush=True)
    simulate(world, scenario)

    store = LocalStore(root)
    settings = dataclasses.replace(settings, store=str(root))
    world_store = LocalStore(world)
    for info in world_store.list(Layout().billing_root()):  # the clouds' exports land in the store as they would
        with world_store.open(info.key) as data:
            store.write(Layout.from_settings(settings).billing_root() + info.key.split("/", 1)[1], data)
    for cluster in cluster_names(scenario):
        with serve_opencost(scenario, cluster) as url:
            exported = pipeline.export(
                store, settings, days=scenario.day_list, source="opencost", url=url, cluster=cluster
            )
        print(f"exported {cluster} from its OpenCost API {url}: {exported.rows} allocation rows", flush=True)

    merged = pipeline.merge(store, settings)
    layout = Layout.from_settings(settings)
    table = results.read_days(store, layout, merged.merged)
    print(f"merged {len(merged.merged)} day(s): {table.num_rows} result rows, every bill line conserved\n")
    print(summary_table(table))

    compared = accuracy.compare(table, pq.read_table(world / GROUND_TRUTH_KEY))
    off = accuracy.failures(compared)
    print(
        f"\naccuracy vs the simulation's ground truth: worst namespace-day error "
        f"{100 * accuracy.worst(compared, 'BilledCost'):.3f}% (BilledCost), "
        f"{100 * accuracy.worst(compared, 'EffectiveCost'):.3f}% (EffectiveCost); "
        f"{len(off)} of {2 * compared.num_rows} above {100 * accuracy.TOLERANCE:.1f}%"
    )
    html = report.write_html_report(out / "report.html", table, title="kubebill demo")
    print("\nwritten:")
    for key in merged.keys:
        print(f"  {root / key}")
    print(f"  {html}")
    print(f"done in {time.monotonic() - started:.1f}s — try: kubebill report --store {root}")
    return 0
