"""Every figure kubebill shows, defined once: the demo summary, `report` (all formats), the HTML report,
the metrics, the dashboards (infra/dashboards/build.py) and the alert rules all take theirs from here.

Vocabulary (OpenCost sentinels, FOCUS columns): a row's `x_K8sAllocation` says what it paid for. The
denominator of every share is the **cluster cost**: the cost of the rows that belong to a cluster
(`x_K8sCluster` set); lines outside every cluster form the group `__not_kubernetes__` and never dilute
a cluster's shares. Savings are list − effective (what discounts, commitments and spot saved).
A namespace's **received shares** are the rows a policy moved to it (x_K8sNamespace = the receiver,
x_K8sAllocation = the origin bucket: idle, shared, external); its **own cost** is the rest of its rows (its pods'
`workload`, and `estimated` rows, which are its own pods at list price before the bill lands). A sentinel
group (`__idle__`, `__shared__`, …) receives nothing: what is left in a bucket is that group's own cost, so
own + received = the group's cost for any grouping. A namespace is over budget when its monthly run-rate
exceeds its monthly budget (kubebill.budgets).
A monthly run-rate is an hourly amount × 730 (365 × 24 / 12); a month-end forecast adds the newest
day's cost to the month-to-date for each day left in that calendar month.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from kubebill.model import SENTINELS

OUTSIDE_CLUSTERS = "__not_kubernetes__"  # group of the bill lines outside every cluster (not_kubernetes)
HOURS_PER_MONTH = 730  # 365 * 24 / 12
DAYS_PER_MONTH = HOURS_PER_MONTH / 24

# share figures: the allocation kinds in the numerator (the denominator is the cluster cost)
SHARES: Mapping[str, tuple[str, ...]] = {
    "idle": ("idle",),
    "unallocated": ("unallocated", "unmounted"),
    "shared": ("shared",),
}
# the headers every surface uses, naming the denominator
HEADERS: Mapping[str, str] = {
    "idle": "idle % of cluster",
    "unallocated": "unallocated % of cluster",
    "shared": "shared % of cluster",
    "savings": "savings (list − effective)",
    "cluster": "cluster cost",
    "outside": "outside clusters",
}
# received shares: the allocation kinds a policy moves to a receiving namespace
RECEIVED: Mapping[str, tuple[str, ...]] = {"idle": ("idle",), "shared": ("shared",), "external": ("external",)}
RECEIVED_HEADERS: Mapping[str, str] = {
    "own": "own cost",
    "idle": "received idle",
    "shared": "received shared",
    "external": "received external",
}
COST_COLUMNS: Mapping[str, str] = {"billed": "BilledCost", "effective": "EffectiveCost", "list": "ListCost"}

# ISO 4217 minor units where they are not 2
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0,
    "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}  # fmt: skip


def share_sql(figure: str, *, cost: str = "BilledCost") -> str:
    """SQL aggregate (over RESULT rows) of a share figure of the cluster cost; NULL without cluster cost."""
    kinds = ", ".join(f"'{kind}'" for kind in SHARES[figure])
    return (
        f"coalesce(sum({cost}) FILTER (WHERE x_K8sAllocation IN ({kinds}) AND x_K8sCluster IS NOT NULL), 0)"
        f" / nullif(sum({cost}) FILTER (WHERE x_K8sCluster IS NOT NULL), 0)"
    )


def origin_sql() -> str:
    """SQL of a RESULT row's origin: 'own', or the received-share figure it counts in (figures.RECEIVED)."""
    sentinels = ", ".join(f"'{name}'" for name in sorted(SENTINELS))
    whens = " ".join(
        f"WHEN x_K8sAllocation IN ({', '.join(repr(kind) for kind in kinds)}) THEN '{figure}'"
        for figure, kinds in RECEIVED.items()
    )
    return (
        "CASE WHEN x_K8sCluster IS NULL OR x_K8sNamespace IS NULL "
        f"OR x_K8sNamespace IN ({sentinels}) THEN 'own' {whens} ELSE 'own' END"
    )


def received_sql(figure: str, *, cost: str = "BilledCost") -> str:
    """SQL aggregate (over RESULT rows) of the cost a group received from the bucket `figure` (figures.RECEIVED)."""
    return f"coalesce(sum({cost}) FILTER (WHERE {origin_sql()} = '{figure}'), 0)"


def received(namespace: str | None, kind: str) -> str | None:
    """The received-share figure a row of `namespace` and allocation `kind` counts in; None: own cost."""
    if namespace is None or namespace in SENTINELS:
        return None
    return next((figure for figure, kinds in RECEIVED.items() if kind in kinds), None)


def over_budget(hourly: float, monthly_budget: float) -> bool:
    """The over-budget rule of the alert: the monthly run-rate above the monthly budget."""
    return monthly_run_rate(hourly) > monthly_budget


def cluster_cost_sql(*, cost: str = "BilledCost") -> str:
    return f"coalesce(sum({cost}) FILTER (WHERE x_K8sCluster IS NOT NULL), 0)"


def savings_sql() -> str:
    return "coalesce(sum(ListCost), 0) - coalesce(sum(EffectiveCost), 0)"


def share(by_kind: Mapping[str, float], figure: str) -> float | None:
    """A share figure from a cluster's cost per allocation kind (every kind of the cluster, as metrics have)."""
    total = sum(by_kind.values())
    if not total:
        return None
    return sum(by_kind.get(kind, 0.0) for kind in SHARES[figure]) / total


def shares(by_kind: Mapping[str, float]) -> dict[str, float | None]:
    return {figure: share(by_kind, figure) for figure in SHARES}


def savings(list_cost: float, effective: float) -> float:
    return list_cost - effective


def monthly_run_rate(hourly: float) -> float:
    return hourly * HOURS_PER_MONTH


def days_left(day: date) -> int:
    """Days of `day`'s month after it."""
    return calendar.monthrange(day.year, day.month)[1] - day.day


def month_end_forecast(month_to_date: float, newest_day_cost: float, day: date) -> float:
    """Month-to-date up to and including `day`, plus `day`'s cost for each day left in the month (a purchase
    on the first of the month counts once, not as a daily rate)."""
    return month_to_date + newest_day_cost * days_left(day)


def minor_unit(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def money(value: float | Decimal, currency: str) -> Decimal:
    """`value` rounded half-even to the currency's minor unit, never -0."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    rounded = exact.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_EVEN)
    return rounded + 0 if rounded else abs(rounded)


def money_text(value: float | Decimal, currency: str, *, grouped: bool = False) -> str:
    rounded = money(value, currency)
    return f"{rounded:,}" if grouped else f"{rounded}"


def percent_text(value: float | None) -> str:
    """A share as `12.3%`; '' when undefined; never `-0.0%`."""
    if value is None:
        return ""
    rounded = round(value * 100, 1)
    return f"{rounded + 0.0 if rounded else 0.0:.1f}%"


def promql_share(figure: str, matchers: str, *, by: str = "") -> str:
    """PromQL of a share figure over `kubebill_cluster_allocation_cost` (summed `by` the labels given)."""
    kinds = "|".join(SHARES[figure])
    grouping = f" by ({by})" if by else ""
    sel = f"{matchers}, " if matchers else ""
    return (
        f'sum{grouping} (kubebill_cluster_allocation_cost{{{sel}allocation=~"{kinds}"}})'
        f" / sum{grouping} (kubebill_cluster_allocation_cost{'{' + matchers + '}' if matchers else ''})"
    )


SHARE_METRIC = "kubebill_cluster_share_ratio"  # the same shares, computed by `share` in the metrics
