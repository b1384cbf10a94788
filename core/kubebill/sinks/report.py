"""`kubebill report`: cost per group over a window of result days, kubectl-cost style (DESIGN 3.1).

Keys (`--by`, several joined by commas): namespace, cluster, node, provider, service, controller, pod,
`label:<key>` (pods without the label are `__unallocated__`, as OpenCost aggregates) and allocation
(workload, idle, shared, …). For the Kubernetes keys, rows outside every cluster form the group
`__not_kubernetes__` (`figures.OUTSIDE_CLUSTERS`), so the total is the bill's. Every figure (shares of the
cluster cost, savings, own cost and received shares) is `kubebill.figures`'; the formats are in
`report_format`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from duckdb import DuckDBPyConnection

from kubebill import figures
from kubebill.budgets import Budget
from kubebill.errors import InputError
from kubebill.model import SENTINELS, month_days, parse_day
from kubebill.reconcile import session
from kubebill.sinks import costs

KEYS = ("namespace", "cluster", "node", "provider", "service", "controller", "pod", "label:KEY", "allocation")
WINDOW_CHOICES = ("24h", "7d", "30d", "YYYY-MM", "YYYY-MM-DD")
COST_CHOICES = ("billed", "effective", "list", "all")
FORMATS = ("table", "csv", "json", "html")
OTHER = "__other__"
NOT_KUBERNETES = figures.OUTSIDE_CLUSTERS
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,316}$")
_RELATIVE = {"24h": 1, "7d": 7, "30d": 30}
_EXACT = "DECIMAL(38, 12)"
_COLUMNS = (*costs.PART_COLUMNS, "ProviderName", "ServiceName")


@dataclass(frozen=True)
class Row:
    """One group's sums: cost columns, and the numerators and denominator of the share figures (in `cost`)."""

    group: tuple[str, ...]
    currency: str
    billed: Decimal
    effective: Decimal
    list: Decimal
    cluster: Decimal = Decimal(0)
    parts: dict[str, Decimal] = field(default_factory=dict)  # figure -> numerator (figures.SHARES)
    received: dict[str, Decimal] = field(default_factory=dict)  # figures.RECEIVED -> amount (in `cost`)
    own: Decimal = Decimal(0)  # the group's cost (in `cost`) less what it received

    @property
    def savings(self) -> Decimal:
        return self.list - self.effective

    def cost(self, column: str) -> Decimal:
        return {"billed": self.billed, "effective": self.effective, "list": self.list}[column]

    def share(self, figure: str) -> float | None:
        return float(self.parts.get(figure, 0) / self.cluster) if self.cluster else None


def parse_by(by: str) -> list[tuple[str, str | None]]:
    """[(kind, label key or None)] of `--by`; InputError naming the choices."""
    out: list[tuple[str, str | None]] = []
    for key in (part.strip() for part in by.split(",")):
        if key in KEYS and key != "label:KEY":
            out.append((key, None))
        elif key.startswith("label:") and _LABEL_KEY.match(key[6:]):
            out.append(("label", key[6:]))
        else:
            raise InputError(f"--by {key!r}: expected one or more of {', '.join(KEYS)} (joined by commas)")
    if len(out) != len(set(out)):
        raise InputError(f"--by {by!r}: a key is named twice")
    return out


def window_days(window: str, available: list[date]) -> list[date]:
    """The days a window names (24h/7d/30d back from the newest result day); InputError naming the choices."""
    if window in _RELATIVE:
        if not available:
            return []
        newest = max(available)
        return [newest - timedelta(days=n) for n in range(_RELATIVE[window] - 1, -1, -1)]
    try:
        if re.fullmatch(r"\d{4}-\d{2}", window):
            return month_days(window)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", window):
            return [parse_day(window)]
    except ValueError:
        pass
    raise InputError(f"--window {window!r}: expected one of {', '.join(WINDOW_CHOICES)}")


