"""AWS: CUR 2.0 (Data Exports) parquet per billing period with its metadata manifest.

Keys: ``billing/aws/<export>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet`` and
``billing/aws/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``.
Cost columns: BilledCost = line_item_unblended_cost; EffectiveCost = reservation_effective_cost
(DiscountedUsage), savings_plan_savings_plan_effective_cost (SavingsPlanCoveredUsage), 0 for
SavingsPlanNegation / RIFee / SavingsPlanRecurringFee (commitments fully used), else unblended;
ListCost = pricing_public_on_demand_cost; ContractedCost = line_item_unblended_cost (no private pricing).
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from kubebill.devtools.simulate import cloud_split
from kubebill.devtools.simulate.allocation import HOURS, ClusterDay
from kubebill.devtools.simulate.export import Export
from kubebill.devtools.simulate.lines import DayTotals, Lines, Resource, daily, hourly, lines_of
from kubebill.devtools.simulate.model import (
    BUCKET_TAGS,
    COMMIT_DISCOUNT,
    SAVINGS_PLAN_DISCOUNT,
    Cluster,
    Scenario,
    database_tags,
)
from kubebill.devtools.simulate.native import (
    ParquetParts,
    Written,
    const,
    day_us,
    hex_of,
    next_month,
    string_map,
    strings,
    timestamps,
    uuid_of,
)

EXPORT = "kubebill-sim-cur2"
MAP = pa.map_(pa.string(), pa.string())
TS = pa.timestamp("ms", tz="UTC")
S, F = pa.string(), pa.float64()

CUR2 = pa.schema(
    [
        ("bill_bill_type", S),
        ("bill_billing_entity", S),
        ("bill_billing_period_end_date", TS),
        ("bill_billing_period_start_date", TS),
        ("bill_invoice_id", S),
        ("bill_invoicing_entity", S),
        ("bill_payer_account_id", S),
        ("bill_payer_account_name", S),
        ("cost_category", MAP),
        ("discount", pa.map_(S, F)),
        ("identity_line_item_id", S),
        ("identity_time_interval", S),
        ("line_item_availability_zone", S),
        ("line_item_blended_cost", F),
        ("line_item_blended_rate", S),
        ("line_item_currency_code", S),
        ("line_item_legal_entity", S),
        ("line_item_line_item_description", S),
        ("line_item_line_item_type", S),
        ("line_item_net_unblended_cost", F),
        ("line_item_normalization_factor", F),
        ("line_item_normalized_usage_amount", F),
        ("line_item_operation", S),
        ("line_item_product_code", S),
        ("line_item_resource_id", S),
        ("line_item_tax_type", S),
        ("line_item_unblended_cost", F),
        ("line_item_unblended_rate", S),
        ("line_item_usage_account_id", S),
        ("line_item_usage_account_name", S),
        ("line_item_usage_amount", F),
        ("line_item_usage_end_date", TS),
        ("line_item_usage_start_date", TS),
        ("line_item_usage_type", S),
        ("pricing_currency", S),
        ("pricing_lease_contract_length", S),
        ("pricing_offering_class", S),
        ("pricing_public_on_demand_cost", F),
        ("pricing_public_on_demand_rate", S),
        ("pricing_purchase_option", S),
        ("pricing_term", S),
        ("pricing_unit", S),
        ("product", MAP),
        ("product_instance_type", S),
        ("product_location", S),
        ("product_product_family", S),
        ("product_region_code", S),
        ("product_servicecode", S),
        ("product_sku", S),
        ("reservation_amortized_upfront_cost_for_usage", F),
        ("reservation_effective_cost", F),
        ("reservation_recurring_fee_for_usage", F),
        ("reservation_reservation_a_r_n", S),
        ("reservation_unused_amortized_upfront_fee_for_billing_period", F),
        ("reservation_unused_recurring_fee", F),
        ("resource_tags", MAP),
        ("savings_plan_amortized_upfront_commitment_for_billing_period", F),
        ("savings_plan_recurring_commitment_for_billing_period", F),
        ("savings_plan_savings_plan_a_r_n", S),
        ("savings_plan_savings_plan_effective_cost", F),
        ("savings_plan_savings_plan_rate", F),
        ("savings_plan_total_commitment_to_date", F),
        ("savings_plan_used_commitment", F),
    ]
)

# kind -> line_item_line_item_type
ITEM_TYPE = {
    "ec2": "Usage",
    "spot": "Usage",
    "ri": "DiscountedUsage",
    "sp": "SavingsPlanCoveredUsage",
    "sp_negation": "SavingsPlanNegation",
    "ebs": "Usage",
    "root_ebs": "Usage",
    "elb": "Usage",
    "eks": "Usage",
    "nat": "Usage",
    "rds": "Usage",
    "s3": "Usage",
    "sp_fee": "SavingsPlanRecurringFee",
    "ri_fee": "RIFee",
    "tax": "Tax",
    "credit": "Credit",
    "support": "Fee",
}


def _tag_key(key: str) -> str:
    """CUR 2.0 resource_tags keys: `user_`/`aws_` + the tag key with non-alphanumerics as underscores."""
    prefix = "aws_" if key.startswith("aws:") else "user_"
    return prefix + re.sub(r"[^A-Za-z0-9]", "_", key.removeprefix("aws:"))


class AwsExport(Export):
    provider = "aws"

    def __init__(self, root: Path, scenario: Scenario, clusters: list[Cluster]) -> None:
        super().__init__(root, scenario, clusters)
        self.account = clusters[0].account
        rng = random.Random(f"{scenario.seed}:aws:commitments")
        self.ri_arn = f"arn:aws:ec2:us-east-1:{self.account}:reserved-instances/{uuid_of(rng)}"
        self.sp_arn = f"arn:aws:savingsplans::{self.account}:savingsplan/{uuid_of(rng)}"
        self.rds = f"arn:aws:rds:us-east-1:{self.account}:db:orders-db"
        self.periods: dict[str, ParquetParts] = {}
        self.row_id = 0
        self.schema = cloud_split.with_scad(CUR2) if scenario.cloud_split else CUR2

    # --- the model's lines ---
    def cluster_lines(self, cd: ClusterDay) -> list[Lines]:
        c = cd.cluster
        day0 = cd.day_start_us
        base_tags = {"aws:eks:cluster-name": c.name, f"kubernetes.io/cluster/{c.name}": "owned"}
        blocks: list[Lines] = []
        for kind in ("ec2", "spot", "ri", "sp"):
            pricing = {"ec2": "ondemand", "spot": "spot", "ri": "commit", "sp": "savingsplan"}[kind]
            nodes = [n for n in c.nodes if n.pricing == pricing]
            if not nodes:
                continue
            res = [
                Resource(
                    n.instance_id,
                    n.name,
                    {**base_tags, "eks:nodegroup-name": n.pool},
                    n.index,
                    {
                        "instance_type": n.instance.name,
                        "cores": str(n.instance.cores),
                        "ram": f"{n.instance.ram_gib} GiB",
                    },
                )
                for n in nodes
            ]
            od = np.array([n.hourly for n in nodes])
            if kind == "ec2":
                blocks.append(hourly(kind, "node", res, day0, billed=od, effective=od, cluster=cd))
            elif kind == "spot":
                spot = np.array([n.instance.spot_hourly for n in nodes])
                blocks.append(hourly(kind, "node", res, day0, billed=spot, effective=spot, list_=od, cluster=cd))
            elif kind == "ri":
                zero = np.zeros(len(nodes))
                blocks.append(
                    hourly(
                        kind, "node", res, day0, billed=zero, effective=od * (1 - COMMIT_DISCOUNT), list_=od, cluster=cd
                    )
                )
            else:
                zero = np.zeros(len(nodes))
                blocks.append(
                    hourly(
                        kind,
                        "node",
                        res,
                        day0,
                        billed=od,
                        effective=od * (1 - SAVINGS_PLAN_DISCOUNT),
                        list_=od,
                        cluster=cd,
                    )
                )
                blocks.append(
                    hourly("sp_negation", "node", res, day0, billed=-od, effective=zero, list_=zero, cluster=cd)
                )
        root = [Resource(n.os_disk, n.os_disk, dict(base_tags), n.index, {"size": "20"}) for n in c.nodes]
        gp3 = 0.08 / 730
        blocks.append(_flat("root_ebs", "shared", root, day0, 20 * gp3, cd, quantity=20 / 730))
        pv = [
            Resource(
                v.provider_id,
                v.name,
                {
                    **base_tags,
                    "kubernetes.io/created-for/pv/name": v.name,
                    "kubernetes.io/created-for/pvc/name": v.claim,
                    "kubernetes.io/created-for/pvc/namespace": v.namespace,
                },
                v.index,
                {"size": str(v.size_gib)},
            )
            for v in c.volumes
        ]
        blocks.append(
            hourly(
                "ebs",
                "pv",
                pv,
                day0,
                billed=np.array([v.hourly for v in c.volumes]),
                effective=np.array([v.hourly for v in c.volumes]),
                cluster=cd,
                quantity=np.array([v.size_gib / 730 for v in c.volumes]),
            )
        )
        lbs = [
            Resource(
                s.resource_id, s.provider_id.split("-")[0], {**base_tags, "kubernetes.io/service-name": s.key}, i, {}
            )
            for i, s in enumerate(c.services)
        ]
        rate = np.array([s.hourly for s in c.services])
        blocks.append(hourly("elb", "lb", lbs, day0, billed=rate, effective=rate, cluster=cd))
        blocks.append(
            _flat("eks", "shared", [Resource(c.arn, c.name, {"aws:eks:cluster-name": c.name})], day0, 0.10, cd)
        )
        nat = Resource(f"arn:aws:ec2:{c.region}:{c.account}:natgateway/nat-0{hex_of(c.name, 16)}", "", dict(base_tags))
        blocks.append(_flat("nat", "shared", [nat], day0, 0.045, cd))
        return _contracted_is_unblended(blocks)

    def account_lines(self, day: date, day_index: int, totals: DayTotals) -> list[Lines]:
        day0 = day_us(day)
        out = [
            _flat("rds", "external", [Resource(self.rds, "orders-db", database_tags("aws"))], day0, 0.171, None),
            daily(
                "s3",
                "external",
                [Resource("kubebill-sim-artifacts", "kubebill-sim-artifacts", dict(BUCKET_TAGS))],
                day0,
                billed=np.array([512 * 0.023 / 30]),
                effective=np.array([512 * 0.023 / 30]),
                quantity=np.array([512 / 30]),
            ),
        ]
        commitment = totals.effective_by_hour.get("sp")  # the plan is sized to be fully used
        if commitment is not None:
            res = [Resource(self.sp_arn, "", {})]
            zero = np.zeros(1)
            block = hourly("sp_fee", "external", res, day0, billed=zero, effective=zero, list_=zero)
            block.billed = commitment.copy()
            out.append(block)
        if day_index == 0 or day.day == 1:
            first = day.replace(day=1)
            month_days = (next_month(first) - first).days
            month_us = day_us(first)
            ri = sum(n.hourly * (1 - COMMIT_DISCOUNT) for c in self.clusters for n in c.nodes if n.pricing == "commit")
            zero = np.zeros(1)
            usage = sum(n.hourly for c in self.clusters for n in c.nodes) * 24 * month_days
            monthly = [
                ("ri_fee", self.ri_arn, ri * 24 * month_days),
                ("tax", "", round(usage * 0.06, 2)),
                ("credit", "", -25.0),
                ("support", "", 29.0),
            ]
            for kind, rid, amount in monthly:
                if kind == "ri_fee" and not ri:
                    continue
                amt = np.array([amount])
                effective = zero if kind == "ri_fee" else amt
                out.append(
                    lines_of(
                        kind,
                        "external",
                        [Resource(rid)],
                        month_us,
                        billed=amt,
                        effective=effective,
                        list_=zero,
                        quantity=np.ones(1),
                        span=HOURS * month_days,
                    )
                )
        return _contracted_is_unblended(out)

    # --- the native file ---
    def write(self, day: date, blocks: list[Lines]) -> None:
        for block in blocks:
            if len(block) == 0:
                continue
            start = datetime.fromtimestamp(int(block.start_us[0]) // 1_000_000, UTC).date()
            period = f"{start.year:04d}-{start.month:02d}"
            parts = self.periods.get(period)
            if parts is None:
                parts = self.periods[period] = ParquetParts(
                    self.root,
                    partial(_data_key, period),
                    self.schema,
                )
            parts.write(cloud_split.widen(self._table(block, period), self.schema))
        if self.scenario.cloud_split:
            self._write_split(blocks)

    def _write_split(self, blocks: list[Lines]) -> None:
        """The SCAD rows of the node lines in `blocks`, in the period of their cluster-day."""
        for cd in {id(b.cluster): b.cluster for b in blocks if b.target == "node" and b.cluster}.values():
            table = cloud_split.scad_rows(cd, blocks, self.schema, self.account, cd.cluster.region)
            if table is not None:
                self.periods[f"{cd.day.year:04d}-{cd.day.month:02d}"].write(table)

    def close(self) -> list[Written]:
        written: list[Written] = []
        for period, parts in sorted(self.periods.items()):
            files = parts.close()
            written += files
            key = f"billing/aws/{EXPORT}/metadata/BILLING_PERIOD={period}/{EXPORT}-Manifest.json"
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            (self.root / key).write_text(json.dumps(self._manifest(period, files), indent=2) + "\n")
            written.append(Written(key, 0))
        return written

    def _manifest(self, period: str, files: list[Written]) -> dict[str, object]:
        first = date.fromisoformat(period + "-01")
        rng = random.Random(f"{self.scenario.seed}:aws:{period}")
        return {
            "executionId": uuid_of(rng),
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{self.account}:export/{EXPORT}-{uuid_of(rng)}",
            "exportName": EXPORT,
            "billingPeriod": {
                "start": f"{first.isoformat()}T00:00:00.000Z",
                "end": f"{next_month(first).isoformat()}T00:00:00.000Z",
            },
            "dataFiles": [f"s3://kubebill-sim-billing/{w.key.removeprefix('billing/aws/')}" for w in files],
            "dataQuery": {
                "query": "SELECT " + ", ".join(self.schema.names) + " FROM COST_AND_USAGE_REPORT",
                "tableConfigurations": {
                    "COST_AND_USAGE_REPORT": {
                        "INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY": "FALSE",
                        "INCLUDE_RESOURCES": "TRUE",
                        "INCLUDE_SPLIT_COST_ALLOCATION_DATA": "TRUE" if self.scenario.cloud_split else "FALSE",
                        "TIME_GRANULARITY": "HOURLY",
                    }
                },
            },
            "schema": [{"name": f.name, "type": _athena_type(f.type)} for f in self.schema],
            "totalRowCount": sum(w.rows for w in files),
        }

    def _table(self, b: Lines, period: str) -> pa.Table:
        n = len(b)
        first = date.fromisoformat(period + "-01")
        item = ITEM_TYPE[b.kind]
        qty = b.quantity
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(qty != 0, b.billed / np.where(qty != 0, qty, 1), 0.0)
            od_rate = np.where(qty != 0, b.list_ / np.where(qty != 0, qty, 1), 0.0)
        zeros = np.zeros(n)
        ids = [f"{(self.row_id + i) * 0x9E3779B1 % (1 << 52):013x}{self.scenario.seed % 4096:03x}" for i in range(n)]
        self.row_id += n
        attrs = [self._describe(b.kind, res) for res in b.resources]
        tags = [{_tag_key(k): v for k, v in res.tags.items()} for res in b.resources]
        intervals = _intervals(b.start_us, b.end_us)
        effective = b.effective
        cols: dict[str, pa.Array | np.ndarray] = {
            "bill_bill_type": const("Anniversary", n),
            "bill_billing_entity": const("AWS", n),
            "bill_billing_period_end_date": timestamps(np.full(n, day_us(next_month(first))), "ms"),
            "bill_billing_period_start_date": timestamps(np.full(n, day_us(first)), "ms"),
            "bill_invoice_id": const("", n),
            "bill_invoicing_entity": const("Amazon Web Services, Inc.", n),
            "bill_payer_account_id": const(self.account, n),
            "bill_payer_account_name": const("kubebill-sim-payer", n),
            "cost_category": string_map([{}], np.zeros(n, dtype=np.int64)),
            "discount": pa.nulls(n, pa.map_(S, F)),
            "identity_line_item_id": pa.array(ids, S),
            "identity_time_interval": intervals,
            "line_item_availability_zone": strings([a["zone"] for a in attrs], b.r),
            "line_item_blended_cost": b.billed,
            "line_item_blended_rate": pa.array(rate, F).cast(S),
            "line_item_currency_code": const("USD", n),
            "line_item_legal_entity": const("Amazon Web Services, Inc.", n),
            "line_item_line_item_description": strings([a["description"] for a in attrs], b.r),
            "line_item_line_item_type": const(item, n),
            "line_item_net_unblended_cost": b.billed,
            "line_item_normalization_factor": zeros if item in ("Tax", "Credit", "Fee", "RIFee") else np.full(n, 8.0),
            "line_item_normalized_usage_amount": zeros,
            "line_item_operation": strings([a["operation"] for a in attrs], b.r),
            "line_item_product_code": strings([a["product_code"] for a in attrs], b.r),
            "line_item_resource_id": strings([res.id for res in b.resources], b.r),
            "line_item_tax_type": const("" if item != "Tax" else "Sales", n),
            "line_item_unblended_cost": b.billed,
            "line_item_unblended_rate": pa.array(rate, F).cast(S),
            "line_item_usage_account_id": const(self.account, n),
            "line_item_usage_account_name": const("kubebill-sim", n),
            "line_item_usage_amount": qty,
            "line_item_usage_end_date": timestamps(b.end_us, "ms"),
            "line_item_usage_start_date": timestamps(b.start_us, "ms"),
            "line_item_usage_type": strings([a["usage_type"] for a in attrs], b.r),
            "pricing_currency": const("USD", n),
            "pricing_lease_contract_length": const("1yr" if b.kind in ("ri", "sp") else "", n),
            "pricing_offering_class": const("standard" if b.kind == "ri" else "", n),
            "pricing_public_on_demand_cost": b.list_,
            "pricing_public_on_demand_rate": pa.array(od_rate, F).cast(S),
            "pricing_purchase_option": const("No Upfront" if b.kind in ("ri", "sp") else "", n),
            "pricing_term": const({"ri": "Reserved", "spot": "Spot", "sp": "OnDemand"}.get(b.kind, "OnDemand"), n),
            "pricing_unit": strings([a["unit"] for a in attrs], b.r),
            "product": string_map([a["product"] for a in attrs], b.r),  # type: ignore[misc]
            "product_instance_type": strings([res.attrs.get("instance_type", "") for res in b.resources], b.r),
            "product_location": const("US East (N. Virginia)", n),
            "product_product_family": strings([a["family"] for a in attrs], b.r),
            "product_region_code": const("us-east-1", n),
            "product_servicecode": strings([a["product_code"] for a in attrs], b.r),
            "product_sku": strings([hex_of(a["usage_type"], 16).upper() for a in attrs], b.r),
            "reservation_amortized_upfront_cost_for_usage": zeros,
            "reservation_effective_cost": effective if b.kind == "ri" else zeros,
            "reservation_recurring_fee_for_usage": effective if b.kind == "ri" else zeros,
            "reservation_reservation_a_r_n": const(self.ri_arn if b.kind in ("ri", "ri_fee") else "", n),
            "reservation_unused_amortized_upfront_fee_for_billing_period": zeros,
            "reservation_unused_recurring_fee": zeros,
            "resource_tags": string_map(tags, b.r),
            "savings_plan_amortized_upfront_commitment_for_billing_period": zeros,
            "savings_plan_recurring_commitment_for_billing_period": b.billed if b.kind == "sp_fee" else zeros,
            "savings_plan_savings_plan_a_r_n": const(
                self.sp_arn if b.kind in ("sp", "sp_negation", "sp_fee") else "", n
            ),
            "savings_plan_savings_plan_effective_cost": effective if b.kind == "sp" else zeros,
            "savings_plan_savings_plan_rate": effective if b.kind == "sp" else zeros,
            "savings_plan_total_commitment_to_date": b.billed if b.kind == "sp_fee" else zeros,
            "savings_plan_used_commitment": (
                effective if b.kind == "sp" else (b.billed if b.kind == "sp_fee" else zeros)
            ),
        }
        return pa.table(cols, schema=CUR2)

    def _describe(self, kind: str, res: Resource) -> dict[str, Any]:
        itype = res.attrs.get("instance_type", "")
        ec2 = {"product_name": "Amazon Elastic Compute Cloud", "servicecode": "AmazonEC2", "region": "us-east-1"}
        zone = "us-east-1a"
        if kind in ("ec2", "spot", "ri", "sp", "sp_negation"):
            product = {
                **ec2,
                "instance_type": itype,
                "vcpu": res.attrs["cores"],
                "memory": res.attrs["ram"],
                "operating_system": "Linux",
                "product_family": "Compute Instance",
            }
            usage = ("SpotUsage:" if kind == "spot" else "BoxUsage:") + itype
            desc = {
                "ec2": f"$0.0 per On Demand Linux {itype} Instance Hour",
                "spot": f"Linux/UNIX (Amazon VPC), {itype} spot instance-hour",
                "ri": f"USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), {itype} instance",
                "sp": f"Savings Plan covered usage of {itype} Linux instance-hour",
                "sp_negation": f"SavingsPlanNegation used by AccountId : {self.account} and UsageSku : {itype}",
            }[kind]
            op = "RunInstances:SV001" if kind == "spot" else "RunInstances"
            return {
                "zone": zone,
                "description": desc,
                "operation": op,
                "product_code": "AmazonEC2",
                "usage_type": usage,
                "unit": "Hrs",
                "family": "Compute Instance",
                "product": product,
            }
        table: dict[str, tuple[str, str, str, str, str, str]] = {
            "ebs": (
                "AmazonEC2",
                "EBS:VolumeUsage.gp3",
                "CreateVolume-Gp3",
                "$0.08 per GB-month of General Purpose (gp3) provisioned storage - US East (Northern Virginia)",
                "GB-Mo",
                "Storage",
            ),
            "elb": (
                "AWSELB",
                "LoadBalancerUsage",
                "LoadBalancing:Network",
                "$0.0225 per Network LoadBalancer-hour (or partial hour)",
                "Hrs",
                "Load Balancer-Network",
            ),
            "eks": (
                "AmazonEKS",
                "USE1-AmazonEKS-Hours:perCluster",
                "CreateOperation",
                "Amazon EKS cluster usage in US East (N. Virginia)",
                "Hours",
                "Compute",
            ),
            "nat": ("AmazonEC2", "NatGateway-Hours", "NatGateway", "$0.045 per NAT Gateway Hour", "Hrs", "NAT Gateway"),
            "rds": (
                "AmazonRDS",
                "InstanceUsage:db.m5.large",
                "CreateDBInstance:0014",
                "$0.171 per RDS db.m5.large instance hour (or partial hour) running PostgreSQL",
                "Hrs",
                "Database Instance",
            ),
            "s3": (
                "AmazonS3",
                "TimedStorage-ByteHrs",
                "StandardStorage",
                "$0.023 per GB - first 50 TB / month of storage used",
                "GB-Mo",
                "Storage",
            ),
            "sp_fee": (
                "ComputeSavingsPlans",
                "ComputeSP:1yrNoUpfront",
                "",
                "1 year No Upfront Compute Savings Plan",
                "Hrs",
                "Savings Plan",
            ),
            "ri_fee": (
                "AmazonEC2",
                "HeavyUsage:m5.xlarge",
                "RunInstances",
                "Sign up charge for subscription: reserved instances, planId: 1",
                "Hrs",
                "Compute Instance",
            ),
            "tax": ("AmazonEC2", "", "", "Tax for product code AmazonEC2 usage type BoxUsage:m5.xlarge", "", ""),
            "credit": ("AmazonEC2", "", "", "AWS Credits - Promotional", "", ""),
            "support": ("AWSSupportBusiness", "Dollar", "", "AWS Support (Business)", "", "Support"),
        }
        code, usage, op, desc, unit, family = table["ebs" if kind == "root_ebs" else kind]
        product = {"product_name": code, "servicecode": code, "region": "us-east-1", "product_family": family}
        if kind in ("tax", "credit", "support", "sp_fee", "ri_fee", "s3"):
            zone = ""
        return {
            "zone": zone,
            "description": desc,
            "operation": op,
            "product_code": code,
            "usage_type": usage,
            "unit": unit,
            "family": family,
            "product": product,
        }


def _contracted_is_unblended(blocks: list[Lines]) -> list[Lines]:
    for block in blocks:
        block.contracted = block.billed
    return blocks


def _data_key(period: str, n: int) -> str:
    return f"billing/aws/{EXPORT}/data/BILLING_PERIOD={period}/{EXPORT}-{n:05d}.snappy.parquet"


def _flat(
    kind: str, target: str, res: list[Resource], day0: int, rate: float, cd: ClusterDay | None, quantity: float = 1.0
) -> Lines:
    amount = np.full(len(res), rate)
    return hourly(
        kind, target, res, day0, billed=amount, effective=amount, cluster=cd, quantity=np.full(len(res), quantity)
    )


def _intervals(start_us: np.ndarray, end_us: np.ndarray) -> pa.Array:
    pairs, index = np.unique(np.stack([start_us, end_us], axis=1), axis=0, return_inverse=True)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    text = [
        f"{datetime.fromtimestamp(int(s) // 1_000_000, UTC).strftime(fmt)}/"
        f"{datetime.fromtimestamp(int(e) // 1_000_000, UTC).strftime(fmt)}"
        for s, e in pairs
    ]
    return strings(text, index.reshape(-1))


def _athena_type(t: pa.DataType) -> str:
    if pa.types.is_map(t):
        return "map<string,string>" if t.item_type == pa.string() else "map<string,double>"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "double" if pa.types.is_floating(t) else "string"
