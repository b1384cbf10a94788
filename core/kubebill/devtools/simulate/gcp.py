"""Google Cloud: the detailed (resource-level) billing export as BigQuery EXPORT DATA writes it to Parquet.

Keys: ``billing/gcp/<dataset>/<YYYY-MM-DD>/000000000000.parquet`` (nested columns: service, sku, project,
location, resource, usage, invoice structs; labels / system_labels as lists of key/value; credits as a list).
Cost columns: BilledCost = EffectiveCost = cost + Σ credits.amount; ListCost = cost_at_list; ContractedCost = cost.
"""

from __future__ import annotations

import random
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from kubebill.devtools.simulate import cloud_split
from kubebill.devtools.simulate.allocation import HOURS, US_PER_HOUR, ClusterDay
from kubebill.devtools.simulate.export import Export
from kubebill.devtools.simulate.lines import DayTotals, Lines, Resource, daily, hourly
from kubebill.devtools.simulate.model import (
    BUCKET_TAGS,
    COMMIT_DISCOUNT,
    GIB,
    SUSTAINED_USE_DISCOUNT,
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
    key_values,
    strings,
    timestamps,
)

DATASET = "billing_export"
S, F, TS = pa.string(), pa.float64(), pa.timestamp("us", tz="UTC")
KV = pa.list_(pa.struct([("key", S), ("value", S)]))
CREDIT = pa.struct([("name", S), ("amount", F), ("full_name", S), ("id", S), ("type", S)])
SCHEMA = pa.schema(
    [
        ("billing_account_id", S),
        ("service", pa.struct([("id", S), ("description", S)])),
        ("sku", pa.struct([("id", S), ("description", S)])),
        ("usage_start_time", TS),
        ("usage_end_time", TS),
        ("project", pa.struct([("id", S), ("number", S), ("name", S), ("labels", KV), ("ancestry_numbers", S)])),
        ("labels", KV),
        ("system_labels", KV),
        ("location", pa.struct([("location", S), ("country", S), ("region", S), ("zone", S)])),
        ("resource", pa.struct([("name", S), ("global_name", S)])),
        ("export_time", TS),
        ("cost", F),
        ("currency", S),
        ("currency_conversion_rate", F),
        ("usage", pa.struct([("amount", F), ("unit", S), ("amount_in_pricing_units", F), ("pricing_unit", S)])),
        ("credits", pa.list_(CREDIT)),
        ("invoice", pa.struct([("month", S)])),
        ("cost_type", S),
        ("adjustment_info", pa.struct([("id", S), ("description", S), ("mode", S), ("type", S)])),
        ("cost_at_list", F),
        ("transaction_type", S),
        ("seller_name", S),
    ]
)
SERVICES = {
    "compute": ("6F81-5844-456A", "Compute Engine"),
    "gke": ("CCD8-9BF1-090E", "Kubernetes Engine"),
    "sql": ("9662-B51E-5089", "Cloud SQL"),
    "gcs": ("95FF-2EF5-5EA1", "Cloud Storage"),
    "tax": ("", "Invoice"),
}
# kind -> (service, sku description, usage unit, pricing unit)
SKUS: dict[str, tuple[str, str, str, str]] = {
    "vm_core": ("compute", "N2 Instance Core running in Americas", "seconds", "hour"),
    "vm_ram": ("compute", "N2 Instance Ram running in Americas", "byte-seconds", "gibibyte hour"),
    "boot_disk": ("compute", "Balanced PD Capacity", "byte-seconds", "gibibyte month"),
    "pd": ("compute", "Balanced PD Capacity", "byte-seconds", "gibibyte month"),
    "forwarding_rule": (
        "compute",
        "Network Load Balancing: Forwarding Rule Minimum Service Charge in Americas",
        "seconds",
        "hour",
    ),
    "gke_fee": ("gke", "Regional Kubernetes Clusters", "seconds", "hour"),
    "cud_fee": ("compute", "Commitment v1: N2 Core in Americas for 1 Year", "seconds", "hour"),
    "sql": ("sql", "Cloud SQL for PostgreSQL: Zonal - vCPU in Americas", "seconds", "hour"),
    "gcs": ("gcs", "Standard Storage US Multi-region", "byte-seconds", "gibibyte month"),
    "tax": ("tax", "Tax", "", ""),
}


