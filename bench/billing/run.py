"""Billing reader benchmark: a 10M-row CUR 2.0 parquet month and a 10M-row Azure CSV export.

Generates both into a temp dir with pyarrow in batches (bounded memory), reads each through kubebill and with
pyarrow alone, each in a fresh child process, prints rows/s, CPU seconds (user + system) and peak RSS (VmHWM),
and deletes the files.
The two readers run alternately `--repeat` times (the machine is shared: one pair of runs says little); the
ratios printed are of the medians.

    .venv/bin/python bench/billing/run.py [--rows 10000000] [--repeat 3] [--only csv|parquet]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CHUNK = 500_000
SUB = "/subscriptions/0000-1111/resourceGroups/MC_rg_bench-aks_westeurope/providers/Microsoft.Compute"


def _take(values: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(idx))


def generate_cur2(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    instances = [f"i-{i:017x}" for i in range(2000)]
    types = ["Usage", "SavingsPlanCoveredUsage", "DiscountedUsage", "Tax"]
    hours = np.datetime64("2025-06-01T00:00:00", "us") + np.arange(720).astype("timedelta64[h]")
    tags = pa.array(
        [[("user:team", f"t{i % 7}"), ("aws:eks:cluster-name", f"eks-{i % 3}")] for i in range(2000)],
        pa.map_(pa.string(), pa.string()),
    )
    writer = None
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        inst = rng.integers(0, 2000, n)
        hour = rng.integers(0, 720, n)
        cost = rng.random(n)
        begin = pa.array(hours[hour]).cast(pa.timestamp("us"))
        table = pa.table(
            {
                "bill_payer_account_id": _take(["111122223333"], np.zeros(n, dtype=np.int64)),
                "line_item_usage_account_id": _take(["444455556666", "777788889999"], inst % 2),
                "line_item_line_item_type": _take(types, rng.integers(0, 4, n)),
                "line_item_usage_start_date": begin,
                "line_item_usage_end_date": pa.array(hours[hour] + np.timedelta64(1, "h")).cast(pa.timestamp("us")),
                "line_item_product_code": _take(["AmazonEC2"], np.zeros(n, dtype=np.int64)),
                "line_item_usage_type": _take(["BoxUsage:m5.large", "SpotUsage:m5.large"], inst % 2),
                "line_item_resource_id": _take(instances, inst),
                "line_item_usage_amount": pa.array(np.ones(n)),
                "line_item_currency_code": _take(["USD"], np.zeros(n, dtype=np.int64)),
                "line_item_unblended_cost": pa.array(cost),
                "line_item_net_unblended_cost": pa.array(cost),
                "pricing_public_on_demand_cost": pa.array(cost * 1.2),
                "pricing_term": _take(["OnDemand", "Reserved"], inst % 2),
                "reservation_effective_cost": pa.array(cost * 0.6),
                "savings_plan_savings_plan_effective_cost": pa.array(cost * 0.7),
                "product_region_code": _take(["us-east-1"], np.zeros(n, dtype=np.int64)),
                "resource_tags": tags.take(pa.array(inst)),
                "split_line_item_parent_resource_id": pa.nulls(n, pa.string()),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=CHUNK)
    assert writer is not None
    writer.close()


def generate_azure(path: Path, rows: int) -> None:
    rng = np.random.default_rng(2)
    vmss = [f"{SUB}/virtualMachineScaleSets/aks-pool{i}-1234-vmss" for i in range(50)]
    days = [f"06/{d:02d}/2025" for d in range(1, 31)]
    tag_text = [f'{{"aks-managed-poolName":"pool{i}","env":"bench"}}' for i in range(50)]
    info = [f'{{"VMName":"aks-pool{p}-1234-vmss_{v}","VCPUs":2}}' for p in range(50) for v in range(40)]
    with path.open("wb") as out:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            pool = rng.integers(0, 50, n)
            vm = rng.integers(0, 40, n)
            cost = rng.random(n)
            table = pa.table(
                {
                    "BillingAccountId": _take(["8611537"], np.zeros(n, dtype=np.int64)),
                    "SubscriptionId": _take(["0000-1111"], np.zeros(n, dtype=np.int64)),
                    "Date": _take(days, rng.integers(0, 30, n)),
                    "MeterCategory": _take(["Virtual Machines"], np.zeros(n, dtype=np.int64)),
                    "MeterId": _take(["14fc9a21-4919-4cb1-b495-5666966556bc"], np.zeros(n, dtype=np.int64)),
                    "MeterName": _take(["D2 v2/DS2 v2"], np.zeros(n, dtype=np.int64)),
                    "Quantity": pa.array(np.round(rng.random(n) * 24, 6)),
                    "EffectivePrice": pa.array(np.full(n, 0.146)),
                    "CostInBillingCurrency": pa.array(cost),
                    "UnitPrice": pa.array(np.full(n, 0.146)),
                    "BillingCurrency": _take(["USD"], np.zeros(n, dtype=np.int64)),
                    "ResourceLocation": _take(["westeurope"], np.zeros(n, dtype=np.int64)),
                    "ResourceId": _take(vmss, pool),
                    "ResourceGroup": _take(["MC_rg_bench-aks_westeurope"], np.zeros(n, dtype=np.int64)),
                    "AdditionalInfo": _take(info, pool * 40 + vm),
                    "Tags": _take(tag_text, pool),
                    "ChargeType": _take(["Usage"], np.zeros(n, dtype=np.int64)),
                    "PricingModel": _take(["OnDemand", "Spot", "Reservation"], pool % 3),
                    "PayGPrice": pa.array(np.full(n, 0.17)),
                }
            )
            pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=start == 0))


CHILD = """
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
rows = 0
if mode == "kubebill":
    from pathlib import Path
    from kubebill.billing import read_file
    from kubebill.store.local import LocalStore
    p = Path(path)
    for batch in read_file(LocalStore(p.parent), p.name):
        rows += batch.num_rows
