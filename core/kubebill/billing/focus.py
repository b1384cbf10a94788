"""FOCUS 1.0–1.2 datasets from any provider (FinOps Foundation sample, AWS Data Exports FOCUS, Azure FocusCost) → COST.

The columns already carry COST's names; this reads them tolerantly: literal ``NULL``, timestamps with or without
``T``/``Z``, extra non-``x_`` columns (the sample's ``Id``), Tags as JSON text or a map. The key is derived per
``ProviderName`` (AWS ids, Azure ids with ``x_SkuDetails.VMName`` rebuilding the VMSS instance, Google names).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.billing.common import Columns, finish, map_unique, pair_text, split_pair, tags_text
from kubebill.keys import (
    aws_resource_key,
    azure_resource_key,
    azure_vm_name,
    cluster_hint,
    gcp_resource_key,
    parse_json_object,
    provider_id_key,
)

_TEXT = (
    "BillingAccountId",
    "SubAccountId",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "RegionId",
    "SkuId",
    "ChargeCategory",
    "ChargeDescription",
    "PricingCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "BillingCurrency",
    "ConsumedUnit",
)
_NUMBERS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity")
_TIMES = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart")
ALIASES = frozenset({*(n.lower() for n in (*_TEXT, *_NUMBERS, *_TIMES)), "tags", "xskudetails", "xresourcegroupname"})
CODED = frozenset(
    {"chargeperiodstart", "chargeperiodend", "billingperiodstart", "tags", "xskudetails", "resourceid"}
    | {"providername", "pricingcategory", "xresourcegroupname"}
)
NUMERIC = frozenset(n.lower() for n in _NUMBERS)
_PRICING = {"on-demand": "Standard", "ondemand": "Standard", "spot": "Dynamic", "commitment-based": "Committed"}


def is_header(names: set[str]) -> bool:
    return {"billedcost", "chargeperiodstart"} <= names and bool(names & {"effectivecost", "listcost"})


def _key(pair: str) -> str | None:
    provider_rid, vm = split_pair(pair)
    provider, rid = (provider_rid or "\x1e").split("\x1e", 1)
    if not rid:
        return None
    low = provider.lower()
    if low.startswith("microsoft") or low.startswith("azure"):
        return azure_resource_key(rid, vm)
    if low.startswith("aws") or low.startswith("amazon"):
        return aws_resource_key(rid)
    if low.startswith("google"):
        return gcp_resource_key(rid)
    return provider_id_key(rid)


def convert(cols: Columns, fmt: str) -> pa.RecordBatch:
    n = cols.n
    values: dict[str, pa.Array | None] = {}
    for name in _TEXT:
        values[name] = cols.text(name.lower())
    for name in _NUMBERS:
        values[name] = cols.number(name.lower())
    for name in _TIMES:
        values[name] = cols.time(name.lower())
    pricing = values["PricingCategory"]
    if pricing is not None:
        values["PricingCategory"] = map_unique(
            lambda v: None if v is None else _PRICING.get(str(v).lower(), str(v)), pricing, pa.string()
        )
    raw_tags = cols.codes("tags")
    tags = map_unique(tags_text, raw_tags, pa.string()) if raw_tags is not None else None
    values["Tags"] = tags
    details = cols.codes("xskudetails")
    vm = map_unique(azure_vm_name, details, pa.string()) if details is not None else None
    provider = values["ProviderName"] if values["ProviderName"] is not None else pa.nulls(n, pa.string())
    rid = values["ResourceId"]
    if rid is not None:
        provider_rid = pc.binary_join_element_wise(pc.fill_null(provider, ""), rid, "\x1e")
        values["x_ResourceKey"] = map_unique(_key, pair_text(provider_rid, vm, n), pa.string())
    group = cols.text("xresourcegroupname")

    def hint(pair: str) -> str | None:
        tag_text, where = split_pair(pair)
        parsed = parse_json_object(tag_text) if tag_text else {}
        if where and where.startswith("/"):
            return cluster_hint(parsed, resource_id=where)
        return cluster_hint(parsed, resource_group=where)

    where = group if group is not None else rid
    values["x_ClusterHint"] = map_unique(hint, pair_text(tags, where, n), pa.string())
    return finish(values, cols, fmt)
