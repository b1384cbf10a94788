"""Google Cloud billing export extracts (standard and detailed; parquet, JSON lines, CSV with dotted columns) → COST.

Costs: BilledCost = EffectiveCost = ``cost`` + Σ ``credits.amount`` (the net the invoice shows; committed-use and
sustained-use discounts arrive as credits); ListCost = ``cost_at_list`` when exported, else ``cost``;
ContractedCost = ``cost`` (negotiated price before credits). Tags = ``labels`` plus ``system_labels``
(labels win on a clash); the key is ``resource.name`` (else the last segment of ``resource.global_name``).
A line GKE cost allocation labelled (``k8s-namespace`` with ``goog-k8s-cluster-name``) carries that namespace
share in ``x_CloudSplit`` (`keys.gcp.gke_split`).
"""

from __future__ import annotations

import ast
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.billing.common import (
    Columns,
    coalesce,
    finish,
    is_text,
    map_pairs,
    map_unique,
    pair_text,
    pricing_category,
    split_pair,
)
from kubebill.keys import cluster_hint, gcp_resource_key
from kubebill.keys.gcp import gke_split
from kubebill.schema import CLOUD_SPLIT

ALIASES = frozenset(
    {
        "billingaccountid",
        "servicedescription",
        "serviceid",
        "skuid",
        "skudescription",
        "usagestarttime",
        "usageendtime",
        "projectid",
        "labels",
        "systemlabels",
        "locationregion",
        "locationlocation",
        "cost",
        "costatlist",
        "currency",
        "usageamount",
        "usageunit",
        "credits",
        "invoicemonth",
        "costtype",
        "resourcename",
        "resourceglobalname",
    }
)

CODED = frozenset(
    {"usagestarttime", "usageendtime", "labels", "systemlabels", "credits", "resourcename", "resourceglobalname"}
    | {"costtype", "skudescription", "invoicemonth"}
)
NUMERIC = frozenset({"cost", "costatlist", "usageamount"})

_COST_TYPE = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding error": "Adjustment"}


def is_header(names: set[str]) -> bool:
    return {"usagestarttime", "cost"} <= names and bool(names & {"servicedescription", "service"})


def _python(value: Any) -> Any:
    """A list/dict from parquet/JSON values or from the CSV's JSON or Python-repr text."""
    if value is None or isinstance(value, list | dict):
        return value
    text = str(value).strip()
    if not text or text in ("NULL", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None


def _credit_sum(value: Any) -> float:
    credits = _python(value) or []
    return float(sum(float(c.get("amount") or 0.0) for c in credits if isinstance(c, dict)))


def _committed(value: Any) -> bool:
    credits = _python(value) or []
    return any(isinstance(c, dict) and "COMMITTED" in str(c.get("type", "")).upper() for c in credits)


def _labels(value: Any) -> dict[str, Any]:
    labels = _python(value)
    if isinstance(labels, dict):
        return {str(k): v for k, v in labels.items()}
    if isinstance(labels, list):
        return {str(item.get("key")): item.get("value") for item in labels if isinstance(item, dict)}
    return {}


def _per_row(column: pa.Array, func: Any, out_type: pa.DataType) -> pa.Array:
    """Apply `func` per distinct text (CSV) or per row (nested parquet/JSON values)."""
    if is_text(column.type):
        return map_unique(func, column, out_type)
    return pa.array([func(v) for v in column.to_pylist()], out_type)


def convert(cols: Columns, fmt: str) -> pa.RecordBatch:
    n = cols.n
    cost = cols.number("cost")
    credits = cols.get("credits")
    credit_sum = _per_row(credits, _credit_sum, pa.float64()) if credits is not None else None
    net = cost if credit_sum is None or cost is None else pc.add(cost, credit_sum)
    committed = _per_row(credits, _committed, pa.bool_()) if credits is not None else pa.repeat(pa.scalar(False), n)
    labels = cols.get("labels")
    system = cols.get("systemlabels")

    def merged_tags(pair: str) -> str:
        left, right = split_pair(pair)
        tags = {**_labels(right), **_labels(left)}
        return json.dumps(tags, separators=(",", ":"), sort_keys=True, default=str)

    def to_text(column: pa.Array | None) -> pa.Array | None:
        if column is None:
            return None
        if is_text(column.type):
            return column
        return pa.array([None if v is None else json.dumps(v, default=str) for v in column.to_pylist()], pa.string())

    tags = map_unique(merged_tags, pair_text(to_text(labels), to_text(system), n), pa.string())
    hints = map_unique(lambda t: cluster_hint(json.loads(t)), tags, pa.string())
    name = cols.text("resourcename")
    global_name = cols.text("resourceglobalname")
    keys = map_unique(lambda v: gcp_resource_key(*split_pair(v)), pair_text(name, global_name, n), pa.string())
    cost_type = cols.text("costtype")
    category = (
        map_unique(lambda v: _COST_TYPE.get(str(v).lower(), "Usage") if v else "Usage", cost_type, pa.string())
        if cost_type is not None
        else pa.repeat(pa.scalar("Usage"), n)
    )
    sku = cols.text("skudescription")
    spot = (
        pc.fill_null(pc.match_substring_regex(sku, "(?i)spot|preemptible"), False)
        if sku is not None
        else pa.repeat(pa.scalar(False), n)
    )
    pricing = pricing_category(spot=spot, committed=committed, category=category)
    invoice = cols.text("invoicemonth")
    billing_start = (
        None
        if invoice is None
        else map_unique(lambda v: f"{v[:4]}-{v[4:6]}-01T00:00:00Z" if v else None, invoice, pa.string())
    )
    listed = coalesce(cols.number("costatlist"), cost)
    gke = map_pairs(lambda t, k: gke_split(json.loads(t), k), tags, keys, n, CLOUD_SPLIT)
    return finish(
        {
            "ChargePeriodStart": cols.time("usagestarttime"),
            "ChargePeriodEnd": cols.time("usageendtime"),
            "BillingPeriodStart": None
            if billing_start is None
            else Columns(pa.record_batch([billing_start], names=["b"]), cols.key, cols.row_offset).time("b"),
            "BillingAccountId": cols.text("billingaccountid"),
            "SubAccountId": cols.text("projectid"),
            "ProviderName": pa.repeat(pa.scalar("Google Cloud"), n),
            "ServiceName": cols.text("servicedescription"),
            "ResourceId": coalesce(global_name, name),
            "ResourceName": name,
            "RegionId": coalesce(cols.text("locationregion"), cols.text("locationlocation")),
            "SkuId": cols.text("skuid"),
            "ChargeCategory": category,
            "ChargeDescription": sku,
            "PricingCategory": pricing,
            "BillingCurrency": cols.text("currency"),
            "BilledCost": net,
            "EffectiveCost": net,
            "ListCost": listed,
            "ContractedCost": cost,
            "ConsumedQuantity": cols.number("usageamount"),
            "ConsumedUnit": cols.text("usageunit"),
            "Tags": tags,
            "x_ResourceKey": keys,
            "x_ClusterHint": hints,
            "x_CloudSplit": gke,
        },
        cols,
        fmt,
    )
