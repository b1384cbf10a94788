"""Azure Cost Management ActualCost / AmortizedCost exports in every header set → COST.

Header sets: EA PascalCase (``CostInBillingCurrency``), MCA camelCase (``costInBillingCurrency``), c360 (``Cost``),
legacy PAYG (``UsageDateTime``, ``PreTaxCost``, ``InstanceId``), localized ``Name (Field)``; all reduce to the same
lookup keys. ``Tags`` / ``AdditionalInfo`` are read with or without their outer braces.

Costs: a lone export fills BilledCost and EffectiveCost from its one cost column (an actual export knows no
amortization, an amortized one no invoice). Actual + amortized of one period are paired by `pair` (see there).
ListCost = ``paygCostInBillingCurrency``, else ``PayGPrice × Quantity``; ContractedCost = ``UnitPrice × Quantity``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.billing.common import Columns, coalesce, constant, finish, map_pairs, map_unique, tags_text
from kubebill.keys import azure_resource_key, cluster_hint, parse_json_object
from kubebill.schema import COST

if TYPE_CHECKING:
    import duckdb

DATE = ("date", "usagedatetime", "usagedate")
COST_ALIASES = ("costinbillingcurrency", "cost", "pretaxcost")
RESOURCE = ("resourceid", "instanceid", "instancename")

ALIASES = frozenset(
    {
        *DATE,
        *COST_ALIASES,
        *RESOURCE,
        "billingperiodstartdate",
        "billingaccountid",
        "billingprofileid",
        "subscriptionid",
        "subscriptionguid",
        "metercategory",
        "consumedservice",
        "servicename",
        "resourcename",
        "resourcetype",
        "resourcelocation",
        "meterid",
        "metername",
        "chargetype",
        "pricingmodel",
        "reservationid",
        "benefitid",
        "billingcurrency",
        "billingcurrencycode",
        "currency",
        "paygcostinbillingcurrency",
        "paygprice",
        "unitprice",
        "quantity",
        "usagequantity",
        "unitofmeasure",
        "tags",
        "additionalinfo",
        "resourcegroup",
        "resourcegroupname",
    }
)

CODED = frozenset(
    {*DATE, *RESOURCE, "billingperiodstartdate", "additionalinfo", "tags", "chargetype", "pricingmodel"}
    | {"resourcegroup", "resourcegroupname"}
)
NUMERIC = frozenset({*COST_ALIASES, "paygcostinbillingcurrency", "paygprice", "unitprice", "quantity", "usagequantity"})

_CHARGE = {
    "usage": "Usage",
    "purchase": "Purchase",
    "tax": "Tax",
    "refund": "Credit",
    "credit": "Credit",
    "roundingadjustment": "Adjustment",
    "adjustment": "Adjustment",
    "unusedreservation": "Usage",
    "unusedsavingsplan": "Usage",
}
_PRICING = {
    "ondemand": "Standard",
    "spot": "Dynamic",
    "reservation": "Committed",
    "savingsplan": "Committed",
}
_COMMITMENT_TYPE = {"reservation": "Reservation", "savingsplan": "Savings Plan"}
_VMNAME = re.compile(r'"vmname"\s*:\s*"([^"]*)"', re.IGNORECASE)


def is_header(names: set[str]) -> bool:
    """A cost-details header: a date, a cost and a resource column under any of their names."""
    return bool(names & set(DATE)) and bool(names & set(COST_ALIASES)) and bool(names & set(RESOURCE))


def _lookup(table: dict[str, str]) -> Callable[[object], str | None]:
    return lambda v: None if v is None else table.get(re.sub(r"[^a-z]", "", str(v).lower()))


def _product(a: pa.Array | None, b: pa.Array | None) -> pa.Array | None:
    return None if a is None or b is None else pc.multiply(a, b)


def convert(cols: Columns, fmt: str) -> pa.RecordBatch:
    """One export batch → COST (BilledCost = EffectiveCost = the export's cost)."""
    n = cols.n
    cost = cols.number(*COST_ALIASES)
    quantity = cols.number("quantity", "usagequantity")
    listed = coalesce(cols.number("paygcostinbillingcurrency"), _product(cols.number("paygprice"), quantity))
    contracted = _product(cols.number("unitprice"), quantity)
    resource = cols.text(*RESOURCE)
    resource_codes = cols.codes(*RESOURCE)
    info = cols.codes("additionalinfo")
    vm_name = None
    if info is not None:
        vm_name = map_unique(_vm_name, info, pa.string(), keep_dictionary=True)
    keys = None
    if resource_codes is not None:
        keys = map_pairs(azure_resource_key, resource_codes, vm_name, n, pa.string())
    raw_tags = cols.codes("tags")
    tags = map_unique(tags_text, raw_tags, pa.string(), keep_dictionary=True) if raw_tags is not None else None
    group = cols.codes("resourcegroup", "resourcegroupname")
    hints = map_pairs(_hint, tags, group if group is not None else resource_codes, n, pa.string())
    charge = cols.codes("chargetype")
    model = cols.codes("pricingmodel")
    category = map_unique(_lookup(_CHARGE), charge, pa.string()) if charge is not None else None
    pricing = map_unique(_lookup(_PRICING), model, pa.string()) if model is not None else None
    if category is None:
        category = constant("Usage", n)
    if pricing is None:
        pricing = pc.if_else(pc.equal(category, "Usage"), pa.scalar("Standard"), pa.scalar(None, pa.string()))
    commitment = cols.text("benefitid", "reservationid")
    commitment_type = map_unique(_lookup(_COMMITMENT_TYPE), model, pa.string()) if model is not None else None
    start = cols.time(*DATE)
    end = None if start is None else pc.add(start, pa.scalar(86_400_000_000, pa.duration("us")))
    return finish(
        {
            "ChargePeriodStart": start,
            "ChargePeriodEnd": end,
            "BillingPeriodStart": cols.time("billingperiodstartdate"),
            "BillingAccountId": cols.text("billingaccountid", "billingprofileid"),
            "SubAccountId": cols.text("subscriptionid", "subscriptionguid"),
            "ProviderName": constant("Microsoft", n),
            "ServiceName": cols.text("metercategory", "servicename", "consumedservice"),
            "ResourceId": resource,
            "ResourceName": cols.text("resourcename"),
            "ResourceType": cols.text("resourcetype", "consumedservice"),
            "RegionId": cols.text("resourcelocation"),
            "SkuId": cols.text("meterid"),
            "ChargeCategory": category,
            "ChargeDescription": cols.text("metername"),
            "PricingCategory": pricing,
            "CommitmentDiscountId": commitment,
            "CommitmentDiscountType": commitment_type,
            "BillingCurrency": cols.text("billingcurrency", "billingcurrencycode", "currency"),
            "BilledCost": cost,
            "EffectiveCost": cost,
            "ListCost": listed,
            "ContractedCost": contracted,
            "ConsumedQuantity": quantity,
            "ConsumedUnit": cols.text("unitofmeasure"),
            "Tags": tags.dictionary_decode() if tags is not None and pa.types.is_dictionary(tags.type) else tags,
            "x_ResourceKey": keys,
            "x_ClusterHint": hints,
        },
        cols,
        fmt,
    )


@lru_cache(maxsize=1 << 16)
def _vm_name(info: str | None) -> str | None:
    if not info:
        return None
    match = _VMNAME.search(info)
    if match:
        return match[1] or None
    value = parse_json_object(info).get("VMName")
    return str(value) if value else None


@lru_cache(maxsize=1 << 16)
def _hint(tags: str | None, group_or_id: str | None) -> str | None:
    parsed = parse_json_object(tags) if tags else {}
    if group_or_id and group_or_id.startswith("/"):
        return cluster_hint(parsed, resource_id=group_or_id)
    return cluster_hint(parsed, resource_group=group_or_id)


# ---------------------------------------------------------------------------------------------------- pairing

_PAIR_KEY = (
    "ChargePeriodStart",
    "SubAccountId",
    "ResourceId",
    "SkuId",
    "ChargeCategory",
    "PricingCategory",
    "CommitmentDiscountId",
    "ConsumedQuantity",
    "BillingCurrency",
)


def pair(
    actual: pa.RecordBatchReader | pa.Table,
    amortized: pa.RecordBatchReader | pa.Table,
    *,
    connect: Callable[[], duckdb.DuckDBPyConnection],
    batch_rows: int = 128 * 1024,
) -> Iterator[pa.RecordBatch]:
    """Actual + amortized lines of one period → one set of lines (COST batches).

    Lines are paired on (day, subscription, resource id, meter, charge type, pricing model, benefit id, quantity,
    currency); repeated keys pair in file order. A paired line takes every column from the actual line,
    BilledCost from the actual and EffectiveCost from the amortized line. Lines only in the actual export
    (reservation/savings-plan purchases) keep BilledCost with EffectiveCost 0 — their cost is spread over the
    amortized usage lines. Lines only in the amortized export (unused reservation/savings plan) get BilledCost 0.
    Each cost column therefore sums to its own export's total, and no line is counted twice.

    Both exports stream into one DuckDB session, `connect()`'s (the caller's: the merge's memory limit, threads and
    spill folder), and the pairs stream out: neither export is held whole in Python. An error raised while reading
    an export is raised as itself.
    """
    import duckdb

    failed: list[BaseException] = []

    def watched(source: pa.RecordBatchReader | pa.Table) -> pa.RecordBatchReader:
        reader = source.to_reader() if isinstance(source, pa.Table) else source

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            except BaseException as error:
                failed.append(error)
                raise

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    con = connect()
    try:
        con.register("actual_lines", watched(actual))
        con.register("amortized_lines", watched(amortized))
        match = " AND ".join(f"a.k{i} IS NOT DISTINCT FROM m.k{i}" for i in range(len(_PAIR_KEY)))
        keys = ", ".join(f'lower(CAST("{c}" AS VARCHAR)) AS k{i}' for i, c in enumerate(_PAIR_KEY))
        columns = []
        for field in COST:
            name = f'"{field.name}"'
            if field.name == "BilledCost":
                columns.append(f"CASE WHEN a.x_SourceKey IS NULL THEN 0.0 ELSE a.{name} END AS {name}")
            elif field.name == "EffectiveCost":
                columns.append(f"CASE WHEN m.x_SourceKey IS NULL THEN 0.0 ELSE m.{name} END AS {name}")
            elif field.name == "x_BillingFormat":
                columns.append(f"'azure-actual+amortized' AS {name}")
            else:
                columns.append(f"CASE WHEN a.x_SourceKey IS NULL THEN m.{name} ELSE a.{name} END AS {name}")
        order = 'row_number() OVER (PARTITION BY {k} ORDER BY x_SourceKey, "x_SourceRowId")'
        part = ", ".join(f"k{i}" for i in range(len(_PAIR_KEY)))
        sql = f"""
            WITH a AS (SELECT *, {order.format(k=part)} AS occurrence FROM (SELECT *, {keys} FROM actual_lines)),
                 m AS (SELECT *, {order.format(k=part)} AS occurrence FROM (SELECT *, {keys} FROM amortized_lines))
            SELECT {", ".join(columns)}
            FROM a FULL OUTER JOIN m ON {match} AND a.occurrence = m.occurrence
            ORDER BY coalesce(a.x_SourceKey, m.x_SourceKey), coalesce(a."x_SourceRowId", m."x_SourceRowId")
        """
        try:
            for batch in con.sql(sql).to_arrow_reader(batch_rows):
                yield batch.cast(COST)
        except duckdb.Error:
            if failed:
                raise failed[0] from None
            raise
    finally:
        con.close()
