"""Writes the Grafana dashboards of kubebill's metrics (the JSON files next to this script) and the
Prometheus rules (infra/alerts/kubebill.rules.yml), every figure as `kubebill.figures` defines it.

Regenerate after an edit: `.venv/bin/python infra/dashboards/build.py` (a test checks the files match).
Amounts are divided by `kubebill_cost_window_seconds`, so every panel works in both metrics modes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubebill import figures

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'tenant_id=~"$tenant_id", cluster=~"$cluster", currency="$currency"'
WINDOW = "on (job, instance, tenant_id) group_left () kubebill_cost_window_seconds"


def per_day(metric: str, matchers: str, by: str = "") -> str:
    """Daily amount of a kubebill cost family, summed `by` the given labels."""
    inner = f"{metric}{{{SEL}, {matchers}}} / {WINDOW}" if matchers else f"{metric}{{{SEL}}} / {WINDOW}"
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} ({inner}) * 86400"


def variable(name: str, query: str, *, multi: bool = True, include_all: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": include_all,
        "allValue": ".*",
        "current": {},
    }


def templating(*extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "current": {}},
            variable("tenant_id", "label_values(kubebill_cost_window_seconds, tenant_id)"),
            variable("cluster", 'label_values(kubebill_cluster_cost{tenant_id=~"$tenant_id"}, cluster)'),
            variable(
                "currency",
                'label_values(kubebill_cluster_cost{tenant_id=~"$tenant_id"}, currency)',
                multi=False,
                include_all=False,
            ),
            {
                "name": "cost_type",
                "type": "custom",
                "query": "billed,effective,list",
                "current": {"text": "billed", "value": "billed"},
                "options": [
                    {"text": v, "value": v, "selected": v == "billed"} for v in ("billed", "effective", "list")
                ],
            },
            *extra,
        ]
    }


def panel(
    kind: str, title: str, exprs: list[tuple[str, str]], x: int, y: int, w: int = 12, h: int = 8, unit: str = "short"
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit, "decimals": 2}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "values": kind in ("bargauge", "table")}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "instant": kind in ("bargauge", "table"),
            }
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], *extra_vars: dict[str, Any]) -> dict[str, Any]:
    for index, item in enumerate(panels, start=1):
        item["id"] = index
    return {
        "uid": uid,
        "title": title,
        "tags": ["kubebill", "cost"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-30d", "to": "now"},
        "refresh": "15m",
        "templating": templating(*extra_vars),
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["kubebill"], "asDropdown": True, "title": "kubebill"}],
        "panels": panels,
    }


CT = 'cost_type="$cost_type"'
TOTAL = f'component="total", {CT}'
NOT_SENTINEL = 'namespace!~"__.*__"'
NS = 'namespace=~"$namespace"'
NAMESPACE_VAR = variable(
    "namespace", 'label_values(kubebill_namespace_cost{tenant_id=~"$tenant_id", cluster=~"$cluster"}, namespace)'
)
NS_PER_DAY = per_day("kubebill_namespace_cost", f"{TOTAL}, {NOT_SENTINEL}", "cluster, namespace")
PER_MONTH = f"{figures.HOURS_PER_MONTH} / 24"  # days in the monthly run-rate (figures.DAYS_PER_MONTH)


def share(figure: str) -> str:
    return figures.promql_share(figure, f"{SEL}, {CT}")


def overview() -> dict[str, Any]:
    return dashboard(
        "kubebill-overview",
        "kubebill / Overview",
        [
            panel("stat", "Spend per day", [(per_day("kubebill_cluster_cost", TOTAL), "spend")], 0, 0, 6, 4),
            panel(
                "stat",
                "Month to date",
                [(f"sum (kubebill_cluster_month_to_date_cost{{{SEL}, {CT}}})", "month to date")],
                6,
                0,
                6,
                4,
            ),
            panel(
                "stat",
                figures.HEADERS["idle"],
                [(share("idle"), "idle")],
                12,
                0,
                4,
                4,
                "percentunit",
            ),
            panel(
                "stat",
                figures.HEADERS["unallocated"],
                [(share("unallocated"), "unallocated")],
                16,
                0,
                4,
                4,
                "percentunit",
            ),
            panel(
                "stat",
                "Savings per day (list − effective)",
                [(per_day("kubebill_namespace_savings_cost", ""), "savings")],
                20,
                0,
                4,
                4,
            ),
            panel(
                "timeseries",
                "Spend trend by cluster (per day)",
                [(per_day("kubebill_cluster_cost", TOTAL, "cluster"), "{{cluster}}")],
                0,
                4,
                12,
                9,
            ),
            panel(
                "bargauge",
                "Top namespaces (per day)",
                [
                    (
                        f"topk(10, {NS_PER_DAY})",
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                12,
                4,
                12,
                9,
            ),
            panel(
                "timeseries",
                "Spend per day by component",
                [(per_day("kubebill_cluster_cost", f'component!="total", {CT}', "component"), "{{component}}")],
                0,
                13,
                12,
                8,
            ),
            panel(
                "timeseries",
                "Spend per day by allocation kind",
                [(per_day("kubebill_cluster_allocation_cost", CT, "allocation"), "{{allocation}}")],
                12,
                13,
                12,
                8,
            ),
            panel(
                "stat",
                "Last merge succeeded",
                [('min (kubebill_last_merge_success{tenant_id=~"$tenant_id"})', "success")],
                0,
                21,
                6,
                4,
                "bool_yes_no",
            ),
            panel(
                "stat",
                "Time since last merge",
                [('time() - max (kubebill_last_merge_timestamp_seconds{tenant_id=~"$tenant_id"})', "age")],
                6,
                21,
                6,
                4,
                "s",
            ),
            panel(
                "stat",
                "Merge failures (1d)",
                [('sum (increase(kubebill_merge_failures_total{tenant_id=~"$tenant_id"}[1d]))', "failures")],
                12,
                21,
                6,
                4,
            ),
            panel(
                "stat",
                "Bad inputs and events",
                [
                    ('sum (kubebill_bad_inputs_total{tenant_id=~"$tenant_id"})', "bad inputs"),
                    ('sum (kubebill_bad_events_total{tenant_id=~"$tenant_id"})', "bad events"),
                ],
                18,
                21,
                6,
                4,
            ),
        ],
    )


def namespace() -> dict[str, Any]:
    return dashboard(
        "kubebill-namespace",
        "kubebill / Namespace",
        [
            panel(
                "timeseries",
                "Namespace spend per day by component",
                [
                    (
                        per_day("kubebill_namespace_cost", f'{NS}, component!="total", {CT}', "namespace, component"),
                        "{{namespace}} {{component}}",
                    )
                ],
                0,
                0,
                12,
                8,
            ),
            panel(
                "stat",
                "Monthly run-rate vs budget",
                [
                    (
                        per_day("kubebill_namespace_cost", f"{NS}, {TOTAL}", "namespace") + f" * {PER_MONTH}",
                        "{{namespace}} run-rate",
                    ),
                    (
                        f"sum by (namespace) (kubebill_namespace_monthly_budget_cost{{{SEL}, {NS}}})",
                        "{{namespace}} budget",
                    ),
                ],
                12,
                0,
                12,
                8,
            ),
            panel(
                "table",
                "Top pods (per day)",
                [(f"topk(50, {per_day('kubebill_pod_cost', f'{NS}, {TOTAL}', 'namespace, pod')})", "{{pod}}")],
                0,
                8,
                12,
                10,
            ),
            panel(
                "bargauge",
                "Pod spend by component (per day)",
                [
                    (
                        per_day("kubebill_pod_cost", f'{NS}, component!="total", {CT}', "pod, component"),
                        "{{pod}} {{component}}",
                    )
                ],
                12,
                8,
                12,
                10,
            ),
            panel(
                "table",
                "Persistent volumes (per day)",
                [(per_day("kubebill_pv_cost", f"{NS}, {CT}", "namespace, persistentvolume"), "{{persistentvolume}}")],
                0,
                18,
                12,
                8,
            ),
            panel(
                "timeseries",
                "Efficiency",
                [
                    (
                        f'kubebill_namespace_efficiency_ratio{{tenant_id=~"$tenant_id", cluster=~"$cluster", {NS}}}',
                        "{{namespace}} {{resource}}",
                    )
                ],
                12,
                18,
                12,
                8,
                "percentunit",
            ),
            panel(
                "timeseries",
                "Own cost and received shares (per day)",
                [
                    (
                        per_day("kubebill_namespace_origin_cost", f"{NS}, {CT}", "namespace, origin"),
                        "{{namespace}} {{origin}}",
                    )
                ],
                0,
                26,
                24,
                8,
            ),
        ],
        NAMESPACE_VAR,
    )


def efficiency() -> dict[str, Any]:
    eff = 'tenant_id=~"$tenant_id", cluster=~"$cluster"'
    return dashboard(
        "kubebill-efficiency",
        "kubebill / Efficiency",
        [
            panel(
                "timeseries",
                "Cluster efficiency (usage / request)",
                [(f"kubebill_cluster_efficiency_ratio{{{eff}}}", "{{cluster}} {{resource}}")],
                0,
                0,
                12,
                8,
                "percentunit",
            ),
            panel(
                "bargauge",
                "Least efficient namespaces (total)",
                [
                    (
                        f'bottomk(15, kubebill_namespace_efficiency_ratio{{{eff}, resource="total", {NOT_SENTINEL}}})',
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                12,
                0,
                12,
                8,
                "percentunit",
            ),
            panel(
                "bargauge",
                "Unused requested spend per day (cost × (1 − efficiency))",
                [
                    (
                        "topk(15, sum by (job, instance, tenant_id, cluster, namespace) "
                        f"(kubebill_namespace_cost{{{SEL}, {TOTAL}}} / {WINDOW}) * 86400 "
                        "* on (job, instance, tenant_id, cluster, namespace) group_left () "
                        f'(1 - kubebill_namespace_efficiency_ratio{{{eff}, resource="total"}}))',
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                0,
                8,
                12,
                9,
            ),
            panel(
                "timeseries",
                "Idle spend per day by cluster",
                [(per_day("kubebill_cluster_cost", f'component="idle", {CT}', "cluster"), "{{cluster}}")],
                12,
                8,
                12,
                9,
            ),
            panel(
                "table",
                "Most expensive nodes (per day)",
                [(f"topk(20, {per_day('kubebill_node_cost', CT, 'cluster, node, spot')})", "{{node}}")],
                0,
                17,
                24,
                9,
            ),
            panel(
                "bargauge",
                "Allocation export against the cloud's own split (node lines, effective; + = export gives more)",
                [
                    (
                        f"topk(20, abs(kubebill_allocation_source_difference_ratio{{{eff}}})) "
                        f"* on (job, instance, tenant_id, cluster, namespace, currency) group_left () "
                        f"sgn(kubebill_allocation_source_difference_ratio{{{eff}}})",
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                0,
                26,
                24,
                9,
                "percentunit",
            ),
        ],
    )


def savings() -> dict[str, Any]:
    return dashboard(
        "kubebill-savings",
        "kubebill / Spot and commitment savings",
        [
            panel(
                "timeseries",
                "Savings per day by pricing category",
                [(per_day("kubebill_namespace_savings_cost", "", "pricing_category"), "{{pricing_category}}")],
                0,
                0,
                12,
                8,
            ),
            panel(
                "stat",
                "Savings rate (1 − effective / list)",
                [
                    (
                        f'1 - sum (kubebill_cluster_cost{{{SEL}, component="total", cost_type="effective"}}) '
                        f'/ sum (kubebill_cluster_cost{{{SEL}, component="total", cost_type="list"}})',
                        "savings rate",
                    )
                ],
                12,
                0,
                6,
                8,
                "percentunit",
            ),
            panel(
                "timeseries",
                "Billed, effective and list cost per day",
                [(per_day("kubebill_cluster_cost", 'component="total"', "cost_type"), "{{cost_type}}")],
                18,
                0,
                6,
                8,
            ),
            panel(
                "bargauge",
                "Spot savings by namespace (per day)",
                [
                    (
                        "topk(10, "
                        + per_day("kubebill_namespace_savings_cost", 'pricing_category="spot"', "cluster, namespace")
                        + ")",
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                0,
                8,
                12,
                9,
            ),
            panel(
                "bargauge",
                "Commitment savings by namespace (per day)",
                [
                    (
                        "topk(10, "
                        + per_day(
                            "kubebill_namespace_savings_cost", 'pricing_category="committed"', "cluster, namespace"
                        )
                        + ")",
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                12,
                8,
                12,
                9,
            ),
        ],
    )


def forecast() -> dict[str, Any]:
    mtd = f"kubebill_cluster_month_to_date_cost{{{SEL}, {CT}}}"
    left = "scalar(days_in_month() - day_of_month())"
    run_rate = (
        f"sum by (cluster) (kubebill_cluster_month_to_date_cost{{{SEL}, {CT}}}) + "
        f"{per_day('kubebill_cluster_cost', TOTAL, 'cluster')} * {left}"
    )
    return dashboard(
        "kubebill-forecast",
        "kubebill / Month-end forecast",
        [
            panel("stat", "Month-end forecast (run-rate)", [(f"sum ({run_rate})", "forecast")], 0, 0, 8, 5),
            panel("stat", "Month to date", [(f"sum ({mtd})", "month to date")], 8, 0, 8, 5),
            panel(
                "stat",
                "Month-end forecast (linear trend of month to date)",
                [(f"sum (predict_linear({mtd}[7d], {left} * 86400))", "trend")],
                16,
                0,
                8,
                5,
            ),
            panel(
                "timeseries",
                "Forecast by cluster",
                [
                    (run_rate, "{{cluster}} run-rate"),
                    (f"sum by (cluster) (predict_linear({mtd}[7d], {left} * 86400))", "{{cluster}} trend"),
                ],
                0,
                5,
                24,
                9,
            ),
            panel(
                "bargauge",
                "Namespaces: monthly run-rate",
                [
                    (
                        f"topk(15, {NS_PER_DAY} * {PER_MONTH})",
                        "{{cluster}}/{{namespace}}",
                    )
                ],
                0,
                14,
                24,
                9,
            ),
        ],
    )


DASHBOARDS = {
    "kubebill-overview.json": overview,
    "kubebill-namespace.json": namespace,
    "kubebill-efficiency.json": efficiency,
    "kubebill-savings.json": savings,
    "kubebill-forecast.json": forecast,
}


def render(name: str) -> str:
    return json.dumps(DASHBOARDS[name](), indent=2) + "\n"


RULES = HERE.parent / "alerts" / "kubebill.rules.yml"
IDLE_ALERT_SHARE = 0.25
_PER_HOUR = "/ on (job, instance, tenant_id) group_left () kubebill_cost_window_seconds * 3600"
_CLUSTER = "job, instance, tenant_id, cluster, currency, cost_type"


def _block(text: str, indent: int) -> str:
    return "\n".join(" " * indent + line for line in text.splitlines())


def rules() -> str:
    """The Prometheus rule file (recording rules of every share figure, then the alerts)."""
    month = figures.HOURS_PER_MONTH
    recording = [
        ("kubebill:namespace_cost:hourly", f'kubebill_namespace_cost{{component="total"}}\n  {_PER_HOUR}'),
        (
            "kubebill:namespace_cost:monthly_run_rate",
            f'kubebill_namespace_cost{{component="total"}}\n  {_PER_HOUR} * {month}',
        ),
    ]
    for figure in figures.SHARES:
        expr = figures.promql_share(figure, "", by=_CLUSTER)
        recording.append((f"kubebill:cluster_{figure}:share", expr.replace(" / ", "\n  / ")))
    idle = figures.promql_share("idle", 'cost_type="billed"', by="job, instance, tenant_id, cluster, currency")
    lines = [
        "# Generated by infra/dashboards/build.py from kubebill.figures (do not edit; a test checks it matches).",
        "# Amounts are per window; dividing by kubebill_cost_window_seconds makes them per second in both",
        "# KUBEBILL_METRICS_MODE=total and =rate. Shares are of the cluster cost (kubebill.figures). Budgets come",
        "# from config/budgets.yaml in the store or the namespace's `kubebill.io/monthly-budget` label",
        "# (kubebill.budgets; kubebill_namespace_monthly_budget_cost).",
        "# Check: promtool check rules infra/alerts/kubebill.rules.yml",
        "groups:",
        "  - name: kubebill-recording",
        "    rules:",
    ]
    for name, expr in recording:
        lines += [f"      - record: {name}", "        expr: |", _block(expr, 10)]
    over_budget = (
        'kubebill_namespace_cost{component="total", cost_type="effective"}\n'
        f"  {_PER_HOUR} * {month}\n"
        "> on (job, instance, tenant_id, cluster, namespace, currency) group_left ()\n"
        "  kubebill_namespace_monthly_budget_cost"
    )
    alerts = [
        (
            "KubebillNamespaceOverBudget",
            over_budget,
            "1h",
            "warning",
            "Namespace {{ $labels.namespace }} in {{ $labels.cluster }} runs at "
            '{{ $value | printf \\"%.2f\\" }} {{ $labels.currency }} a month, over its budget',
            f"Monthly run-rate ({month} h) of the newest day's effective cost is above its monthly budget "
            "(config/budgets.yaml in the store, else the namespace's kubebill.io/monthly-budget label).",
        ),
        (
            "KubebillIdleShareHigh",
            f"{idle.replace(' / ', chr(10) + '  / ')}\n> {IDLE_ALERT_SHARE}",
            "6h",
            "info",
            "{{ $value | humanizePercentage }} of cluster {{ $labels.cluster }}'s billed cost is idle capacity",
            f"{figures.HEADERS['idle']} above {IDLE_ALERT_SHARE:.0%} for the newest day; consider right-sizing nodes.",
        ),
        (
            "KubebillMergeStale",
            "time() - kubebill_last_merge_timestamp_seconds > 2 * 86400",
            "30m",
            "warning",
            "kubebill has not merged for {{ $value | humanizeDuration }}",
            "No successful or failed merge in two days: check the blob-created trigger and the catch-up timer.",
        ),
        (
            "KubebillMergeFailing",
            "(kubebill_last_merge_success == 0 and on (job, instance, tenant_id) kubebill_merges_total > 0)\n"
            "or increase(kubebill_merge_failures_total[1h]) > 0",
            "15m",
            "critical",
            "kubebill merges are failing",
            "The last merge failed or merges failed in the last hour; the merge function's logs name the bill line "
            "or input.",
        ),
    ]
    lines += ["  - name: kubebill-alerts", "    rules:"]
    for name, expr, for_, severity, summary, description in alerts:
        lines += [
            f"      - alert: {name}",
            "        expr: |",
            _block(expr, 10),
            f"        for: {for_}",
            "        labels:",
            f"          severity: {severity}",
            "        annotations:",
            f'          summary: "{summary}"',
            f'          description: "{description}"',
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for file_name in DASHBOARDS:
        (HERE / file_name).write_text(render(file_name), encoding="utf-8")
        print(HERE / file_name)
    RULES.write_text(rules(), encoding="utf-8")
    print(RULES)
