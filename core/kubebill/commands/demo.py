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
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kubebill import figures
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.store.local import LocalStore

if TYPE_CHECKING:
    import pyarrow as pa

HELP = "simulate clusters on all three clouds, export, merge, print a summary and write results and an HTML report"

DEMO_DAYS = 2


def _summary_sql() -> str:
    """Per cloud / cluster / namespace sums and the share figures of `kubebill.figures`."""
    shares = ", ".join(f"{figures.share_sql(f)} AS {f}" for f in figures.SHARES)
    outside = figures.OUTSIDE_CLUSTERS
    return f"""
WITH r AS (SELECT ProviderName AS cloud, coalesce(x_K8sCluster, '{outside}') AS cluster,
                  CASE WHEN x_K8sCluster IS NULL THEN '{outside}'
                       ELSE coalesce(x_K8sNamespace, '(' || x_K8sAllocation || ')') END AS namespace,
                  BillingCurrency AS currency, BilledCost, EffectiveCost, ListCost, x_K8sCluster, x_K8sAllocation
           FROM results WHERE x_K8sAllocation <> 'estimated')
SELECT cloud, cluster, namespace, currency,
       sum(BilledCost) AS billed, sum(EffectiveCost) AS effective, sum(ListCost) AS list,
       {figures.savings_sql()} AS savings, {shares},
       GROUPING(cluster) + GROUPING(namespace) AS level
FROM r GROUP BY GROUPING SETS ((cloud, currency), (cloud, cluster, currency), (cloud, cluster, namespace, currency))
HAVING NOT (cluster = '{outside}' AND GROUPING(namespace) = 0)
ORDER BY cloud, GROUPING(cluster) DESC, cluster = '{outside}', cluster, GROUPING(namespace) DESC, billed DESC
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default="./kubebill-demo", help="folder of the demo store and report")


def summary_table(results: pa.Table) -> str:
    """Per cloud / cluster / namespace: billed, effective and list cost, savings, and the shares of the cluster
    cost (`kubebill.figures`); lines outside every cluster are the cluster `__not_kubernetes__`."""
    from kubebill.reconcile import session

    con = session.connect()
    try:
        con.register("results", results)
        rows = con.execute(_summary_sql()).fetchall()
    finally:
        con.close()
    header = ("cloud", "cluster", "namespace", "billed", "effective", "list", "savings",
              *(figures.HEADERS[f] for f in figures.SHARES))  # fmt: skip
    lines = []
    for cloud, cluster, namespace, currency, *amounts, idle, unallocated, shared, level in rows:
        if level == 2:
            cluster, namespace = "(all)", ""
        elif level == 1:
            namespace = "(all)" if cluster != figures.OUTSIDE_CLUSTERS else ""
        money = [f"{figures.money_text(v or 0, currency, grouped=True)} {currency}" for v in amounts]
        shares = [figures.percent_text(v) if level else "" for v in (idle, unallocated, shared)]
        lines.append((cloud or "", cluster, namespace, *money, *shares))
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    numeric = set(range(3, len(header)))

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(
            str(v).rjust(w) if i in numeric else str(v).ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in lines)])


def describe_merge(merged: list[date], simulated: list[date], table: pa.Table) -> str:
    """What the merge did, in words: the simulated days, and why any other day (the month's purchases) is there."""
    import pyarrow.compute as pc

    text = f"merged {len(merged)} day(s), {table.num_rows} result rows, every bill line conserved: "
    text += f"the {len(simulated)} simulated day(s) {simulated[0]} to {simulated[-1]}"
    for day in sorted(set(merged) - set(simulated)):
        on_day = table.filter(pc.equal(pc.strftime(table["ChargePeriodStart"], "%Y-%m-%d"), day.isoformat()))
        kinds = sorted(set(on_day["ChargeCategory"].to_pylist()) - {None})
        text += (
            f", and {day}: the bills put the month's {', '.join(k.lower() for k in kinds) or 'monthly'} lines "
            f"({on_day.num_rows} rows, outside the clusters) on the first of the month"
        )
    return text


MARKER = ".kubebill-demo"  # written into --out when the demo creates it: only such a folder is ever cleaned


def _claim(out: Path) -> None:
    """Make `out` the demo's: create it (with the marker), or accept it when empty or already marked; refuse any
    other folder, whose files the demo did not write and must not delete."""
    from kubebill.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder, found a file")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise InputError(
            f"--out {out}: the folder is not empty and was not created by `kubebill demo` (no {MARKER} in it); "
            "pass a new or empty folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("created by kubebill demo: its store/, simulated/ and report.html are rewritten\n")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import pyarrow.parquet as pq

    from kubebill import pipeline
    from kubebill.devtools import accuracy
    from kubebill.devtools.simulate import GROUND_TRUTH_KEY, Scenario, cluster_names, serve_opencost, simulate
    from kubebill.sinks import report, results

    started = time.monotonic()
    out = Path(args.out).absolute()
    world, root = out / "simulated", out / "store"
    _claim(out)
    for folder in (world, root):  # the demo's own folders, in a folder it created: a rerun starts clean
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
    print(describe_merge(merged.merged, scenario.day_list, table), "\n")
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
    first, last = min(merged.merged), max(merged.merged)
    print(f"done in {time.monotonic() - started:.1f}s — the same figures by namespace:")
    print(f"  kubebill report --store {root} --from {first} --to {last} --by cluster,namespace")
    return 0
