"""The self-contained HTML report: inline CSS, inline SVG charts, one inline script; nothing from the network.

Charts (billed cost in the report's main currency): daily cost by component (and outside clusters), top
namespaces, idle and unallocated share of cluster cost per day, savings (list − effective) by pricing
category; then the table by group. The inline script checks every chart drew at least one mark and
records the outcome in `<body data-charts="ok|empty:…">` and the title, so a headless browser can verify.
"""

from __future__ import annotations

from html import escape

import pyarrow as pa

from kubebill import figures
from kubebill.model import SENTINELS
from kubebill.sinks import costs, svg
from kubebill.sinks.report import Row, group_costs, key_names, totals

_SENTINEL_SQL = ", ".join(f"'{name}'" for name in sorted(SENTINELS))

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.sub{color:#666;margin-bottom:16px}.tiles{display:flex;gap:12px;flex-wrap:wrap}
.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:130px}
.tile b{display:block;font-size:18px}.tile span{color:#666;font-size:12px}
.grid2{margin-top:16px;display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px}
svg .axis{font-size:11px;fill:#555}svg .grid{stroke:#eee}
table{border-collapse:collapse;background:#fff;font-size:13px}th,td{padding:4px 10px;border-bottom:1px solid #eee}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{text-align:left;background:#f0f0f0}
"""

_CHECK = """
(function () {
  var empty = [];
  var charts = document.querySelectorAll('svg.chart');
  for (var i = 0; i < charts.length; i++) {
    var marks = charts[i].querySelectorAll('.mark'), drawn = 0;
    for (var j = 0; j < marks.length; j++) {
      var box = marks[j].getBBox();
      if (box.width > 0 && box.height > 0) { drawn++; }
    }
    if (drawn === 0) { empty.push(charts[i].id); }
  }
  var state = charts.length === 0 ? 'empty:none' : (empty.length ? 'empty:' + empty.join(',') : 'ok');
  document.body.setAttribute('data-charts', state);
  document.title = document.title + (state === 'ok' ? ' [charts ok]' : ' [' + state + ']');
})();
"""


def _tile(label: str, value: str) -> str:
    return f'<div class="tile"><span>{escape(label)}</span><b>{escape(value)}</b></div>'


def _table(rows: list[Row], keys: list[str]) -> str:
    columns = (
        *keys,
        "currency",
        "billed",
        "effective",
        "list",
        "savings",
        *(figures.HEADERS[f] for f in figures.SHARES),
    )
    head = "".join(f"<th>{escape(h)}</th>" for h in columns)
    body = []
    for r in [*rows, *totals(rows)]:
        money = [figures.money_text(v, r.currency, grouped=True) for v in (r.billed, r.effective, r.list, r.savings)]
        cells = [*money, *(figures.percent_text(r.share(f)) for f in figures.SHARES)]
        body.append(
            "<tr>"
            + "".join(f"<td>{escape(g)}</td>" for g in r.group)
            + f"<td>{escape(r.currency)}</td>"
            + "".join(f'<td class="n">{c}</td>' for c in cells)
            + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(
    results: pa.Table, *, title: str = "kubebill cost report", by: str = "namespace", hash_pod_names: bool = False
) -> str:
    """One HTML document for RESULT rows (any number of days); the table groups them `by` (as the report)."""
    if results.num_rows == 0:
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
            f"<body data-charts='none'><h1>{escape(title)}</h1><p>No results in this window.</p></body></html>"
        )
    con = costs.connect(results.select(list(costs.PART_COLUMNS)))
    currencies = con.execute(
        "SELECT coalesce(BillingCurrency, ''), sum(BilledCost) FROM results GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    currency = currencies[0][0]
    cur = f"coalesce(BillingCurrency, '') = '{currency.replace(chr(39), '')}'"
    day_rows = con.execute(
        "SELECT strftime(ChargePeriodStart, '%Y-%m-%d') AS d, "
        "CASE WHEN x_K8sCluster IS NULL THEN 'not_kubernetes' ELSE component END, sum(billed) FROM parts "
        f"WHERE {cur} AND ChargePeriodStart IS NOT NULL GROUP BY ALL ORDER BY 1"
    ).fetchall()
    days = sorted({row[0] for row in day_rows})
    components = [c for c in (*costs.COMPONENTS, "not_kubernetes") if any(row[1] == c for row in day_rows)]
    by_day = {(d, c): float(v or 0) for d, c, v in day_rows}
    daily = svg.stacked_bars(
        "daily-cost",
        "Daily billed cost by component",
        days,
        {c: [by_day.get((d, c), 0.0) for d in days] for c in components},
    )
    top = con.execute(
        f"""SELECT x_K8sCluster || '/' || x_K8sNamespace, sum(BilledCost) FROM results
            WHERE {cur} AND x_K8sCluster IS NOT NULL AND x_K8sNamespace NOT IN ({_SENTINEL_SQL})
            GROUP BY 1 ORDER BY 2 DESC LIMIT 10"""
    ).fetchall()
    top_chart = svg.horizontal_bars("top-namespaces", "Top namespaces by billed cost", [(n, float(v)) for n, v in top])
    shares = con.execute(
        f"""SELECT strftime(ChargePeriodStart, '%Y-%m-%d'),
                   coalesce(sum(BilledCost) FILTER (WHERE x_K8sAllocation = 'idle'), 0) / nullif(sum(BilledCost), 0),
                   coalesce(sum(BilledCost) FILTER (WHERE x_K8sAllocation IN ('unallocated', 'unmounted')), 0)
                     / nullif(sum(BilledCost), 0)
            FROM results WHERE {cur} AND x_K8sCluster IS NOT NULL AND ChargePeriodStart IS NOT NULL
            GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    share_days = [row[0] for row in shares]
    share_chart = svg.percent_lines(
        "idle-share",
        "Idle and unallocated share of cluster cost",
        share_days,
        {
            "idle": [None if r[1] is None else float(r[1]) for r in shares],
            "unallocated": [None if r[2] is None else float(r[2]) for r in shares],
        },
    )
    savings = con.execute(
        f"""SELECT PricingCategory, sum(ListCost - EffectiveCost) FROM results
            WHERE {cur} GROUP BY 1 HAVING sum(ListCost - EffectiveCost) > 0 ORDER BY 2 DESC"""
    ).fetchall()
    savings_chart = svg.horizontal_bars(
        "savings",
        "Savings (list − effective) by pricing category",
        [(costs.pricing_category(p), float(v)) for p, v in savings],
    )
    total = con.execute(
        f"""SELECT sum(BilledCost), sum(EffectiveCost), sum(ListCost),
                   sum(BilledCost) FILTER (WHERE x_K8sCluster IS NOT NULL),
                   sum(BilledCost) FILTER (WHERE x_K8sAllocation = 'idle'),
                   sum(BilledCost) FILTER (WHERE x_K8sAllocation IN ('unallocated', 'unmounted'))
            FROM results WHERE {cur}"""
    ).fetchone()
    assert total is not None
    billed, effective, list_cost, in_clusters, idle, unallocated = (float(v or 0) for v in total)
    tiles = "".join(
        [
            _tile(f"billed ({currency})", f"{billed:,.2f}"),
            _tile("effective", f"{effective:,.2f}"),
            _tile("list", f"{list_cost:,.2f}"),
            _tile("savings", f"{list_cost - effective:,.2f}"),
            _tile("in clusters", f"{in_clusters:,.2f}"),
            _tile("idle share", f"{idle / in_clusters * 100:.1f}%" if in_clusters else "–"),
            _tile("unallocated share", f"{unallocated / in_clusters * 100:.1f}%" if in_clusters else "–"),
        ]
    )
    period = f"{len(days)} day(s) of results, {days[0]} to {days[-1]}" if days else ""
    others = ", ".join(c for c, _ in currencies[1:])
    note = f" Charts show {escape(currency)}; also billed in {escape(others)} (see the table)." if others else ""
    table = _table(group_costs(results, by, hash_pod_names=hash_pod_names), key_names(by))
    charts = (
        ("Daily cost by category", daily, bool(days)),
        ("Top namespaces", top_chart, bool(top)),
        ("Idle and unallocated share", share_chart, bool(share_days)),
        ("Savings", savings_chart, bool(savings)),
    )
    cards = "".join(
        f'<div class="card"><h2>{escape(heading)}</h2>'
        + (chart if has_data else f"<p class='sub'>Nothing to chart in this window ({escape(heading.lower())}).</p>")
        + "</div>"
        for heading, chart, has_data in charts
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><div class='sub'>{escape(period)}.{note}</div>"
        f"<div class='tiles'>{tiles}</div><div class='grid2'>{cards}</div>"
        f"<h2>Cost by {escape(by)}</h2>{table}<script>{_CHECK}</script></body></html>"
    )