def range_days(first: str, last: str | None, available: list[date]) -> list[date]:
    """--from/--to: every day from `first` to `last` (default: the newest result day), both included."""
    try:
        start = parse_day(first)
        end = parse_day(last) if last else max(available, default=start)
    except ValueError as exc:
        raise InputError(f"--from/--to: {exc}") from None
    if end < start:
        raise InputError(f"--from {start} is after --to {end}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _pod_sql(hashed: bool) -> str:
    """The pod column, or the same short hash `privacy.hash_name` gives (sentinels kept)."""
    if not hashed:
        return "x_K8sPod"
    sentinels = ", ".join(f"'{name}'" for name in sorted(SENTINELS))
    return (
        f"CASE WHEN x_K8sPod IN ({sentinels}) OR x_K8sPod = '' THEN x_K8sPod "
        "ELSE 'h-' || left(sha256(x_K8sPod), 12) END"
    )


def key_sql(kind: str, key: str | None, *, hashed: bool = False) -> str:
    """SQL of one grouping key over RESULT rows."""
    if kind == "provider":
        return "coalesce(ProviderName, '')"
    if kind == "service":
        return "coalesce(ServiceName, '')"
    pod = _pod_sql(hashed)
    inner = {
        "cluster": "x_K8sCluster",
        "namespace": "coalesce(x_K8sNamespace, '__unallocated__')",
        "node": "coalesce(x_K8sNode, '__unallocated__')",
        "allocation": "coalesce(x_K8sAllocation, '')",
        "controller": (
            "coalesce(x_K8sNamespace, '__unallocated__') || '/' || "
            f"coalesce(x_K8sControllerKind || ':' || x_K8sController, {pod}, '__unallocated__')"
        ),
        "pod": f"coalesce(x_K8sNamespace, '__unallocated__') || '/' || coalesce({pod}, '')",
    }.get(kind)
    if inner is None:
        path = '$."' + str(key).replace('"', "") + '"'
        inner = (
            f"coalesce(CASE WHEN json_valid(x_K8sLabels) THEN json_extract_string(x_K8sLabels, '{path}') END, "
            "'__unallocated__')"
        )
    return f"CASE WHEN x_K8sCluster IS NULL THEN '{NOT_KUBERNETES}' ELSE {inner} END"


def key_names(by: str) -> list[str]:
    return [kind if key is None else f"label:{key}" for kind, key in parse_by(by)]


def _connect(results: pa.Table) -> DuckDBPyConnection:
    con = session.connect(threads=1)
    con.register("results", results.select([c for c in _COLUMNS if c in results.column_names]))
    return con


def group_costs(
    results: pa.Table, by: str, *, cost: str = "billed", currency: str | None = None, hash_pod_names: bool = False
) -> list[Row]:
    """Cost per group of RESULT rows, largest `cost` first (billed for `all`); shares are of the `cost` column.

    InputError when a label key is on no row, or `currency` is not among the rows' currencies."""
    keys = parse_by(by)
    column = figures.COST_COLUMNS["billed" if cost == "all" else cost]
    con = _connect(results)
    try:
        found = [c for (c,) in con.execute("SELECT DISTINCT coalesce(BillingCurrency, '') FROM results").fetchall()]
        if currency is not None and currency not in found:
            raise InputError(f"--currency {currency!r}: the window's results are in {', '.join(sorted(found))}")
        for kind, key in keys:
            if kind == "label":
                path = '$."' + str(key).replace('"', "") + '"'
                hit = con.execute(
                    "SELECT count(*) FROM results WHERE json_valid(x_K8sLabels) "
                    f"AND json_extract_string(x_K8sLabels, '{path}') IS NOT NULL"
                ).fetchone()
                if not hit or not hit[0]:
                    raise InputError(f"--by label:{key}: no row of the window has the label {key!r}")
        groups = ", ".join(f"{key_sql(kind, key, hashed=hash_pod_names)} AS k{i}" for i, (kind, key) in enumerate(keys))
        parts = ", ".join(
            f"coalesce(sum({column}::{_EXACT}) FILTER (WHERE x_K8sCluster IS NOT NULL AND x_K8sAllocation IN "
            f"({', '.join(repr(kind) for kind in kinds)})), 0)"
            for kinds in figures.SHARES.values()
        )
        received = ", ".join(figures.received_sql(figure, cost=f"{column}::{_EXACT}") for figure in figures.RECEIVED)
        where = "" if currency is None else f"WHERE coalesce(BillingCurrency, '') = '{currency.replace(chr(39), '')}'"
        rows = con.execute(
            f"""SELECT {groups}, coalesce(BillingCurrency, '') AS currency,
                       coalesce(sum(BilledCost::{_EXACT}), 0), coalesce(sum(EffectiveCost::{_EXACT}), 0),
                       coalesce(sum(ListCost::{_EXACT}), 0),
                       coalesce(sum({column}::{_EXACT}) FILTER (WHERE x_K8sCluster IS NOT NULL), 0), {parts},
                       coalesce(sum({column}::{_EXACT}), 0), {received}
                FROM results {where} GROUP BY ALL"""
        ).fetchall()
    finally:
        con.close()
    n = len(keys)
    m = n + 5 + len(figures.SHARES)
    out = [
        Row(
            group=tuple(str(v) for v in r[:n]),
            currency=r[n],
            billed=r[n + 1],
            effective=r[n + 2],
            list=r[n + 3],
            cluster=r[n + 4],
            parts=dict(zip(figures.SHARES, r[n + 5 : m], strict=True)),
            received=dict(zip(figures.RECEIVED, r[m + 1 :], strict=True)),
            own=r[m] - sum(r[m + 1 :], Decimal(0)),
        )
        for r in rows
    ]
    sort = "billed" if cost == "all" else cost
    return sorted(out, key=lambda r: (-r.cost(sort), r.currency, r.group))


def add(rows: list[Row], group: tuple[str, ...], currency: str) -> Row:
    """The sum of `rows` as one row named `group`."""
    return Row(
        group=group,
        currency=currency,
        billed=sum((r.billed for r in rows), Decimal(0)),
        effective=sum((r.effective for r in rows), Decimal(0)),
        list=sum((r.list for r in rows), Decimal(0)),
        cluster=sum((r.cluster for r in rows), Decimal(0)),
        parts={f: sum((r.parts.get(f, Decimal(0)) for r in rows), Decimal(0)) for f in figures.SHARES},
        received={f: sum((r.received.get(f, Decimal(0)) for r in rows), Decimal(0)) for f in figures.RECEIVED},
        own=sum((r.own for r in rows), Decimal(0)),
    )


def top(rows: list[Row], n: int | None) -> list[Row]:
    """The `n` largest groups per currency (rows come sorted), the rest summed into one `__other__` row."""
    if n is None:
        return rows
    kept: list[Row] = []
    rest: dict[str, list[Row]] = {}
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.currency] = seen.get(row.currency, 0) + 1
        if seen[row.currency] <= n:
            kept.append(row)
        else:
            rest.setdefault(row.currency, []).append(row)
    width = len(rows[0].group) if rows else 1
    for currency, others in sorted(rest.items()):
        kept.append(add(others, (OTHER, *([""] * (width - 1))), currency))
    return kept


def totals(rows: list[Row]) -> list[Row]:
    """One TOTAL row per currency."""
    currencies = sorted({r.currency for r in rows})
    width = len(rows[0].group) if rows else 1
    return [add([r for r in rows if r.currency == c], ("TOTAL", *([""] * (width - 1))), c) for c in currencies]


def html_report(
    results: pa.Table,
    *,
    title: str = "kubebill cost report",
    by: str = "namespace",
    hash_pod_names: bool = False,
    budget_entries: list[Budget] | None = None,
) -> str:
    """The self-contained HTML report (inline SVG charts, no network at view time) of RESULT rows."""
    from kubebill.sinks.report_html import render_html

    return render_html(results, title=title, by=by, hash_pod_names=hash_pod_names, budget_entries=budget_entries)


def write_html_report(
    path: str | os.PathLike[str],
    results: pa.Table,
    *,
    title: str = "kubebill cost report",
    by: str = "namespace",
    hash_pod_names: bool = False,
    budget_entries: list[Budget] | None = None,
) -> Path:
    """Write `html_report(results)` to `path` (UTF-8); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    html = html_report(results, title=title, by=by, hash_pod_names=hash_pod_names, budget_entries=budget_entries)
    target.write_text(html, encoding="utf-8")
    return target
