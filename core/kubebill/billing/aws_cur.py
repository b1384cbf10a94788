"""AWS legacy CUR (``lineItem/UnblendedCost``) and CUR 2.0 / Data Exports (``line_item_unblended_cost``) → COST.

Both name sets reduce to the same lookup key (``lineitemunblendedcost``), so one mapping reads both.

Costs (the rules AWS's own FOCUS conversion and the CUDOS dashboards use):
- BilledCost = ``unblended_cost`` for every line (covered usage + its SavingsPlanNegation net to zero; fees bill).
- EffectiveCost = ``savings_plan_effective_cost`` on SavingsPlanCoveredUsage, ``reservation_effective_cost`` on
  DiscountedUsage, 0 on SavingsPlanNegation and SavingsPlanUpfrontFee and on RI upfront ``Fee`` lines (they are
  amortized into usage), the unused part on SavingsPlanRecurringFee (commitment − used) and RIFee (unused
  amortized upfront + unused recurring), the unblended cost otherwise.
- ListCost = ``pricing_public_on_demand_cost`` (0 on negation lines; BilledCost where AWS gives none).
- ContractedCost = ``net_unblended_cost`` when exported, else ``unblended_cost``.
Split cost allocation rows (SCAD, ``split_line_item_parent_resource_id`` set: one per pod and resource, cost 0 of
their own) are never bill lines: their parent instance line carries the bill. They are kept with their split in
``x_CloudSplit`` (parent key, ``split_line_item_split_cost`` and ``_unused_cost``, the pod from its ARN and
``aws:eks:*`` tags), the weights the ``cloud_splits`` stage splits the parent line by; the ledger's sums and the
merge's bill lines leave them out (`billing.common.split_children`), as before.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kubebill.billing.common import Columns, MapEntries, coalesce, finish, map_unique, pricing_category
from kubebill.keys import aws_resource_key, cluster_hint, parse_json_object
from kubebill.keys.aws import split_row_target
from kubebill.schema import CLOUD_SPLIT, COST

ALIASES = frozenset(
    {
        "lineitemusagestartdate",
        "lineitemusageenddate",
        "billbillingperiodstartdate",
        "billpayeraccountid",
        "lineitemusageaccountid",
        "lineitemproductcode",
        "productproductname",
        "productservicecode",
        "productregioncode",
        "productregion",
        "lineitemavailabilityzone",
        "lineitemresourceid",
        "productsku",
        "productinstancetype",
        "lineitemusagetype",
        "lineitemlineitemtype",
        "lineitemlineitemdescription",
        "lineitemcurrencycode",
        "lineitemunblendedcost",
        "lineitemnetunblendedcost",
        "pricingpublicondemandcost",
        "pricingterm",
        "pricingunit",
        "lineitemusageamount",
        "reservationeffectivecost",
        "reservationreservationarn",
        "reservationunusedamortizedupfrontfeeforbillingperiod",
        "reservationunusedrecurringfee",
        "savingsplansavingsplaneffectivecost",
        "savingsplansavingsplanarn",
        "savingsplantotalcommitmenttodate",
        "savingsplanusedcommitment",
        "splitlineitemparentresourceid",
        "splitlineitemsplitcost",
        "splitlineitemunusedcost",
        "resourcetags",
        "product",
    }
)

CODED = frozenset(
    {
        "lineitemusagestartdate",
        "lineitemusageenddate",
        "billbillingperiodstartdate",
        "lineitemlineitemtype",
        "lineitemusagetype",
        "pricingterm",
        "lineitemresourceid",
    }
)
NUMERIC = frozenset(
    {
        "lineitemunblendedcost",
        "lineitemnetunblendedcost",
        "pricingpublicondemandcost",
        "lineitemusageamount",
        "reservationeffectivecost",
        "reservationunusedamortizedupfrontfeeforbillingperiod",
        "reservationunusedrecurringfee",
        "savingsplansavingsplaneffectivecost",
        "savingsplantotalcommitmenttodate",
        "savingsplanusedcommitment",
        "splitlineitemsplitcost",
        "splitlineitemunusedcost",
    }
)

_CATEGORY = {
    "usage": "Usage",
    "discountedusage": "Usage",
    "savingsplancoveredusage": "Usage",
    "savingsplannegation": "Usage",
    "fee": "Purchase",
    "rifee": "Purchase",
    "savingsplanrecurringfee": "Purchase",
    "savingsplanupfrontfee": "Purchase",
    "tax": "Tax",
    "credit": "Credit",
    "refund": "Credit",
    "bundleddiscount": "Credit",
    "discount": "Credit",
    "edpdiscount": "Credit",
    "privaterateddiscount": "Credit",
    "distributordiscount": "Credit",
}


def is_tag_column(name: str) -> bool:
    """Legacy CUR tag columns (``resourceTags/user:app``) and CUR 2.0's ``resource_tags_*`` flattening."""
    low = name.lower()
    return low.startswith(("resourcetags/", "resource_tags_"))


