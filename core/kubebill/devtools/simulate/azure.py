"""Azure: Cost Management ActualCost and AmortizedCost exports (EA PascalCase CSV) with `manifest.json` per run.

Keys: ``billing/azure/exports/<export>/<YYYYMMDD-YYYYMMDD>/<runId>/part_0_0001.csv`` + ``manifest.json``.
Cost columns: BilledCost = CostInBillingCurrency of ActualCost; EffectiveCost = CostInBillingCurrency of
AmortizedCost (the reservation Purchase appears only in ActualCost); ListCost = PayGPrice × Quantity;
ContractedCost = UnitPrice × Quantity.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from kubebill.devtools.simulate.allocation import ClusterDay
from kubebill.devtools.simulate.export import Export
from kubebill.devtools.simulate.lines import DayTotals, Lines, Resource, daily
from kubebill.devtools.simulate.model import (
    BUCKET_TAGS,
    COMMIT_DISCOUNT,
    SAVINGS_PLAN_DISCOUNT,
    Cluster,
    Scenario,
    database_tags,
)
from kubebill.devtools.simulate.native import CsvParts, Written, day_us, next_month, uuid_of

HEADER = [
    "InvoiceSectionName",
    "AccountName",
    "AccountOwnerId",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceLocation",
    "Date",
    "ProductName",
    "MeterCategory",
    "MeterSubCategory",
    "MeterId",
    "MeterName",
    "MeterRegion",
    "UnitOfMeasure",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "CostCenter",
    "ConsumedService",
    "ResourceId",
    "Tags",
    "OfferId",
    "AdditionalInfo",
    "ServiceInfo1",
    "ServiceInfo2",
    "ResourceName",
    "ReservationId",
    "ReservationName",
    "UnitPrice",
    "ProductOrderId",
    "ProductOrderName",
    "Term",
    "PublisherType",
    "PublisherName",
    "ChargeType",
    "Frequency",
    "PricingModel",
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrencyCode",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "InvoiceSectionId",
    "IsAzureCreditEligible",
    "PartNumber",
    "PayGPrice",
    "PlanName",
    "ServiceFamily",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
]
EXPORTS = {"ActualCost": "kubebill-sim-actual", "AmortizedCost": "kubebill-sim-amortized"}
ROOT = "billing/azure/exports"
HOURS_PER_MONTH = 730

# kind -> (ProductName, MeterCategory, MeterSubCategory, MeterName, UnitOfMeasure, ConsumedService, ServiceFamily)
METERS: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "defender": (
        "Microsoft Defender for Servers - Standard Node",
        "Microsoft Defender for Cloud",
        "Standard",
        "Standard Node",
        "1 Hour",
        "Microsoft.Security",
        "Security",
    ),
    "os_disk": (
        "Premium SSD Managed Disks - P10 - LRS - US East",
        "Storage",
        "Premium SSD Managed Disks",
        "P10 LRS Disk",
        "1/Month",
        "Microsoft.Compute",
        "Storage",
    ),
    "cluster_lb": (
        "Standard Load Balancer",
        "Load Balancer",
        "",
        "Standard Included LB Rules and Outbound Rules",
        "1 Hour",
        "Microsoft.Network",
        "Networking",
    ),
    "service_ip": (
        "IP Addresses - Standard - Static Public",
        "Virtual Network",
        "IP Addresses",
        "Standard IPv4 Static Public IP",
        "1 Hour",
        "Microsoft.Network",
        "Networking",
    ),
    "uptime": (
        "Azure Kubernetes Service - Standard Uptime SLA",
        "Azure Kubernetes Service",
        "Standard",
        "Standard Uptime SLA",
        "1 Hour",
        "Microsoft.ContainerService",
        "Compute",
    ),
    "sql": (
        "SQL Database Single vCore - General Purpose - Compute Gen5",
        "SQL Database",
        "General Purpose - Compute Gen5",
        "vCore",
        "1 Hour",
        "Microsoft.Sql",
        "Databases",
    ),
    "storage": (
        "Blob Storage - Hot LRS",
        "Storage",
        "Tiered Block Blob",
        "Hot LRS Data Stored",
        "1 GB/Month",
        "Microsoft.Storage",
        "Storage",
    ),
    "purchase": (
        "Reserved VM Instance, Standard_D4s_v3, US East, 1 Year",
        "Virtual Machines",
        "",
        "",
        "1 Hour",
        "Microsoft.Capacity",
        "Compute",
    ),
}
METERS["pv_disk"] = METERS["os_disk"]
METERS["outbound_ip"] = METERS["service_ip"]


@lru_cache(maxsize=256)
def _meter_id(meter: str) -> str:
    return uuid_of(random.Random(meter))


def _part_key(folder: str, n: int) -> str:
    return f"{folder}/part_0_{n:04d}.csv"


class AzureExport(Export):
    provider = "azure"

    def __init__(self, root: Path, scenario: Scenario, clusters: list[Cluster]) -> None:
        super().__init__(root, scenario, clusters)
        self.sub = clusters[0].account
        rng = random.Random(f"{scenario.seed}:azure:commitments")
        self.reservation_order = uuid_of(rng)
        self.reservation = uuid_of(rng)
        self.savings_plan = uuid_of(rng)
        self.runs: dict[tuple[str, str], CsvParts] = {}
        self.run_ids: dict[tuple[str, str], str] = {}

    def cluster_lines(self, cd: ClusterDay) -> list[Lines]:
        c = cd.cluster
        day0 = cd.day_start_us
        mc = f"/subscriptions/{c.account}/resourceGroups/{c.node_resource_group}/providers"
        aks_tags = {"aks-managed-cluster-name": c.name, "aks-managed-cluster-rg": c.resource_group}
        blocks: list[Lines] = []
        for pricing in ("ondemand", "spot", "commit", "savingsplan"):
            nodes = [n for n in c.nodes if n.pricing == pricing]
            if not nodes:
                continue
            res = [
                Resource(
                    n.resource_id,
                    n.resource_id.rsplit("/", 1)[1],
                    {**aks_tags, "aks-managed-poolName": n.pool},
                    n.index,
                    {
                        "vm": f"{n.resource_id.rsplit('/', 1)[1]}_{n.instance_id}",
                        "size": n.instance.name,
                        "cores": str(n.instance.cores),
                        "pricing": pricing,
                    },
                )
                for n in nodes
            ]
            qty = np.full(len(nodes), 24.0)
            price = np.array([n.instance.spot_hourly if pricing == "spot" else n.hourly for n in nodes])
            cost = price * qty
            factor = {
                "ondemand": 1.0,
                "spot": 1.0,
                "commit": 1 - COMMIT_DISCOUNT,
                "savingsplan": 1 - SAVINGS_PLAN_DISCOUNT,
            }[pricing]
            billed = cost if pricing in ("ondemand", "spot") else np.zeros(len(nodes))
            blocks.append(
                daily(
                    "vm",
                    "node",
                    res,
                    day0,
                    billed=billed,
                    effective=cost * factor,
                    list_=cost,
                    quantity=qty,
                    cluster=cd,
                )
            )
            blocks[-1].extra["price"] = price
        defender = [
            Resource(f"{n.resource_id}/virtualMachines/{n.instance_id}", f"{n.name}", {}, n.index, {}) for n in c.nodes
        ]
        blocks.append(self._flat("defender", "node", defender, day0, 0.02, 24.0, cd))
        os_disks = [
            Resource(f"{mc}/Microsoft.Compute/disks/{n.os_disk}", n.os_disk, dict(aks_tags), n.index, {})
            for n in c.nodes
        ]
        blocks.append(self._flat("os_disk", "shared", os_disks, day0, 19.71, 24 / HOURS_PER_MONTH, cd))
        pvs = [
            Resource(
                v.provider_id,
                v.name,
                {
                    "kubernetes.io-created-for-pv-name": v.name,
                    "kubernetes.io-created-for-pvc-name": v.claim,
                    "kubernetes.io-created-for-pvc-namespace": v.namespace,
                    "k8s-azure-created-by": "kubernetes-azure-dd",
                },
                v.index,
                {},
            )
            for v in c.volumes
        ]
        monthly = np.array([v.hourly * HOURS_PER_MONTH for v in c.volumes])
        qty = np.full(len(pvs), 24 / HOURS_PER_MONTH)
        blocks.append(
            daily(
                "pv_disk",
                "pv",
                pvs,
                day0,
                billed=monthly * qty,
                effective=monthly * qty,
                list_=monthly * qty,
                quantity=qty,
                cluster=cd,
            )
        )
        blocks[-1].extra["price"] = monthly
        lb = Resource(f"{mc}/Microsoft.Network/loadBalancers/kubernetes", "kubernetes", dict(aks_tags))
        blocks.append(self._flat("cluster_lb", "lbs", [lb], day0, 0.025, 24.0, cd))
        ips = [
            Resource(
                s.resource_id,
                s.resource_id.rsplit("/", 1)[1],
                {"k8s-azure-service": s.key, "k8s-azure-cluster-name": "kubernetes"},
                i,
                {},
            )
            for i, s in enumerate(c.services)
        ]
        blocks.append(self._flat("service_ip", "lb", ips, day0, 0.005, 24.0, cd))
        out_ip = Resource(
            f"{mc}/Microsoft.Network/publicIPAddresses/{uuid_of(random.Random(c.name))}",
            "",
            {**aks_tags, "aks-managed-type": "aks-slb-managed-outbound-ip"},
        )
        blocks.append(self._flat("outbound_ip", "shared", [out_ip], day0, 0.005, 24.0, cd))
        managed = Resource(
            f"/subscriptions/{c.account}/resourceGroups/{c.resource_group}/providers/"
            f"Microsoft.ContainerService/managedClusters/{c.name}",
            c.name,
            {},
        )
        blocks.append(self._flat("uptime", "shared", [managed], day0, 0.10, 24.0, cd))
        return blocks

    def account_lines(self, day: date, day_index: int, totals: DayTotals) -> list[Lines]:
        day0 = day_us(day)
        sql = Resource(
            f"/subscriptions/{self.sub}/resourceGroups/rg-orders/providers/Microsoft.Sql/servers/"
            "orders-sql/databases/orders",
            "orders",
            database_tags("azure"),
        )
        storage = Resource(
            f"/subscriptions/{self.sub}/resourceGroups/rg-data/providers/Microsoft.Storage/"
            "storageAccounts/kubebillsimdata",
            "kubebillsimdata",
            dict(BUCKET_TAGS),
        )
        out = [
            self._flat("sql", "external", [sql], day0, 0.5044, 24.0, None),
            self._flat("storage", "external", [storage], day0, 0.0184, 512 / 30, None),
        ]
        if day_index == 0 or day.day == 1:
            ri = sum(n.hourly * (1 - COMMIT_DISCOUNT) for c in self.clusters for n in c.nodes if n.pricing == "commit")
            sp = sum(
                n.hourly * (1 - SAVINGS_PLAN_DISCOUNT)
                for c in self.clusters
                for n in c.nodes
                if n.pricing == "savingsplan"
            )
            for name, amount in (("reservation", ri), ("savingsplan", sp)):
                if amount:
                    fee = np.array([round(amount * HOURS_PER_MONTH, 2)])
                    res = Resource(
                        f"/providers/Microsoft.Capacity/reservationOrders/{self.reservation_order}",
                        name,
                        {},
                        -1,
                        {"benefit": name},
                    )
                    out.append(
                        daily(
                            "purchase",
                            "external",
                            [res],
                            day0,
                            billed=fee,
                            effective=np.zeros(1),
                            list_=fee,
                            quantity=np.ones(1),
                        )
                    )
                    out[-1].extra["price"] = fee
        return out

    @staticmethod
    def _flat(
        kind: str, target: str, res: list[Resource], day0: int, price: float, qty: float, cd: ClusterDay | None
    ) -> Lines:
        prices = np.full(len(res), price)
        quantity = np.full(len(res), qty)
        cost = prices * quantity
        block = daily(kind, target, res, day0, billed=cost, effective=cost, quantity=quantity, cluster=cd)
        block.extra["price"] = prices
        return block

    # --- the native files ---
    def write(self, day: date, blocks: list[Lines]) -> None:
        month = day.replace(day=1)
        for export_type, export in EXPORTS.items():
            rows: list[Sequence[object]] = []
            for block in blocks:
                if block.kind == "purchase" and export_type == "AmortizedCost":
                    continue
                rows.extend(self._rows(block, day, export_type))
            self._parts(export_type, export, month).write_rows(rows)

    def _parts(self, export_type: str, export: str, month: date) -> CsvParts:
        key = (export_type, month.isoformat())
        if key not in self.runs:
            last = next_month(month) - timedelta(days=1)
            run_id = uuid_of(random.Random(f"{self.scenario.seed}:azure:{export}:{month}"))
            folder = f"{ROOT}/{export}/{month:%Y%m%d}-{last:%Y%m%d}/{run_id}"
            self.run_ids[key] = folder
            self.runs[key] = CsvParts(self.root, partial(_part_key, folder), HEADER)
        return self.runs[key]

    def close(self) -> list[Written]:
        written: list[Written] = []
        for (export_type, month_text), parts in sorted(self.runs.items()):
            files = parts.close()
            written += files
            month = date.fromisoformat(month_text)
            folder = self.run_ids[(export_type, month_text)]
            manifest = self._manifest(export_type, month, folder, files)
            key = f"{folder}/manifest.json"
            (self.root / key).write_text(json.dumps(manifest, indent=2) + "\n")
            written.append(Written(key, 0))
        return written

    def _manifest(self, export_type: str, month: date, folder: str, files: list[Written]) -> dict[str, object]:
        export = EXPORTS[export_type]
        last = min(next_month(month) - timedelta(days=1), self.scenario.end)
        blobs = [
            {
                "blobName": w.key.removeprefix("billing/"),
                "byteCount": (self.root / w.key).stat().st_size,
                "dataRowCount": w.rows,
            }
            for w in files
        ]
        return {
            "manifestVersion": "2024-04-01",
            "byteCount": sum(int(b["byteCount"]) for b in blobs),  # type: ignore[call-overload]
            "blobCount": len(blobs),
            "dataRowCount": sum(w.rows for w in files),
            "exportConfig": {
                "exportName": export,
                "resourceId": f"/subscriptions/{self.sub}/providers/Microsoft.CostManagement/exports/{export}",
                "dataVersion": "2023-12-01-preview",
                "apiVersion": "2023-07-01-preview",
                "type": export_type,
                "timeFrame": "MonthToDate",
                "granularity": "Daily",
            },
            "deliveryConfig": {
                "partitionData": True,
                "dataOverwriteBehavior": "CreateNewReport",
                "fileFormat": "Csv",
                "compressionMode": "None",
                "containerUri": f"/subscriptions/{self.sub}/resourceGroups/rg-finops/providers/"
                "Microsoft.Storage/storageAccounts/kubebillsim",
                "rootFolderPath": "azure/exports",
            },
            "runInfo": {
                "executionType": "Scheduled",
                "submittedTime": f"{(self.scenario.end + timedelta(days=1)).isoformat()}T06:00:00.0000000Z",
                "runId": folder.rsplit("/", 1)[1],
                "startDate": f"{month.isoformat()}T00:00:00",
                "endDate": f"{last.isoformat()}T00:00:00",
            },
            "blobs": blobs,
        }

    def _rows(self, b: Lines, day: date, export_type: str) -> list[Sequence[object]]:
        month = day.replace(day=1)
        last = next_month(month) - timedelta(days=1)
        cost = b.billed if export_type == "ActualCost" else b.effective
        price = b.extra["price"]
        rows: list[Sequence[object]] = []
        for i in range(len(b)):
            res = b.resources[int(b.r[i])]
            qty = float(b.quantity[i])
            value = float(cost[i])
            rows.append(self._row(b.kind, res, day, month, last, qty, value, float(price[int(b.r[i])]), export_type))
        return rows

    def _row(
        self,
        kind: str,
        res: Resource,
        day: date,
        month: date,
        last: date,
        qty: float,
        cost: float,
        price: float,
        export_type: str,
    ) -> list[object]:
        rg = res.id.split("/resourceGroups/")[1].split("/")[0] if "/resourceGroups/" in res.id else ""
        pricing = res.attrs.get("pricing", "ondemand")
        model = {"ondemand": "OnDemand", "spot": "Spot", "commit": "Reservation", "savingsplan": "SavingsPlan"}[pricing]
        reservation_id = reservation_name = benefit_id = benefit_name = product_order = ""
        info = ""
        if kind == "vm":
            size = res.attrs["size"]
            family = size.split("_")[1][0]
            meter = f"{size.split('_', 1)[1].replace('_', ' ')}{' Spot' if pricing == 'spot' else ''}"
            names = (
                f"Virtual Machines {family} Series - {meter} - US East",
                "Virtual Machines",
                f"{family} Series",
                meter,
                "1 Hour",
                "Microsoft.Compute",
                "Compute",
            )
            vm_info: dict[str, object] = {
                "UsageType": "ComputeHR",
                "ImageType": "Canonical",
                "ServiceType": size,
                "VMName": res.attrs["vm"],
                "VMProperties": "Microsoft.AKS.Compute.AKS.Linux.Billing",
                "VCPUs": int(res.attrs["cores"]),
                "ConsumedQuantity": qty,
            }
            if pricing == "commit":
                reservation_id, reservation_name = self.reservation, "aks-nodes-ri"
                product_order = self.reservation_order
                vm_info |= {"ReservationOrderId": self.reservation_order, "ReservationId": self.reservation}
                benefit_id = (
                    f"/providers/Microsoft.Capacity/reservationOrders/{self.reservation_order}"
                    f"/reservations/{self.reservation}"
                )
                benefit_name = reservation_name
            if pricing == "savingsplan":
                benefit_id = (
                    f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{self.savings_plan}"
                    f"/savingsPlans/{self.savings_plan}"
                )
                benefit_name = "compute-savings-plan"
            info = json.dumps(vm_info, separators=(",", ":"))
        else:
            names = METERS[kind]
        charge, frequency = ("Purchase", "Recurring") if kind == "purchase" else ("Usage", "UsageBased")
        if kind == "purchase":
            model = "Reservation" if res.attrs.get("benefit") == "reservation" else "SavingsPlan"
            product_order = self.reservation_order
        tags = ",".join(f'"{k}": "{v}"' for k, v in sorted(res.tags.items()))
        effective_price = cost / qty if qty else 0.0
        meter_id = _meter_id(names[3] + names[0])
        return [
            "kubebill-sim",
            "kubebill-sim",
            "finops@kubebill.example",
            self.sub,
            "kubebill-sim-prod",
            rg,
            "eastus" if rg else "",
            day.strftime("%m/%d/%Y"),
            names[0],
            names[1],
            names[2],
            meter_id,
            names[3],
            "US East",
            names[4],
            qty,
            effective_price,
            cost,
            "",
            names[5],
            res.id,
            tags,
            "MS-AZR-0017P",
            info,
            "",
            "",
            res.name or res.id.rsplit("/", 1)[-1],
            reservation_id,
            reservation_name,
            price,
            product_order,
            names[0] if kind == "purchase" else "",
            "12" if kind == "purchase" or pricing == "commit" else "",
            "Azure",
            "Microsoft",
            charge,
            frequency,
            model,
            "1" if kind == "vm" else "",
            "8611537",
            "kubebill-sim",
            "USD",
            month.strftime("%m/%d/%Y"),
            last.strftime("%m/%d/%Y"),
            "8611537",
            "kubebill-sim",
            "",
            "True",
            "AAA-" + meter_id[:5].upper(),
            price,
            "",
            names[6],
            "",
            benefit_id,
            benefit_name,
        ]
