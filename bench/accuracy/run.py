"""kubebill vs the simulator's ground truth: per cluster, namespace and day, the error relative to the namespace cost.

    .venv/bin/python bench/accuracy/run.py [--providers aws,azure,gcp] [--clusters 1] [--nodes 6] [--pods 30]
                                           [--days 3] [--seed 1] [--method opencost-list-cost]

Simulates (bills at RI / Savings Plan / CUD / spot prices, not list), merges every day, compares BilledCost and
EffectiveCost per (cluster, namespace, day) and prints the worst errors, per cluster, per provider (with the
count above the 0.5% target) and overall, and every row above the target.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kubebill import pipeline
from kubebill.devtools import accuracy
from kubebill.devtools.simulate import GROUND_TRUTH_KEY, Scenario, simulate
from kubebill.devtools.simulate.model import cluster_name
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", default="aws,azure,gcp")
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=6)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--method", default="opencost-list-cost", choices=("opencost-list-cost", "aws-split-cost"))
    args = parser.parse_args()
    scenario = Scenario(
        providers=tuple(args.providers.split(",")),
        clusters=args.clusters,
        nodes=args.nodes,
        pods=args.pods,
        days=args.days,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="kubebill-accuracy-") as folder:
        root = Path(folder)
        started = time.monotonic()
        simulate(root, scenario)
        store = LocalStore(root)
        settings = dataclasses.replace(Settings(), store=str(root), split_method=args.method)
        summary = pipeline.merge(store, settings)
        table = results.read_days(store, Layout(), summary.merged)
        compared = accuracy.compare(table, pq.read_table(root / GROUND_TRUTH_KEY))
        elapsed = time.monotonic() - started
    print(f"scenario: {scenario}")
    print(f"merged {len(summary.merged)} day(s), {table.num_rows} result rows, simulate+merge {elapsed:.1f}s")
    print(f"{'cluster':<16} {'rows':>5} {'worst BilledCost':>17} {'worst EffectiveCost':>20}")
    for cluster in sorted({c for c in compared.column("cluster").to_pylist() if c}):
        part = compared.filter(pc.equal(compared["cluster"], cluster))
        print(
            f"{cluster:<16} {part.num_rows:>5} {100 * accuracy.worst(part, 'BilledCost'):>16.4f}%"
            f" {100 * accuracy.worst(part, 'EffectiveCost'):>19.4f}%"
        )
    print(f"{'provider':<9} {'rows':>5} {'max error BilledCost':>21} {'max error EffectiveCost':>24} {'above':>6}")
    for provider in scenario.providers:
        names = [cluster_name(provider, i) for i in range(scenario.clusters)]
        part = compared.filter(pc.is_in(compared["cluster"], pa.array(names)))
        print(
            f"{provider:<9} {part.num_rows:>5} {100 * accuracy.worst(part, 'BilledCost'):>20.2e}%"
            f" {100 * accuracy.worst(part, 'EffectiveCost'):>23.2e}% {len(accuracy.failures(part)):>6}"
        )
    off = accuracy.failures(compared)
    print(
        f"overall worst: BilledCost {100 * accuracy.worst(compared, 'BilledCost'):.4f}%, "
        f"EffectiveCost {100 * accuracy.worst(compared, 'EffectiveCost'):.4f}%; "
        f"{len(off)} of {2 * compared.num_rows} namespace-day values above {100 * accuracy.TOLERANCE:.1f}%"
    )
    for line in off:
        print("  " + line)
    return 0 if not off else 1


if __name__ == "__main__":
    sys.exit(main())