def _f(cols: Columns, *aliases: str) -> pa.Array:
    value = cols.number(*aliases)
    return value if value is not None else pa.nulls(cols.n, pa.float64())


EXCLUDED_RULE = "aws-split-cost-allocation-child-row"  # split rows that are no bill line, as the ledger counts them


def convert(cols: Columns, fmt: str) -> pa.RecordBatch:
    """One CUR batch → COST, split cost allocation rows carrying their split in ``x_CloudSplit``."""
    batch = _convert(cols, fmt)
    parent = cols.text("splitlineitemparentresourceid")
    if parent is None or parent.null_count == len(parent):
        return batch
    split = _cloud_split(cols, parent, batch.column("ResourceId"), batch.column("Tags"))
    return batch.set_column(batch.schema.get_field_index("x_CloudSplit"), COST.field("x_CloudSplit"), split)


def _cloud_split(cols: Columns, parent: pa.Array, resource: pa.Array, tags: pa.Array) -> pa.Array:
    """``x_CloudSplit`` of each SCAD row (null on the others): its parent's key, its costs and its pod."""
    split_cost = _f(cols, "splitlineitemsplitcost").to_pylist()
    unused_cost = _f(cols, "splitlineitemunusedcost").to_pylist()
    parents, resources, texts = parent.to_pylist(), resource.to_pylist(), tags.to_pylist()
    pods: dict[tuple[str | None, str | None], dict[str, str | None]] = {}
    out: list[dict[str, object] | None] = []
    for i, key in enumerate(parents):
        if key is None:
            out.append(None)
            continue
        found = pods.get((resources[i], texts[i]))
        if found is None:
            found = pods[(resources[i], texts[i])] = split_row_target(resources[i], parse_json_object(texts[i]))
        out.append(
            {"parent": aws_resource_key(key), "split_cost": split_cost[i], "unused_cost": unused_cost[i], **found}
        )
    return pa.array(out, CLOUD_SPLIT)


