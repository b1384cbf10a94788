"""The table, CSV and JSON of `kubebill report`: money rounded half-even to the currency's minor unit, never
-0.00; JSON also carries each amount as an exact decimal string. Headers name the denominator of shares."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

from kubebill import figures
from kubebill.sinks import csvsafe
from kubebill.sinks.report import Row, totals

SHARE_FIELDS = {figure: f"{figure}_share_of_cluster_cost" for figure in figures.SHARES}
# own cost and received shares, in the `--cost` column (billed for all), as the shares are
RECEIVED_FIELDS = {"own": "own_cost", **{figure: f"received_{figure}_cost" for figure in figures.RECEIVED}}


def cost_columns(cost: str) -> list[str]:
    """The money columns `--cost` shows."""
    return ["billed", "effective", "list", "savings"] if cost == "all" else [cost]


def _amount(row: Row, column: str) -> Decimal:
    return row.savings if column == "savings" else row.cost(column)


def split(row: Row) -> list[Decimal]:
    """Own cost then each received share, in RECEIVED_FIELDS order."""
    return [row.own, *(row.received.get(figure, Decimal(0)) for figure in figures.RECEIVED)]


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 6) + 0.0


def format_table(rows: list[Row], *, keys: list[str], cost: str, title: str) -> str:
    """An aligned terminal table with a TOTAL line per currency."""
    money = cost_columns(cost)
    header = (*(k.upper() for k in keys), "CURRENCY", *(c.upper() for c in money),
              *(figures.RECEIVED_HEADERS[f].upper() for f in RECEIVED_FIELDS),
              *(figures.HEADERS[f].upper() for f in figures.SHARES))  # fmt: skip

    def cells(row: Row) -> tuple[str, ...]:
        return (*row.group, row.currency, *(figures.money_text(_amount(row, c), row.currency) for c in money),
                *(figures.money_text(v, row.currency) for v in split(row)),
                *(figures.percent_text(row.share(f)) for f in figures.SHARES))  # fmt: skip

    body = [cells(r) for r in rows]
    foot = [cells(r) for r in totals(rows)]
    width = len(keys) + 1
    widths = [max(len(line[i]) for line in (header, *body, *foot)) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        out = [cell.ljust(w) for cell, w in zip(line[:width], widths, strict=False)]
        out += [cell.rjust(w) for cell, w in zip(line[width:], widths[width:], strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([title, "", fmt(header), rule, *map(fmt, body), rule, *map(fmt, foot)]) + "\n"


def format_csv(rows: list[Row], *, keys: list[str], cost: str) -> str:
    money = cost_columns(cost)
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow([*keys, "currency", *money, *RECEIVED_FIELDS.values(), *SHARE_FIELDS.values()])
    for r in rows:
        shares = [_ratio(r.share(f)) for f in figures.SHARES]
        writer.writerow(
            [*(csvsafe.cell(g) for g in r.group), r.currency,
             *(figures.money_text(_amount(r, c), r.currency) for c in money),
             *(figures.money_text(v, r.currency) for v in split(r)),
             *("" if s is None else s for s in shares)]
        )  # fmt: skip
    return sink.getvalue()


def _exact(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _json_row(row: Row, keys: list[str], money: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"group": dict(zip(keys, row.group, strict=True)), "currency": row.currency}
    for column in money:
        amount = _amount(row, column)
        out[column] = float(figures.money(amount, row.currency))
        out[f"{column}_exact"] = _exact(amount)
    for name, amount in zip(RECEIVED_FIELDS.values(), split(row), strict=True):
        out[name] = float(figures.money(amount, row.currency))
        out[f"{name}_exact"] = _exact(amount)
    for figure, name in SHARE_FIELDS.items():
        out[name] = _ratio(row.share(figure))
    return out


def format_json(rows: list[Row], *, keys: list[str], cost: str, window: str, days: list[date]) -> str:
    money = cost_columns(cost)
    document = {
        "by": keys,
        "window": window,
        "from": days[0].isoformat() if days else None,
        "to": days[-1].isoformat() if days else None,
        "cost": cost,
        "shares": {name: figures.HEADERS[figure] for figure, name in SHARE_FIELDS.items()},
        "received": {name: figures.RECEIVED_HEADERS[figure] for figure, name in RECEIVED_FIELDS.items()},
        "received_cost": "billed" if cost == "all" else cost,
        "rows": [_json_row(r, keys, money) for r in rows],
        "totals": [_json_row(r, keys, money) for r in totals(rows)],
    }
    return json.dumps(document, indent=2) + "\n"
