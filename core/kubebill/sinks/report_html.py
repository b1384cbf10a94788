"""The self-contained HTML report: inline CSS, inline SVG charts, one inline script; nothing from the network.

In the report's main currency: Kubernetes cost first (tiles, then per day by component), spend outside
clusters in its own chart, a trend per `--by` group, the largest groups, the shares of the cluster cost
per day, each group's own cost and received shares (idle, shared, external) as a stacked bar, month-to-date
against the namespaces' budgets (kubebill.budgets) with the month-end forecast, savings by pricing category,
a "billed vs effective vs list" explainer with this report's numbers, then the table by group. Every
figure is `kubebill.figures`'. The inline script checks every chart drew at least one mark and records
the outcome in `<body data-charts="ok|empty:…">` and the title, so a headless browser can verify.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

import duckdb
import pyarrow as pa

from kubebill import budgets, figures
from kubebill.sinks import costs, svg
from kubebill.sinks.report import OTHER, Row, group_costs, key_names, key_sql, parse_by, totals
from kubebill.sinks.report_format import split

TREND_GROUPS = 6
TOP_GROUPS = 10

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.sub{color:#666;margin-bottom:16px}.tiles{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:8px}
.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:130px}
.tile.main{border-color:#4e79a7;border-width:2px}
.tile b{display:block;font-size:18px}.tile span{color:#666;font-size:12px}
.grid2{margin-top:16px;display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px}
.explain{background:#fff;border:1px solid #ddd;border-radius:6px;padding:4px 16px;margin-top:16px;max-width:980px}
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
      if (box.width > 0 || box.height > 0) { drawn++; }
    }
    charts[i].setAttribute('data-drawn', String(drawn));
    if (drawn === 0) { empty.push(charts[i].id); }
  }
  var state = charts.length === 0 ? 'empty:none' : (empty.length ? 'empty:' + empty.join(',') : 'ok');
  document.body.setAttribute('data-charts', state);
  document.title = document.title + (state === 'ok' ? ' [charts ok]' : ' [' + state + ']');
})();
"""


def _tile(label: str, value: str, *, main: bool = False) -> str:
    return f'<div class="tile{" main" if main else ""}"><span>{escape(label)}</span><b>{escape(value)}</b></div>'


def _table(rows: list[Row], keys: list[str]) -> str:
    columns = (
        *keys,
        "currency",
        "billed",
        "effective",
        "list",
        "savings",
        *(f"{figures.RECEIVED_HEADERS[f]} (billed)" for f in figures.RECEIVED_HEADERS),
        *(figures.HEADERS[f] for f in figures.SHARES),
    )
    head = "".join(f"<th>{escape(h)}</th>" for h in columns)
    body = []
    for r in [*rows, *totals(rows)]:
        money = [figures.money_text(v, r.currency, grouped=True) for v in (r.billed, r.effective, r.list, r.savings)]
        received = [figures.money_text(v, r.currency, grouped=True) for v in split(r)]
        cells = [*money, *received, *(figures.percent_text(r.share(f)) for f in figures.SHARES)]
        body.append(
            "<tr>"
            + "".join(f"<td>{escape(g)}</td>" for g in r.group)
            + f"<td>{escape(r.currency)}</td>"
            + "".join(f'<td class="n">{c}</td>' for c in cells)
            + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _card(heading: str, chart: str, has_data: bool) -> str:
    body = chart if has_data else f"<p class='sub'>Nothing to chart in this window ({escape(heading.lower())}).</p>"
    return f'<div class="card"><h2>{escape(heading)}</h2>{body}</div>'


def _series(rows: list[tuple[date, str, float]], days: list[date], names: list[str]) -> dict[str, list[float]]:
    values = {(d, n): v for d, n, v in rows}
    return {n: [values.get((d, n), 0.0) for d in days] for n in names}


def render_html(
    results: pa.Table,
    *,
    title: str = "kubebill cost report",
    by: str = "namespace",
    hash_pod_names: bool = False,
    budget_entries: list[budgets.Budget] | None = None,
) -> str:
    """One HTML document for RESULT rows (any number of days); the table and group charts follow `by`.

    `budget_entries`: the store's budgets file (kubebill.budgets.read); labels' budgets count without it."""
    if results.num_rows == 0:
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
            f"<body data-charts='none'><h1>{escape(title)}</h1><p>No results in this window.</p></body></html>"
        )
    keys = key_names(by)
    con = costs.connect(results.select([c for c in (*costs.PART_COLUMNS, "ServiceName") if c in results.column_names]))
    con.execute("SET TimeZone = 'UTC'")
    try:
        return _render(con, results, title=title, by=by, keys=keys, hashed=hash_pod_names,
                       entries=budget_entries or [])  # fmt: skip
    finally:
        con.close()