elif mode == "pyarrow-parquet":
    import pyarrow.parquet as pq
    for batch in pq.ParquetFile(path).iter_batches(batch_size=131072):
        rows += batch.num_rows
else:
    import pyarrow.csv as pacsv
    for batch in pacsv.open_csv(path):
        rows += batch.num_rows
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
# VmHWM is this program's own peak; ru_maxrss would also count the parent's pages at fork (kept over exec)
try:
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
    rss = int(hwm[0].split()[1]) * 1024
except (OSError, IndexError):
    rss = usage.ru_maxrss * 1024
print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu, "rss": rss}))
"""


def measure(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("csv", "parquet"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kubebill-bench-billing-"))
    try:
        cases = [
            ("parquet", "CUR 2.0 parquet", workdir / "cur2.snappy.parquet", generate_cur2, "pyarrow-parquet"),
            ("csv", "Azure CSV", workdir / "azure-actual.csv", generate_azure, "pyarrow-csv"),
        ]
        print(f"{'file':<18}{'reader':<18}{'rows':>12}{'seconds':>10}{'rows/s':>14}{'CPU s':>8}{'peak RSS MB':>13}")
        for kind, label, path, generate, raw in cases:
            if args.only not in (None, kind):
                continue
            began = time.perf_counter()
            generate(path, args.rows)
            size = path.stat().st_size / 2**20
            print(f"# generated {label}: {size:.0f} MB in {time.perf_counter() - began:.0f} s")
            results: dict[str, list[dict[str, float]]] = {"kubebill": [], raw: []}
            for _ in range(args.repeat):
                for mode in ("kubebill", raw):
                    r = measure(mode, path)
                    results[mode].append(r)
                    print(
                        f"{label:<18}{mode:<18}{int(r['rows']):>12}{r['seconds']:>10.1f}"
                        f"{r['rows'] / r['seconds']:>14,.0f}{r['cpu']:>8.1f}{r['rss'] / 2**20:>13.0f}"
                    )
            mine, theirs = results["kubebill"], results[raw]
            wall = median(r["seconds"] for r in mine) / median(r["seconds"] for r in theirs)
            cpu = median(r["cpu"] for r in mine) / median(r["cpu"] for r in theirs)
            rss = max(r["rss"] for r in mine)
            print(
                f"# {label}: median seconds kubebill/pyarrow = {wall:.2f} (target <= 1.5), CPU {cpu:.2f}; "
                f"kubebill peak RSS {rss / 2**20:.0f} MB ({'<=' if rss <= 2**30 else '>'} 1 GB)"
            )
            path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
