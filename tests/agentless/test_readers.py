"""The readers keep the clouds' splits: legacy CUR split cost allocation columns (``splitLineItem/*``,
``resourceTags/aws:eks:*``), and the CLI path of the issue's "Done when" (simulate, then merge)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kubebill.billing import read_file
from kubebill.billing.common import split_children
from kubebill.cli import main
from kubebill.devtools import accuracy
from kubebill.devtools.simulate.cloud_split import CLOUD_SPLIT_TRUTH_KEY
from kubebill.layout import Layout
from kubebill.schema import COST
from kubebill.sinks import results
from kubebill.store.local import LocalStore

# The legacy CUR spelling of the split cost allocation columns and EKS tags (AWS's CUR data dictionary): one
# instance-hour and its two pods' vCPU and memory rows. Values made up here.
HEADER = [
    "identity/LineItemId", "bill/PayerAccountId", "lineItem/UsageAccountId", "lineItem/LineItemType",
    "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageType",
    "lineItem/ResourceId", "lineItem/UnblendedCost", "lineItem/CurrencyCode", "pricing/publicOnDemandCost",
    "splitLineItem/ParentResourceId", "splitLineItem/SplitCost", "splitLineItem/UnusedCost",
    "resourceTags/aws:eks:cluster-name", "resourceTags/aws:eks:namespace", "resourceTags/aws:eks:node",
    "resourceTags/aws:eks:workload-name", "resourceTags/aws:eks:workload-type",
]  # fmt: skip
START, END = "2025-06-17T00:00:00Z", "2025-06-17T01:00:00Z"
POD = "arn:aws:eks:us-east-1:111122223333:pod/eks-1/{ns}/{pod}/5f1d2c3e"
ROWS = [
    ["1", "111122223333", "111122223333", "Usage", START, END, "AmazonEC2", "BoxUsage:m5.xlarge", "i-0abc", "0.192",
     "USD", "0.192", "", "", "", "eks-1", "", "", "", ""],
    *[
        ["", "111122223333", "111122223333", "Usage", START, END, "AmazonEC2", f"USE1-EKS-EC2-{usage}",
         POD.format(ns=ns, pod=pod), "0", "USD", "0", "i-0abc", str(split), str(unused), "eks-1", ns,
         "ip-10-0-1-1.ec2.internal", f"{ns}-api", "Deployment"]
        for ns, pod, usage, split, unused in (
            ("web", "web-1", "vCPU-Hours", 0.081, 0.009), ("web", "web-1", "GB-Hours", 0.009, 0.001),
            ("db", "db-1", "vCPU-Hours", 0.0648, 0.0072), ("db", "db-1", "GB-Hours", 0.0072, 0.0008),
        )
    ],
]  # fmt: skip


def test_legacy_cur_split_rows_carry_their_pod_and_never_count_as_lines(tmp_path: Path) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *ROWS])
    key = "billing/cur/legacy.csv"
    (tmp_path / key).parent.mkdir(parents=True)
    (tmp_path / key).write_text(text.getvalue())
    excluded: dict[str, int] = {}
    got = pa.Table.from_batches(list(read_file(LocalStore(tmp_path), key, excluded=excluded)), schema=COST)
    assert got.num_rows == 5 and pc.sum(split_children(got)).as_py() == 4
    assert excluded == {"aws-split-cost-allocation-child-row": 4}
    split = got["x_CloudSplit"].to_pylist()
    assert split[0] is None
    assert split[1] == {
        "parent": "i-0abc", "split_cost": 0.081, "unused_cost": 0.009, "cluster": "eks-1",
        "node": "ip-10-0-1-1.ec2.internal", "namespace": "web", "controller_kind": "Deployment",
        "controller": "web-api", "pod": "web-1", "labels": None,
    }  # fmt: skip


def test_done_when_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--out", str(out), "--provider", "aws", "--cloud-split", "--no-allocations"]
    assert main([*args, "--days", "1", "--end", "2025-06-17", "--nodes", "2", "--pods", "6"]) == 0
    assert main(["merge", "--store", str(out)]) == 0
    store = LocalStore(out)
    result = results.read_days(store, Layout(), results.available_days(store, Layout()))
    split = result.filter(pc.equal(result["AllocatedMethodId"], "aws-split-cost-allocation-data"))
    compared = accuracy.compare(split, pq.read_table(out / CLOUD_SPLIT_TRUTH_KEY))
    assert compared.num_rows > 0 and accuracy.failures(compared) == []
    assert date(2025, 6, 17) in set(compared.column("day").to_pylist())