def _render(
    con: duckdb.DuckDBPyConnection,
    results: pa.Table,
    *,
    title: str,
    by: str,
    keys: list[str],
    hashed: bool,
    entries: list[budgets.Budget],
) -> str:
    currencies = con.execute(
        "SELECT coalesce(BillingCurrency, ''), sum(BilledCost) FROM results GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    currency = currencies[0][0]
    cur = f"coalesce(BillingCurrency, '') = '{currency.replace(chr(39), '')}'"
    day = "CAST(ChargePeriodStart AS DATE)"
    days: list[date] = [
        d for (d,) in con.execute(f"SELECT DISTINCT {day} FROM results WHERE {cur} AND ChargePeriodStart IS NOT NULL "
                                  "ORDER BY 1").fetchall()
    ]  # fmt: skip
    inside = "x_K8sCluster IS NOT NULL"

    component_rows = con.execute(
        f"SELECT {day}, component, sum(billed) FROM parts WHERE {cur} AND {inside} GROUP BY ALL"
    ).fetchall()
    components = [c for c in costs.COMPONENTS if any(r[1] == c for r in component_rows)]
    k8s_daily = svg.stacked_bars(
        "kubernetes-daily",
        "Kubernetes cost per day by component",
        days,
        _series(component_rows, days, components),
        currency=currency,
    )

    outside_rows = con.execute(
        f"""WITH s AS (SELECT coalesce(ServiceName, '(no service)') AS service, sum(BilledCost) AS v FROM results
                       WHERE {cur} AND NOT ({inside}) GROUP BY 1),
                 top AS (SELECT service FROM s ORDER BY v DESC, service LIMIT 5)
            SELECT {day}, CASE WHEN coalesce(ServiceName, '(no service)') IN (SELECT service FROM top)
                               THEN coalesce(ServiceName, '(no service)') ELSE 'other services' END, sum(BilledCost)
            FROM results WHERE {cur} AND NOT ({inside}) AND ChargePeriodStart IS NOT NULL GROUP BY ALL"""
    ).fetchall()
    services = sorted({r[1] for r in outside_rows}, key=lambda s: (s == "other services", s))
    outside_chart = svg.stacked_bars(
        "outside-daily",
        f"Spend {figures.HEADERS['outside']} per day by service",
        days,
        _series(outside_rows, days, services),
        currency=currency,
    )

    parsed = parse_by(by)
    group = " || ' / ' || ".join(key_sql(kind, key, hashed=hashed) for kind, key in parsed)
    # Kubernetes keys: the groups inside clusters (what is outside has its own chart)
    kubernetes = all(kind not in ("provider", "service") for kind, _ in parsed)
    scope = f"{cur} AND {inside}" if kubernetes else cur
    group_rows = con.execute(
        f"""WITH g AS (SELECT {group} AS grp, {day} AS d, BilledCost FROM results WHERE {scope}),
                 top AS (SELECT grp FROM g GROUP BY grp ORDER BY sum(BilledCost) DESC, grp LIMIT {TREND_GROUPS})
            SELECT d, CASE WHEN grp IN (SELECT grp FROM top) THEN grp ELSE '{OTHER}' END, sum(BilledCost)
            FROM g WHERE d IS NOT NULL GROUP BY ALL"""
    ).fetchall()
    totals_by_group: dict[str, float] = {}
    for _, name, value in group_rows:
        totals_by_group[name] = totals_by_group.get(name, 0.0) + float(value or 0)
    names = sorted(totals_by_group, key=lambda n: (n == OTHER, -totals_by_group[n], n))
    trend_series: dict[str, list[float | None]] = {
        n: [float(v) for v in values] for n, values in _series(group_rows, days, names).items()
    }
    where = " in clusters" if kubernetes else ""
    trend = svg.lines("group-trend", f"Billed cost per day by {by}{where}", days, trend_series, unit=currency)

    rows = group_costs(results, by, hash_pod_names=hashed)
    top_rows = [
        r for r in rows if r.currency == currency and not (kubernetes and r.group[0] == figures.OUTSIDE_CLUSTERS)
    ][:TOP_GROUPS]
    top_chart = svg.horizontal_bars(
        "top-groups",
        f"Largest {by} groups by billed cost",
        [(" / ".join(r.group), float(r.billed)) for r in top_rows],
        currency=currency,
    )

    received_rows = top_rows[:TOP_GROUPS]
    received_chart = svg.stacked_horizontal_bars(
        "own-received",
        f"Own cost and received shares by {by} (billed)",
        [(" / ".join(r.group), [float(v) for v in split(r)]) for r in received_rows],
        list(figures.RECEIVED_HEADERS.values()),
        currency=currency,
    )

    share_rows = con.execute(
        f"SELECT {day}, {', '.join(figures.share_sql(f) for f in figures.SHARES)} FROM results "
        f"WHERE {cur} AND {inside} AND ChargePeriodStart IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    by_day = {r[0]: r[1:] for r in share_rows}
    share_chart = svg.lines(
        "cluster-shares",
        "Shares of the cluster cost per day",
        days,
        {
            figures.HEADERS[f]: [None if by_day.get(d, (None,) * 3)[i] is None else float(by_day[d][i]) for d in days]
            for i, f in enumerate(figures.SHARES)
        },
        unit="%",
    )

    savings = con.execute(
        f"SELECT PricingCategory, sum(ListCost) - sum(EffectiveCost) FROM results WHERE {cur} "
        "GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    savings_items = [(costs.pricing_category(p), float(v or 0)) for p, v in savings]
    merged: dict[str, float] = {}
    for name, value in savings_items:
        merged[name] = merged.get(name, 0.0) + value
    savings_chart = svg.horizontal_bars(
        "savings", f"{figures.HEADERS['savings']} by pricing category", list(merged.items()), currency=currency
    )

    total = con.execute(
        f"""SELECT sum(BilledCost), sum(EffectiveCost), sum(ListCost), {figures.cluster_cost_sql()},
                   {figures.savings_sql()}, {", ".join(figures.share_sql(f) for f in figures.SHARES)}
            FROM results WHERE {cur}"""
    ).fetchone()
    assert total is not None
    billed, effective, list_cost, in_clusters, saved = (float(v or 0) for v in total[:5])
    shares = dict(zip(figures.SHARES, total[5:], strict=True))

    month_card, month_tiles = _month(con, cur, inside, day, days, currency, entries)

    def amount(value: float) -> str:
        return f"{figures.money_text(value, currency, grouped=True)} {currency}"

    tiles = "".join(
        [
            _tile(f"Kubernetes ({figures.HEADERS['cluster']}, billed)", amount(in_clusters), main=True),
            *(_tile(figures.HEADERS[f], figures.percent_text(shares[f]) or "–") for f in figures.SHARES),
            _tile(figures.HEADERS["outside"], amount(billed - in_clusters)),
            _tile("whole bill (billed)", amount(billed)),
            _tile(figures.HEADERS["savings"], amount(saved)),
            *month_tiles,
        ]
    )
    period = f"{len(days)} day(s) of results, {days[0]} to {days[-1]}" if days else ""
    others = ", ".join(c for c, _ in currencies[1:])
    note = f" Charts show {escape(currency)}; also billed in {escape(others)} (see the table)." if others else ""
    explainer = _explainer(billed, effective, list_cost, saved, currency)
    cards = "".join(
        [
            _card("Kubernetes cost per day", k8s_daily, bool(component_rows)),
            _card(f"Trend by {by}{where}", trend, bool(group_rows)),
            _card(f"Largest groups by {by}{where}", top_chart, bool(top_rows)),
            _card(f"Own cost and received shares by {by}{where}", received_chart, bool(received_rows)),
            _card("Shares of the cluster cost", share_chart, bool(share_rows)),
            month_card,
            _card(f"Spend {figures.HEADERS['outside']}", outside_chart, bool(outside_rows)),
            _card("Savings", savings_chart, bool(savings_items)),
        ]
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><div class='sub'>{escape(period)}.{note}</div>"
        f"<div class='tiles'>{tiles}</div><div class='grid2'>{cards}</div>{explainer}"
        f"<h2>Cost by {escape(', '.join(keys))}</h2>{_table(rows, keys)}<script>{_CHECK}</script></body></html>"
    )


def _month(
    con: duckdb.DuckDBPyConnection,
    cur: str,
    inside: str,
    day: str,
    days: list[date],
    currency: str,
    entries: list[budgets.Budget],
) -> tuple[str, list[str]]:
    """The month-to-date card (Kubernetes cost of the newest month, its namespaces' budgets and forecast) and
    its tiles."""
    newest = days[-1]
    first = newest.replace(day=1)
    month_end = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    daily = dict(
        con.execute(
            f"SELECT {day}, sum(BilledCost) FROM results WHERE {cur} AND {inside} AND {day} >= DATE '{first}' "
            "GROUP BY 1"
        ).fetchall()
    )
    month_days = [d for d in days if d >= first]
    running, cumulative = 0.0, []
    for d in month_days:
        running += float(daily.get(d) or 0)
        cumulative.append(running)
    forecast = figures.month_end_forecast(running, float(daily.get(newest) or 0), newest)
    resolved = budgets.resolve(con, "results", entries).to_pylist()
    budget = sum(r["monthly_budget_cost"] for r in resolved if r["currency"] == currency) or None
    extra = {"month-end forecast": [(newest, running), (month_end, forecast)]}
    if budget:
        extra["budget"] = [(first, budget), (month_end, budget)]
    partial = "" if days[0] <= first else f" (from {days[0]}, the start of this report)"
    chart = svg.lines(
        "month-to-date",
        f"Kubernetes month to date{partial}, forecast and budget",
        month_days,
        {"month to date": list(cumulative)},
        unit=currency,
        extra=extra,
    )

    def amount(value: float) -> str:
        return f"{figures.money_text(value, currency, grouped=True)} {currency}"

    tiles = [_tile(f"month to date ({newest:%b})", amount(running)), _tile("month-end forecast", amount(forecast))]
    if budget:
        tiles.append(_tile("monthly budgets (namespaces)", amount(budget)))
    return _card(f"Month to date vs budget, {newest:%B %Y}", chart, bool(month_days)), tiles


def _explainer(billed: float, effective: float, list_cost: float, saved: float, currency: str) -> str:
    def amount(value: float) -> str:
        return f"<b>{escape(figures.money_text(value, currency, grouped=True))} {escape(currency)}</b>"

    return (
        "<div class='explain'><h2>Billed, effective and list cost</h2><ul>"
        f"<li>Billed {amount(billed)} (FOCUS <code>BilledCost</code>): what the invoices charge for these days, "
        "upfront purchases and fees on the day they were bought.</li>"
        f"<li>Effective {amount(effective)} (<code>EffectiveCost</code>): the cost of the usage, with upfront "
        "purchases and commitments spread over the hours they cover and discounts applied.</li>"
        f"<li>List {amount(list_cost)} (<code>ListCost</code>): the same usage at public on-demand prices.</li>"
        f"<li>{escape(figures.HEADERS['savings'])}: {amount(saved)}, what spot, commitments and discounts saved."
        "</li></ul></div>"
    )
