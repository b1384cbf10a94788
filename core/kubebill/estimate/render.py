"""The estimate and the price book as a terminal table, JSON, or Markdown (a pull-request comment)."""

from __future__ import annotations

import json
from typing import Any

from kubebill.estimate.manifests import HOURS_PER_MONTH
from kubebill.estimate.prices import MIN_LINES, Price, PriceBook, Rates
from kubebill.estimate.pricing import Estimate, Line

ESTIMATE_FORMATS = ("table", "json", "markdown")
PRICE_FORMATS = ("table", "json")


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def _signed(value: float) -> str:
    return f"{value:+,.2f}"


def _span(book: PriceBook) -> str:
    return f"{book.days[0]} to {book.days[-1]} ({len(book.days)} day{'s' if len(book.days) != 1 else ''})"


def heading(estimate: Estimate) -> str:
    book = estimate.book
    overhead = (
        f"with the cluster's idle and shared overhead (× {1 + book.overhead.effective_ratio:.3f})"
        if estimate.with_overhead
        else "overhead excluded (--with-overhead adds it)"
    )
    return (
        f"monthly estimate (730 h) for cluster {book.cluster} at its effective and list prices from the bill, "
        f"{_span(book)}, {book.currency}, {overhead}"
    )


def _difference(estimate: Estimate) -> str | None:
    diff = estimate.difference()
    if diff is None:
        return None
    delta, pct = diff
    percent = "new cost" if pct is None else f"{pct:+.1f} %"
    return f"difference vs baseline {estimate.baseline_name}: {_signed(delta)} {estimate.book.currency} ({percent})"


def _cells(line: Line, with_baseline: bool) -> list[str]:
    d = line.demand
    cells = [
        d.label,
        d.namespace,
        f"{line.pods:g}",
        f"{line.cpu_core_hours:,.1f}",
        f"{line.ram_gib_hours:,.1f}",
        f"{line.storage_gib_months:,.1f}",
        f"{line.load_balancer_hours:,.0f}",
        _money(line.cost.effective),
        _money(line.cost.list),
    ]
    if with_baseline:
        cells.append(_money(line.baseline.effective if line.baseline else None))
    notes = ([f"prices of {line.prices}"] if line.prices != "cluster" else []) + line.notes
    cells.append("; ".join(notes))
    return cells


HEADER = ["object", "namespace", "pods", "cpu core-h", "ram GiB-h", "pv GiB-mo", "lb h", "effective", "list"]


def _rows(estimate: Estimate) -> tuple[list[str], list[list[str]], list[str]]:
    with_baseline = estimate.baseline_name is not None
    header = HEADER + (["baseline"] if with_baseline else []) + ["note"]
    rows = [_cells(line, with_baseline) for line in estimate.lines]
    total, base = estimate.total, estimate.baseline
    footer = ["total", "", "", "", "", "", "", _money(total.effective), _money(total.list)]
    if with_baseline:
        footer.append(_money(base.effective if base else None))
    footer.append("")
    return header, rows, footer