def _convert(cols: Columns, fmt: str) -> pa.RecordBatch:
    n = cols.n
    kind = cols.codes("lineitemlineitemtype")
    kinds = sorted(set(_CATEGORY) | {"__other__"})
    kind_code = (
        map_unique(lambda v: kinds.index(_kind(v)), kind, pa.int8())
        if kind is not None
        else pa.array(np.full(n, kinds.index("__other__"), dtype=np.int8))
    )
    unblended = _f(cols, "lineitemunblendedcost")
    net = cols.number("lineitemnetunblendedcost")
    sp_effective = _f(cols, "savingsplansavingsplaneffectivecost")
    ri_effective = _f(cols, "reservationeffectivecost")
    ri_arn = cols.text("reservationreservationarn")
    sp_arn = cols.text("savingsplansavingsplanarn")
    zero = pa.scalar(0.0, pa.float64())

    def is_kind(name: str) -> pa.Array:
        return pc.equal(kind_code, pa.scalar(kinds.index(name), pa.int8()))

    sp_unused = pc.subtract(
        pc.fill_null(_f(cols, "savingsplantotalcommitmenttodate"), 0.0),
        pc.fill_null(_f(cols, "savingsplanusedcommitment"), 0.0),
    )
    ri_unused = pc.add(
        pc.fill_null(_f(cols, "reservationunusedamortizedupfrontfeeforbillingperiod"), 0.0),
        pc.fill_null(_f(cols, "reservationunusedrecurringfee"), 0.0),
    )
    ri_fee_upfront = pc.and_(is_kind("fee"), pc.is_valid(ri_arn) if ri_arn is not None else is_kind("__other__"))
    effective = pc.case_when(
        pc.make_struct(
            is_kind("savingsplancoveredusage"),
            is_kind("discountedusage"),
            pc.or_(is_kind("savingsplannegation"), is_kind("savingsplanupfrontfee")),
            pc.fill_null(ri_fee_upfront, False),
            is_kind("savingsplanrecurringfee"),
            is_kind("rifee"),
        ),
        sp_effective,
        ri_effective,
        zero,
        zero,
        sp_unused,
        ri_unused,
        unblended,
    )
    public = cols.number("pricingpublicondemandcost")
    listed = pc.if_else(is_kind("savingsplannegation"), zero, public if public is not None else unblended)
    listed = pc.coalesce(listed, unblended)
    contracted = net if net is not None else unblended

    category = pa.array([_CATEGORY.get(k, "Usage") for k in kinds], pa.string()).take(kind_code)
    usage_type = cols.codes("lineitemusagetype")
    term = cols.codes("pricingterm")
    spot = (
        map_unique(lambda v: v is not None and "SpotUsage" in v, usage_type, pa.bool_())
        if usage_type is not None
        else pa.repeat(pa.scalar(False), n)
    )
    committed = pc.or_(
        pc.or_(is_kind("savingsplancoveredusage"), is_kind("discountedusage")),
        map_unique(lambda v: v == "Reserved", term, pa.bool_()) if term is not None else pa.repeat(pa.scalar(False), n),
    )
    pricing = pricing_category(spot=spot, committed=committed, category=category)
    commitment = coalesce(sp_arn, ri_arn)
    has_sp = pc.or_(
        pc.or_(is_kind("savingsplancoveredusage"), is_kind("savingsplannegation")),
        pc.or_(is_kind("savingsplanrecurringfee"), is_kind("savingsplanupfrontfee")),
    )
    has_ri = pc.or_(is_kind("discountedusage"), is_kind("rifee"))
    if sp_arn is not None:
        has_sp = pc.or_(has_sp, pc.is_valid(sp_arn))
    if ri_arn is not None:
        has_ri = pc.or_(has_ri, pc.is_valid(ri_arn))
    commitment_type = pc.case_when(
        pc.make_struct(has_sp, has_ri),
        pa.scalar("Savings Plan"),
        pa.scalar("Reservation"),
        pa.scalar(None, pa.string()),
    )

    mapped = cols.get("resourcetags")
    entries = MapEntries.of(mapped) if mapped is not None and pa.types.is_map(mapped.type) else None
    tags = entries.json() if entries is not None else _tags(cols)
    resource = cols.text("lineitemresourceid")
    resource_codes = cols.codes("lineitemresourceid")
    keys = map_unique(aws_resource_key, resource_codes, pa.string()) if resource_codes is not None else None
    hints = None
    if entries is not None:
        hints = entries.per_row_first(lambda k, v: cluster_hint({k: v}))
    elif tags is not None:
        hints = map_unique(_hint_from_json, tags, pa.string())
    region = cols.text("productregioncode", "productregion")
    if region is None:
        zone = cols.text("lineitemavailabilityzone")
        region = None if zone is None else pc.utf8_rtrim(zone, characters="abcdefghijklmnopqrstuvwxyz")
    return finish(
        {
            "ChargePeriodStart": cols.time("lineitemusagestartdate"),
            "ChargePeriodEnd": cols.time("lineitemusageenddate"),
            "BillingPeriodStart": cols.time("billbillingperiodstartdate"),
            "BillingAccountId": cols.text("billpayeraccountid"),
            "SubAccountId": cols.text("lineitemusageaccountid"),
            "ProviderName": pa.repeat(pa.scalar("AWS"), n),
            "ServiceName": coalesce(cols.text("productproductname"), cols.text("lineitemproductcode")),
            "ServiceCategory": None,
            "ResourceId": resource,
            "ResourceName": None,
            "ResourceType": cols.text("productinstancetype"),
            "RegionId": region,
            "SkuId": cols.text("productsku"),
            "ChargeCategory": category,
            "ChargeDescription": cols.text("lineitemlineitemdescription"),
            "PricingCategory": pricing,
            "CommitmentDiscountId": commitment,
            "CommitmentDiscountType": commitment_type,
            "BillingCurrency": cols.text("lineitemcurrencycode"),
            "BilledCost": unblended,
            "EffectiveCost": effective,
            "ListCost": listed,
            "ContractedCost": contracted,
            "ConsumedQuantity": cols.number("lineitemusageamount"),
            "ConsumedUnit": cols.text("pricingunit"),
            "Tags": tags,
            "x_ResourceKey": keys,
            "x_ClusterHint": hints,
        },
        cols,
        fmt,
    )


def _kind(value: object) -> str:
    low = str(value).lower() if value else ""
    return low if low in _CATEGORY else "__other__"


def _hint_from_json(text: str | None) -> str | None:
    if not text:
        return None
    try:
        tags = json.loads(text)
    except ValueError:
        return None
    return cluster_hint(tags) if isinstance(tags, dict) else None


def _tags(cols: Columns) -> pa.Array | None:
    """CUR 2.0 ``resource_tags`` map → JSON text; legacy ``resourceTags/*`` columns → one JSON object per row."""
    mapped = cols.get("resourcetags")
    if mapped is not None:
        return cols.text("resourcetags")
    names = [name for name in cols.batch.schema.names if name.lower().startswith(("resourcetags/", "resource_tags_"))]
    if not names:
        return None
    tag_names = [name.split("/", 1)[1] if "/" in name else name[len("resource_tags_") :] for name in names]
    columns = [cols.batch.column(name) for name in names]
    # one JSON per distinct combination: join the tag values (rows repeat per resource)
    joined = pc.binary_join_element_wise(*[pc.fill_null(pc.cast(c, pa.string()), "") for c in columns], "\x1f")

    def build(value: str | None) -> str:
        parts = (value or "").split("\x1f")
        tags = {k: v for k, v in zip(tag_names, parts, strict=False) if v != ""}
        return json.dumps(tags, separators=(",", ":"), sort_keys=True)

    return map_unique(build, joined, pa.string())
