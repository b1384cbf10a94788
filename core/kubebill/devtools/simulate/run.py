"""Write a whole scenario: allocations, native bills per provider, and ground_truth.parquet."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from kubebill.devtools.simulate.allocation import allocation_table, cluster_day
from kubebill.devtools.simulate.aws import AwsExport
from kubebill.devtools.simulate.azure import AzureExport
from kubebill.devtools.simulate.budgets import write_budgets
from kubebill.devtools.simulate.cloud_split import CLOUD_SPLIT_TRUTH_KEY
from kubebill.devtools.simulate.export import Export
from kubebill.devtools.simulate.gcp import GcpExport
from kubebill.devtools.simulate.lines import DayTotals
from kubebill.devtools.simulate.manifests import write_manifests
from kubebill.devtools.simulate.model import Cluster, Scenario, build_clusters
from kubebill.devtools.simulate.native import Written, day_us
from kubebill.devtools.simulate.truth import Truth
from kubebill.layout import Layout

GROUND_TRUTH_KEY = "ground_truth.parquet"


EXPORTS: dict[str, type[Export]] = {"aws": AwsExport, "azure": AzureExport, "gcp": GcpExport}
CLOUD_SPLITS = ("aws", "gcp")  # the clouds whose bills split Kubernetes themselves (Azure's split is the AKS agent)


def simulate(out: Path, scenario: Scenario, *, layout: Layout | None = None) -> list[Written]:
    """Write every file of `scenario` under the store folder `out`; returns what was written (key, rows)."""
    layout = layout or Layout()
    truth = Truth()
    split_truth = Truth()  # the lines the clouds split themselves (node lines), with --cloud-split
    written: list[Written] = []
    for provider in scenario.providers:
        clusters: list[Cluster] = build_clusters(scenario, provider)
        export: Export = EXPORTS[provider](out, scenario, clusters)
        for day_index, day in enumerate(scenario.day_list):
            totals = DayTotals(day_us(day))
            for cluster in clusters:
                cd = cluster_day(scenario, cluster, day_index)
                if scenario.allocations:
                    table = allocation_table(cd)
                    key = layout.allocation_key(cluster.name, day, "opencost")
                    (out / key).parent.mkdir(parents=True, exist_ok=True)
                    pq.write_table(table, out / key, compression="snappy")
                    written.append(Written(key, table.num_rows))
                blocks = export.cluster_lines(cd)
                truth.add(provider, blocks)
                if scenario.cloud_split and provider in CLOUD_SPLITS:
                    split_truth.add(provider, [b for b in blocks if b.target == "node"])
                export.write(day, blocks)
                totals.add(blocks)
            account = export.account_lines(day, day_index, totals)
            truth.add(provider, account)
            export.write(day, account)
        written += export.close()
        written += write_manifests(out, scenario, clusters)
    written += write_budgets(out)
    table = truth.table()
    pq.write_table(table, out / GROUND_TRUTH_KEY, compression="snappy")
    written.append(Written(GROUND_TRUTH_KEY, table.num_rows))
    if scenario.cloud_split:
        table = split_truth.table()
        pq.write_table(table, out / CLOUD_SPLIT_TRUTH_KEY, compression="snappy")
        written.append(Written(CLOUD_SPLIT_TRUTH_KEY, table.num_rows))
    return written
