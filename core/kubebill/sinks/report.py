"""`kubebill report`: cost per group over a window of result days, kubectl-cost style (DESIGN 3.1).

Groups: namespace, cluster, controller, pod or `label:<key>` (pods without the label are
`__unallocated__`, as OpenCost aggregates). Columns: billed, effective and list cost, savings
(list − effective), and the idle and unallocated (incl. unmounted) shares of the group's billed cost.
Rows outside every cluster form the group `__not_kubernetes__`, so the total is the bill's.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from kubebill.errors import InputError
from kubebill.model import SENTINELS, month_days
from kubebill.reconcile import session
from kubebill.sinks import costs

BY_CHOICES = ("namespace", "cluster", "controller", "pod", "label:KEY")
WINDOW_CHOICES = ("24h", "7d", "30d", "YYYY-MM")
FORMATS = ("table", "csv", "json", "html")
NOT_KUBERNETES = "__not_kubernetes__"
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,316}$")
_RELATIVE = {"24h": 1, "7d": 7, "30d": 30}


@dataclass(frozen=True)
class Row:
    group: str
    currency: str
    billed: float
    effective: float
    list: float
    savings: float
    idle_share: float | None
    unallocated_share: float | None


def parse_by(by: str) -> tuple[str, str | None]:
    """('namespace'|'cluster'|'controller'|'pod', None) or ('label', key); InputError naming the choices."""
    if by in ("namespace", "cluster", "controller", "pod"):
        return by, None
    if by.startswith("label:") and _LABEL_KEY.match(by[6:]):
        return "label", by[6:]
    raise InputError(f"--by {by!r}: expected one of {', '.join(BY_CHOICES)}")


def window_days(window: str, available: list[date]) -> list[date]:
    """The days a window names, relative to the newest result day; InputError naming the choices."""
    if window in _RELATIVE:
        if not available:
            return []
        newest = max(available)
        return [newest - timedelta(days=n) for n in range(_RELATIVE[window] - 1, -1, -1)]
    if re.fullmatch(r"\d{4}-\d{2}", window):
        try:
            return month_days(window)
        except ValueError:
            pass
    raise InputError(f"--window {window!r}: expected one of {', '.join(WINDOW_CHOICES)}")


def _pod_sql(hashed: bool) -> str:
    """The pod column, or the same short hash `privacy.hash_name` gives (sentinels kept)."""
    if not hashed:
        return "x_K8sPod"
    sentinels = ", ".join(f"'{name}'" for name in sorted(SENTINELS))
    return (
        f"CASE WHEN x_K8sPod IN ({sentinels}) OR x_K8sPod = '' THEN x_K8sPod "
        "ELSE 'h-' || left(sha256(x_K8sPod), 12) END"
    )


def _group_sql(kind: str, key: str | None, *, hashed: bool = False) -> str:
    pod = _pod_sql(hashed)
    outside = f"WHEN x_K8sCluster IS NULL THEN '{NOT_KUBERNETES}'"
    if kind == "cluster":
        return f"CASE {outside} ELSE x_K8sCluster END"
    if kind == "namespace":
        return f"CASE {outside} ELSE coalesce(x_K8sNamespace, '__unallocated__') END"
    if kind == "controller":
        return (
            f"CASE {outside} ELSE coalesce(x_K8sNamespace, '__unallocated__') || '/' || "
            f"coalesce(x_K8sControllerKind || ':' || x_K8sController, {pod}, '__unallocated__') END"
        )
    if kind == "pod":
        return f"CASE {outside} ELSE coalesce(x_K8sNamespace, '__unallocated__') || '/' || coalesce({pod}, '') END"
    path = '$."' + str(key).replace('"', "") + '"'
    return (
        f"CASE {outside} ELSE coalesce(CASE WHEN json_valid(x_K8sLabels) "
        f"THEN json_extract_string(x_K8sLabels, '{path}') END, '__unallocated__') END"
    )


def group_costs(results: pa.Table, by: str, *, hash_pod_names: bool = False) -> list[Row]:
    """Cost per group (sorted by billed cost, largest first) of RESULT rows."""
    kind, key = parse_by(by)
    con = session.connect(threads=1)
    con.register("results", results.select(list(costs.PART_COLUMNS)))
    rows = con.execute(
        f"""SELECT {_group_sql(kind, key, hashed=hash_pod_names)} AS grp, coalesce(BillingCurrency, '') AS currency,
                   sum(BilledCost), sum(EffectiveCost), sum(ListCost),
                   sum(BilledCost) FILTER (WHERE x_K8sAllocation = 'idle'),
                   sum(BilledCost) FILTER (WHERE x_K8sAllocation IN ('unallocated', 'unmounted'))
            FROM results GROUP BY ALL ORDER BY 3 DESC, 1, 2"""
    ).fetchall()
    out = []
    for group, currency, billed, effective, list_cost, idle, unallocated in rows:
        billed, effective, list_cost = float(billed or 0), float(effective or 0), float(list_cost or 0)
        out.append(
            Row(
                group=group,
                currency=currency,
                billed=billed,
                effective=effective,
                list=list_cost,
                savings=list_cost - effective,
                idle_share=float(idle or 0) / billed if billed else None,
                unallocated_share=float(unallocated or 0) / billed if billed else None,
            )
        )
    return out


def _share(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def format_table(rows: list[Row], *, by: str, title: str) -> str:
    """An aligned terminal table with a total line per currency."""
    header = (by.upper(), "CURRENCY", "BILLED", "EFFECTIVE", "LIST", "SAVINGS", "IDLE", "UNALLOCATED")
    body = [
        (r.group, r.currency, f"{r.billed:.2f}", f"{r.effective:.2f}", f"{r.list:.2f}", f"{r.savings:.2f}",
         _share(r.idle_share), _share(r.unallocated_share))
        for r in rows
    ]  # fmt: skip
    for currency in sorted({r.currency for r in rows}):
        mine = [r for r in rows if r.currency == currency]
        billed = sum(r.billed for r in mine)
        idle = sum((r.idle_share or 0) * r.billed for r in mine)
        unallocated = sum((r.unallocated_share or 0) * r.billed for r in mine)
        body.append(
            ("TOTAL", currency, f"{billed:.2f}", f"{sum(r.effective for r in mine):.2f}",
             f"{sum(r.list for r in mine):.2f}", f"{sum(r.savings for r in mine):.2f}",
             _share(idle / billed if billed else None), _share(unallocated / billed if billed else None))
        )  # fmt: skip
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(line[2:], widths[2:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([title, "", fmt(header), rule, *(fmt(line) for line in body[: len(rows)]), rule,
                      *(fmt(line) for line in body[len(rows):])]) + "\n"  # fmt: skip


def format_csv(rows: list[Row]) -> str:
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow([field for field in Row.__dataclass_fields__])
    for r in rows:
        writer.writerow(["" if v is None else v for v in asdict(r).values()])
    return sink.getvalue()


def format_json(rows: list[Row], *, by: str, window: str, days: list[date]) -> str:
    document = {
        "by": by,
        "window": window,
        "from": days[0].isoformat() if days else None,
        "to": days[-1].isoformat() if days else None,
        "rows": [asdict(r) for r in rows],
    }
    return json.dumps(document, indent=2) + "\n"


def html_report(
    results: pa.Table, *, title: str = "kubebill cost report", by: str = "namespace", hash_pod_names: bool = False
) -> str:
    """The self-contained HTML report (inline SVG charts, no network at view time) of RESULT rows."""
    from kubebill.sinks.report_html import render_html

    return render_html(results, title=title, by=by, hash_pod_names=hash_pod_names)


def write_html_report(
    path: str | os.PathLike[str],
    results: pa.Table,
    *,
    title: str = "kubebill cost report",
    by: str = "namespace",
    hash_pod_names: bool = False,
) -> Path:
    """Write `html_report(results)` to `path` (UTF-8); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html_report(results, title=title, by=by, hash_pod_names=hash_pod_names), encoding="utf-8")
    return target