def estimate_table(estimate: Estimate) -> str:
    header, rows, footer = _rows(estimate)
    table = [header, *rows, footer]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7, 8, 9}

    def fmt(row: list[str]) -> str:
        cells = [
            c.rjust(w) if i in right and i < len(header) - 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    out = [heading(estimate), "", fmt(header), *(fmt(r) for r in rows), fmt(footer)]
    diff = _difference(estimate)
    if diff:
        out += ["", diff]
    return "\n".join(out) + "\n"


def estimate_markdown(estimate: Estimate) -> str:
    header, rows, footer = _rows(estimate)

    def fmt(row: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    total = estimate.total
    out = [
        "### kubebill estimate",
        "",
        f"**{_money(total.effective)} {estimate.book.currency}/month effective** "
        f"({_money(total.list)} at list prices), {heading(estimate)}.",
    ]
    diff = _difference(estimate)
    if diff:
        out += ["", f"**{diff}**"]
    out += ["", fmt(header), "|" + "|".join("---" for _ in header) + "|", *(fmt(r) for r in rows)]
    out += [fmt([f"**{c}**" if c else "" for c in footer])]
    return "\n".join(out) + "\n"


def estimate_json(estimate: Estimate, problems: list[str]) -> str:
    book = estimate.book
    diff = estimate.difference()
    base = estimate.baseline
    doc: dict[str, Any] = {
        "cluster": book.cluster,
        "currency": book.currency,
        "hours_per_month": HOURS_PER_MONTH,
        "prices_from": str(book.days[0]),
        "prices_to": str(book.days[-1]),
        "with_overhead": estimate.with_overhead,
        "overhead_ratio": {"effective": book.overhead.effective_ratio, "list": book.overhead.list_ratio},
        "objects": [
            {
                "file": line.demand.file,
                "document": line.demand.document,
                "kind": line.demand.kind,
                "name": line.demand.name,
                "namespace": line.demand.namespace,
                "pods": line.pods,
                "cpu_core_hours": line.cpu_core_hours,
                "ram_gib_hours": line.ram_gib_hours,
                "gpu_hours": line.gpu_hours,
                "storage_gib_months": line.storage_gib_months,
                "load_balancer_hours": line.load_balancer_hours,
                "prices": line.prices,
                "effective_cost": line.cost.effective,
                "list_cost": line.cost.list,
                "baseline_effective_cost": line.baseline.effective if line.baseline else None,
                "notes": line.notes,
            }
            for line in estimate.lines
        ],
        "total": {"effective_cost": estimate.total.effective, "list_cost": estimate.total.list},
        "baseline": None
        if base is None
        else {
            "from": estimate.baseline_name,
            "effective_cost": base.effective,
            "list_cost": base.list,
            "difference": diff[0] if diff else None,
            "difference_percent": diff[1] if diff else None,
        },
        "problems": problems,
    }
    return json.dumps(doc, indent=2) + "\n"


# --- prices ---


def _price_json(price: Price) -> dict[str, Any]:
    return {
        "effective": price.effective,
        "list": price.list,
        "quantity": price.quantity,
        "lines": price.lines,
        "days": price.days,
        "too_little_data": price.thin,
    }


def _rates_json(rates: Rates) -> dict[str, Any]:
    return {
        "nodes": rates.nodes,
        "cpu_core_hour": _price_json(rates.cpu_core_hour),
        "ram_gib_hour": _price_json(rates.ram_gib_hour),
        "gpu_hour": _price_json(rates.gpu_hour),
    }


def prices_json(book: PriceBook) -> str:
    doc = {
        "cluster": book.cluster,
        "currency": book.currency,
        "from": str(book.days[0]),
        "to": str(book.days[-1]),
        "days": len(book.days),
        "min_lines": MIN_LINES,
        "compute": _rates_json(book.compute),
        "node_groups": {name: _rates_json(rates) for name, rates in sorted(book.groups.items())},
        "storage_gib_month": [
            {"sku": s.sku, "description": s.description, **_price_json(s.gib_month)} for s in book.storage
        ],
        "storage_gib_month_all": _price_json(book.all_storage),
        "load_balancer_hour": _price_json(book.load_balancer_hour),
        "overhead": {
            "effective_ratio": book.overhead.effective_ratio,
            "list_ratio": book.overhead.list_ratio,
            "lines": book.overhead.lines,
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def _price_row(what: str, unit: str, price: Price) -> list[str]:
    if price.effective is None:
        return [what, unit, "n/a", "n/a", str(price.days), str(price.lines), "no data in the results"]
    note = f"too little data (< {MIN_LINES} lines)" if price.thin else ""
    return [what, unit, f"{price.effective:.6g}", f"{price.list:.6g}", str(price.days), str(price.lines), note]


def prices_table(book: PriceBook) -> str:
    rows = [["price of", "per", "effective", "list", "days", "lines", "note"]]
    sets = [(f"cluster ({book.compute.nodes} nodes)", book.compute)]
    sets += [(f"node group {name} ({rates.nodes} nodes)", rates) for name, rates in sorted(book.groups.items())]
    for what, rates in sets:
        rows.append(_price_row(what, "CPU core-hour", rates.cpu_core_hour))
        rows.append(_price_row(what, "RAM GiB-hour", rates.ram_gib_hour))
        rows.append(_price_row(what, "GPU-hour", rates.gpu_hour))
    for item in book.storage:
        rows.append(_price_row(f"PV {item.description[:60]}", "GiB-month", item.gib_month))
    if len(book.storage) != 1:
        rows.append(_price_row("PV (every class)", "GiB-month", book.all_storage))
    rows.append(_price_row("load balancer", "hour", book.load_balancer_hour))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"unit prices of cluster {book.cluster} from its results, {_span(book)}, {book.currency}", ""]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    o = book.overhead
    lines += [
        "",
        f"overhead (idle, system, shared, unmounted, unallocated ÷ workload): {o.effective_ratio:.3f} effective, "
        f"{o.list_ratio:.3f} list, over {o.lines} lines; `kubebill estimate --with-overhead` applies it",
    ]
    return "\n".join(lines) + "\n"