def _part_key(day: date, n: int) -> str:
    return f"billing/gcp/{DATASET}/{day.isoformat()}/{n - 1:012d}.parquet"


class GcpExport(Export):
    provider = "gcp"

    def __init__(self, root: Path, scenario: Scenario, clusters: list[Cluster]) -> None:
        super().__init__(root, scenario, clusters)
        self.project = clusters[0].account
        rng = random.Random(f"{scenario.seed}:gcp:account")
        self.billing_account = "-".join(hex_of(f"{scenario.seed}{i}", 6).upper() for i in range(3))
        self.project_number = str(rng.randint(10**11, 10**12 - 1))
        self.days: dict[date, ParquetParts] = {}
        self.written: list[Written] = []

    def cluster_lines(self, cd: ClusterDay) -> list[Lines]:
        c = cd.cluster
        day0 = cd.day_start_us
        blocks: list[Lines] = []
        for pricing in ("ondemand", "spot", "commit"):
            nodes = [n for n in c.nodes if n.pricing == pricing]
            if not nodes:
                continue
            res = [
                Resource(
                    n.name,
                    n.name,
                    {
                        "goog-k8s-cluster-name": c.name,
                        "goog-k8s-cluster-location": c.zone,
                        "goog-k8s-node-pool-name": f"{n.pool}-pool",
                        "goog-gke-node": "",
                    },
                    n.index,
                    {
                        "id": n.instance_id,
                        "machine": n.instance.name,
                        "cores": str(n.instance.cores),
                        "memory": str(n.instance.ram_gib * 1024),
                        "pricing": pricing,
                    },
                )
                for n in nodes
            ]
            scale = np.array([n.instance.spot_hourly / n.hourly if pricing == "spot" else 1.0 for n in nodes])
            for kind, amount, qty in (
                (
                    "vm_core",
                    np.array([n.instance.cores * n.cpu_rate for n in nodes]) * scale,
                    np.array([n.instance.cores * 3600.0 for n in nodes]),
                ),
                (
                    "vm_ram",
                    np.array([n.instance.ram_gib * n.ram_rate for n in nodes]) * scale,
                    np.array([n.instance.ram_gib * GIB * 3600.0 for n in nodes]),
                ),
            ):
                credit = {"ondemand": -SUSTAINED_USE_DISCOUNT, "spot": 0.0, "commit": -1.0}[pricing] * amount
                block = hourly(
                    kind,
                    "node",
                    res,
                    day0,
                    billed=amount + credit,
                    effective=amount + credit,
                    list_=amount,
                    contracted=amount,
                    quantity=qty,
                    cluster=cd,
                )
                block.extra["cost"] = amount[block.r]
                block.extra["credit"] = credit[block.r]
                blocks.append(block)
        labels = {"goog-k8s-cluster-name": c.name, "goog-k8s-cluster-location": c.zone}
        boot = [Resource(n.os_disk, n.os_disk, dict(labels), n.index, {"gib": "100"}) for n in c.nodes]
        blocks.append(self._flat("boot_disk", "shared", boot, day0, 100 * 0.1 / 730, cd, 100 * GIB * 3600.0))
        pds = [
            Resource(v.provider_id, v.provider_id, {**labels, "goog-gke-volume": ""}, v.index, {"gib": str(v.size_gib)})
            for v in c.volumes
        ]
        rates = np.array([v.hourly for v in c.volumes])
        blocks.append(
            self._block("pd", "pv", pds, day0, rates, cd, np.array([v.size_gib * GIB * 3600.0 for v in c.volumes]))
        )
        fr = [Resource(s.resource_id, s.resource_id, {}, i, {}) for i, s in enumerate(c.services)]
        blocks.append(
            self._block(
                "forwarding_rule",
                "external",  # named a<Service UID>, no labels: nothing on the line ties it to the cluster
                fr,
                day0,
                np.array([s.hourly for s in c.services]),
                cd,
                np.full(len(fr), 3600.0),
            )
        )
        blocks.append(self._flat("gke_fee", "shared", [Resource(c.name, c.name, dict(labels))], day0, 0.10, cd, 3600.0))
        return cloud_split.gke_blocks(cd, blocks) if self.scenario.cloud_split else blocks

    def account_lines(self, day: date, day_index: int, totals: DayTotals) -> list[Lines]:
        day0 = day_us(day)
        commit = sum(n.hourly * (1 - COMMIT_DISCOUNT) for c in self.clusters for n in c.nodes if n.pricing == "commit")
        out = [
            self._flat(
                "sql",
                "external",
                [Resource("orders-sql", "orders-sql", database_tags("gcp"))],
                day0,
                0.0413,
                None,
                3600.0,
            ),
        ]
        gcs = np.array([512 * 0.026 / 30])
        out.append(
            daily(
                "gcs",
                "external",
                [Resource("kubebill-sim-artifacts", "kubebill-sim-artifacts", dict(BUCKET_TAGS))],
                day0,
                billed=gcs,
                effective=gcs,
                quantity=np.array([512 * GIB * 86400.0]),
            )
        )
        out[-1].extra["cost"] = gcs
        if commit:
            out.append(self._flat("cud_fee", "external", [Resource("", "", {})], day0, commit, None, 3600.0))
        usage = totals.billed + sum(float(b.billed.sum()) for b in out)
        tax = np.array([round(usage * 0.05, 6)])
        out.append(
            daily(
                "tax",
                "external",
                [Resource("", "", {})],
                day0,
                billed=tax,
                effective=tax,
                list_=tax,
                quantity=np.zeros(1),
            )
        )
        out[-1].extra["cost"] = tax
        return out

    def _flat(
        self, kind: str, target: str, res: list[Resource], day0: int, rate: float, cd: ClusterDay | None, qty: float
    ) -> Lines:
        return self._block(kind, target, res, day0, np.full(len(res), rate), cd, np.full(len(res), qty))

    @staticmethod
    def _block(
        kind: str, target: str, res: list[Resource], day0: int, rate: np.ndarray, cd: ClusterDay | None, qty: np.ndarray
    ) -> Lines:
        block = hourly(kind, target, res, day0, billed=rate, effective=rate, quantity=qty, cluster=cd)
        block.extra["cost"] = rate[block.r]
        return block

    # --- the native files ---
    def write(self, day: date, blocks: list[Lines]) -> None:
        for old in [d for d in self.days if d != day]:
            self.written += self.days.pop(old).close()
        parts = self.days.get(day)
        if parts is None:
            parts = self.days[day] = ParquetParts(self.root, partial(_part_key, day), SCHEMA)
        for block in blocks:
            if len(block):
                parts.write(self._table(block, day))

    def close(self) -> list[Written]:
        for old in list(self.days):
            self.written += self.days.pop(old).close()
        return self.written

    def _table(self, b: Lines, day: date) -> pa.Table:
        n = len(b)
        service_key, sku_text, unit, pricing_unit = SKUS[b.kind]
        service_id, service_name = SERVICES[service_key]
        cost = b.extra["cost"]
        credit = b.extra.get("credit", np.zeros(n))
        kv = key_values
        r = b.r
        zone = "" if b.target == "external" else "us-central1-a"  # forwarding rules are regional
        names = [res.name for res in b.resources]
        globals_ = [self._global_name(b.kind, res) for res in b.resources]
        system = [self._system_labels(b.kind, res) for res in b.resources]
        idx0 = np.zeros(n, dtype=np.int64)
        per_unit = {"hour": 3600.0, "gibibyte hour": GIB * 3600.0, "gibibyte month": GIB * 3600.0 * 730}
        qty = b.quantity
        in_pricing = qty / per_unit[pricing_unit] if pricing_unit else np.zeros(n)
        has = credit != 0
        offsets = np.concatenate([[0], np.cumsum(has)]).astype(np.int32)
        pricing = b.resources[0].attrs.get("pricing", "ondemand") if b.resources else "ondemand"
        ctype, cname = (
            ("COMMITTED_USAGE_DISCOUNT", "Committed use discount: N2 Core")
            if pricing == "commit"
            else ("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount")
        )
        if b.kind == "vm_ram" and pricing == "commit":
            cname = "Committed use discount: N2 Ram"
        m = int(has.sum())
        credits = pa.ListArray.from_arrays(
            pa.array(offsets),
            pa.StructArray.from_arrays(
                [
                    const(cname, m),
                    pa.array(credit[has], F),
                    const(cname, m),
                    const(f"{ctype.lower()}-{hex_of(cname, 8)}", m),
                    const(ctype, m),
                ],
                fields=list(CREDIT),
            ),
        )
        cols = {
            "billing_account_id": const(self.billing_account, n),
            "service": pa.StructArray.from_arrays(
                [const(service_id, n), const(service_name, n)], ["id", "description"]
            ),
            "sku": pa.StructArray.from_arrays(
                [const(hex_of(sku_text, 12).upper(), n), const(sku_text, n)], ["id", "description"]
            ),
            "usage_start_time": timestamps(b.start_us),
            "usage_end_time": timestamps(b.end_us),
            "project": pa.StructArray.from_arrays(
                [
                    const(self.project, n),
                    const(self.project_number, n),
                    const(self.project, n),
                    kv([{"env": "prod"}], idx0),
                    const(f"/{self.project_number[:6]}/{self.project_number}/", n),
                ],
                ["id", "number", "name", "labels", "ancestry_numbers"],
            ),
            "labels": kv([res.tags for res in b.resources], r),
            "system_labels": kv(system, r),
            "location": pa.StructArray.from_arrays(
                [
                    const("us-central1" if b.kind != "gcs" else "us", n),
                    const("US", n),
                    const("us-central1" if b.kind != "gcs" else "", n),
                    const(zone, n),
                ],
                ["location", "country", "region", "zone"],
            ),
            "resource": pa.StructArray.from_arrays([strings(names, r), strings(globals_, r)], ["name", "global_name"]),
            "export_time": timestamps(np.full(n, day_us(day) + 30 * HOURS * US_PER_HOUR // 24 + HOURS * US_PER_HOUR)),
            "cost": cost,
            "currency": const("USD", n),
            "currency_conversion_rate": np.ones(n),
            "usage": pa.StructArray.from_arrays(
                [pa.array(qty, F), const(unit, n), pa.array(in_pricing, F), const(pricing_unit, n)],
                ["amount", "unit", "amount_in_pricing_units", "pricing_unit"],
            ),
            "credits": credits,
            "invoice": pa.StructArray.from_arrays([const(f"{day.year:04d}{day.month:02d}", n)], ["month"]),
            "cost_type": const("tax" if b.kind == "tax" else "regular", n),
            "adjustment_info": pa.nulls(n, SCHEMA.field("adjustment_info").type),
            "cost_at_list": b.list_,
            "transaction_type": const("GOOGLE", n),
            "seller_name": const("Google", n),
        }
        return pa.table(cols, schema=SCHEMA)

    def _global_name(self, kind: str, res: Resource) -> str:
        compute = f"//compute.googleapis.com/projects/{self.project_number}"
        if kind in ("vm_core", "vm_ram"):
            return f"{compute}/zones/us-central1-a/instances/{res.attrs['id']}"
        if kind in ("boot_disk", "pd"):
            return f"{compute}/zones/us-central1-a/disks/{hex_of(res.id, 19)}"
        if kind == "forwarding_rule":
            return f"{compute}/regions/us-central1/forwardingRules/{res.id}"
        if kind == "gke_fee":
            return f"//container.googleapis.com/projects/{self.project}/locations/us-central1/clusters/{res.id}"
        return ""

    @staticmethod
    def _system_labels(kind: str, res: Resource) -> dict[str, str]:
        if kind in ("vm_core", "vm_ram"):
            return {
                "compute.googleapis.com/cores": res.attrs["cores"],
                "compute.googleapis.com/machine_spec": res.attrs["machine"],
                "compute.googleapis.com/memory": res.attrs["memory"],
            }
        return {}
