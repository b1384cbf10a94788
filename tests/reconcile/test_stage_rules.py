"""Each DESIGN §4 rule's stage run alone on tiny hand-written tables (the relations it reads, nothing else)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from kubebill.reconcile import engine
from kubebill.reconcile.engine import Options, run_stage

H0, H1, H2 = (
    "TIMESTAMPTZ '2025-06-17 00:00:00+00'",
    "TIMESTAMPTZ '2025-06-17 01:00:00+00'",
    "TIMESTAMPTZ '2025-06-17 02:00:00+00'",
)
AKS = "aks-cost-analysis-fraction"
COSTS = "BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity"
PARAMETERS: dict[str, object] = {
    "day_start": datetime(2025, 6, 17, tzinfo=UTC),
    "day_end": datetime(2025, 6, 18, tzinfo=UTC),
    "method": "opencost-list-cost",
    "shared_spread": "none",
    "allocation_source": "auto",
}
# The allocation row columns the split stages read, in this order for given().
ALLOCATION_ROW = (
    "ws, we, cluster, node, provider_id, namespace, controller_kind, controller, pod, container, labels, source, "
    "minutes, cpu_core_hours, cpu_core_request_average, cpu_core_usage_average, ram_byte_hours, "
    "ram_byte_request_average, ram_byte_usage_average, cpu_cost, ram_cost, gpu_cost, pv_cost, network_cost, "
    "load_balancer_cost, total_cost, pvs, load_balancers, fraction, split_bucket"
)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = engine.connect(Options())
    yield connection
    connection.close()


def given(con: duckdb.DuckDBPyConnection, name: str, columns: str, *rows: str) -> None:
    """The relation `name` with `columns`, from SQL row literals (decimal literals stored as DOUBLE, as the
    engine's columns are)."""
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES {', '.join(rows)}) t({columns})")
    for column, type_ in con.execute(f"SELECT name, type FROM pragma_table_info('{name}')").fetchall():
        if type_.startswith("DECIMAL"):
            con.execute(f'ALTER TABLE {name} ALTER "{column}" TYPE DOUBLE')


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    found = con.execute(query)
    names = [d[0] for d in found.description]
    return [dict(zip(names, r, strict=True)) for r in found.fetchall()]


def alloc(namespace: str, *, provider_id: str = "i-1", pvs: str = "NULL", lbs: str = "NULL", **kw: str) -> str:
    """One allocation_rows literal (a pod of node n1 in c1, 00:00-01:00 unless told)."""
    values = {
        "ws": H0, "we": H1, "cluster": "'c1'", "node": "'n1'", "provider_id": f"'{provider_id}'",
        "namespace": f"'{namespace}'", "controller_kind": "NULL", "controller": "NULL",
        "pod": f"'{namespace}-pod'" if not namespace.startswith("__") else f"'{namespace}'",
        "container": "'app'", "labels": "'{}'", "source": "'opencost'", "minutes": "60.0",
        "cpu_core_hours": "1.0", "cpu_core_request_average": "NULL", "cpu_core_usage_average": "NULL",
        "ram_byte_hours": "1.0", "ram_byte_request_average": "NULL", "ram_byte_usage_average": "NULL",
        "cpu_cost": "0.0", "ram_cost": "0.0", "gpu_cost": "0.0", "pv_cost": "0.0", "network_cost": "0.0",
        "load_balancer_cost": "0.0", "total_cost": "0.0", "pvs": pvs, "load_balancers": lbs,
        "fraction": "NULL", "split_bucket": "NULL",
    } | kw  # fmt: skip
    return "(" + ", ".join(values[c.strip()] for c in ALLOCATION_ROW.split(",")) + ")"


def test_node_rule_weights_pods_by_list_cost_and_idle_gets_no_fallback(con: duckdb.DuckDBPyConnection) -> None:
    given(
        con, "allocation_rows", ALLOCATION_ROW,
        alloc("web", cpu_cost="0.6", ram_cost="0.2"), alloc("db", cpu_cost="0.1", gpu_cost="0.1"),
        alloc("__idle__", cpu_cost="0.3", ram_cost="0.1"),
    )  # fmt: skip
    given(con, "node_keys", "cluster, node, key", "('c1', 'n1', 'i-1')")
    for stage in ("node_rows", "node_capacity", "node_splits"):
        run_stage(con, stage, PARAMETERS)
    found = rows(con, "SELECT namespace, kind, wc, wr, wg, f, list_cost FROM node_splits ORDER BY namespace")
    assert found == [
        {"namespace": "__idle__", "kind": "idle", "wc": 0.3, "wr": 0.1, "wg": 0.0, "f": 0.0, "list_cost": 0.4},
        {"namespace": "db", "kind": "workload", "wc": 0.1, "wr": 0.0, "wg": 0.1, "f": 60.0, "list_cost": 0.2},
        {"namespace": "web", "kind": "workload", "wc": 0.6, "wr": 0.2, "wg": 0.0, "f": 60.0, "list_cost": 0.8},
    ]


def test_node_rule_aws_split_cost_weighs_cpu_and_memory_9_to_1(con: duckdb.DuckDBPyConnection) -> None:
    given(
        con, "allocation_rows", ALLOCATION_ROW,
        alloc("web", cpu_core_request_average="3.0", cpu_core_usage_average="1.0", ram_byte_request_average="1.0",
              ram_byte_usage_average="4.0"),
        alloc("db", cpu_core_request_average="1.0", cpu_core_usage_average="1.0", ram_byte_request_average="4.0",
              ram_byte_usage_average="0.0"),
    )  # fmt: skip
    given(con, "node_keys", "cluster, node, key", "('c1', 'n1', 'i-1')")
    split_cost = PARAMETERS | {"method": "aws-split-cost"}
    for stage in ("node_rows", "node_capacity", "node_splits"):
        run_stage(con, stage, split_cost)
    found = rows(con, "SELECT namespace, round(wc, 9) AS wc, round(wr, 9) AS wr, method FROM node_splits ORDER BY 1")
    assert found == [
        {"namespace": "db", "wc": 0.225, "wr": 0.05, "method": "aws-split-cost"},
        {"namespace": "web", "wc": 0.675, "wr": 0.05, "method": "aws-split-cost"},
    ]


def test_a_view_stage_has_its_text_parameters_written_in_quoted(con: duckdb.DuckDBPyConnection) -> None:
    """node_splits is a view (read once): DuckDB's views bind no parameter, so $method is written in as a quoted
    literal, a quote in it doubled."""
    given(con, "allocation_rows", ALLOCATION_ROW, alloc("web", cpu_cost="0.6"))
    given(con, "node_keys", "cluster, node, key", "('c1', 'n1', 'i-1')")
    odd = PARAMETERS | {"method": "it's; DROP TABLE node_keys"}
    assert [run_stage(con, stage, odd) for stage in ("node_rows", "node_capacity", "node_splits")] == [
        "VIEW", "TABLE", "VIEW",
    ]  # fmt: skip
    assert rows(con, "SELECT namespace, method FROM node_splits") == [
        {"namespace": "web", "method": "it's; DROP TABLE node_keys"}
    ]
    assert rows(con, "SELECT count(*) AS n FROM node_keys") == [{"n": 1}]


def test_node_rule_idle_takes_the_rest_and_a_negative_rest_is_flagged(con: duckdb.DuckDBPyConnection) -> None:
    """matched_rows: ratio = weight / Σ weights of the line, every cost column scaled; an idle weight below zero
    (pods' list cost above the node's) counts as zero and flags the row."""
    given(con, "bill_lines", f"lid, {COSTS}",
          "(1, 'USD', 10.0, 8.0, 12.0, 10.0, 1.0)", "(2, 'USD', 4.0, 4.0, 4.0, 4.0, 1.0)")  # fmt: skip
    given(con, "targets", "tid, comp, kind, method, tno", "(11, 'compute', 'workload', 'opencost-list-cost', 0)",
          "(12, 'compute', 'idle', 'opencost-list-cost', 1)")  # fmt: skip
    given(con, "line_weights", "lid, tid, wc, wr, wg, f",
          "(1, 11, 0.5, 0.25, 0.0, 60.0)", "(1, 12, 0.25, 0.0, 0.0, 0.0)",
          "(2, 11, 1.0, 0.0, 0.0, 60.0)", "(2, 12, -0.2, 0.0, 0.0, 0.0)")  # fmt: skip
    run_stage(con, "matched_rows", PARAMETERS)
    found = rows(con, "SELECT lid, tno, ratio, unit, neg_idle, BilledCost, EffectiveCost, cpu_ratio FROM matched_rows"
                      " ORDER BY lid, tno")  # fmt: skip
    assert found == [
        {"lid": 1, "tno": 0, "ratio": 0.75, "unit": "ListCost", "neg_idle": False, "BilledCost": 7.5,
         "EffectiveCost": 6.0, "cpu_ratio": 0.5 / 0.75},
        {"lid": 1, "tno": 1, "ratio": 0.25, "unit": "ListCost", "neg_idle": False, "BilledCost": 2.5,
         "EffectiveCost": 2.0, "cpu_ratio": 1.0},
        {"lid": 2, "tno": 0, "ratio": 1.0, "unit": "ListCost", "neg_idle": False, "BilledCost": 4.0,
         "EffectiveCost": 4.0, "cpu_ratio": 1.0},
        {"lid": 2, "tno": 1, "ratio": 0.0, "unit": "ListCost", "neg_idle": True, "BilledCost": 0.0,
         "EffectiveCost": 0.0, "cpu_ratio": None},
    ]  # fmt: skip


def test_volume_rule_splits_by_pv_cost_else_byte_hours(con: duckdb.DuckDBPyConnection) -> None:
    pv = "[{{'name': 'pv1', 'provider_id': 'aws://us-east-1a/vol-1', 'byte_hours': {0}::DOUBLE, 'cost': {1}::DOUBLE}}]"
    given(
        con, "allocation_rows", ALLOCATION_ROW,
        alloc("web", pvs=pv.format("10.0", "0.3")), alloc("db", pvs=pv.format("30.0", "0.0")),
        alloc("__unmounted__", pvs=pv.format("5.0", "0.1")), alloc("api"),
    )  # fmt: skip
    given(con, "keymap", "raw, key", "('aws://us-east-1a/vol-1', 'vol-1')")
    run_stage(con, "volume_splits", PARAMETERS)
    found = rows(con, "SELECT skey, comp, namespace, kind, wc, f, list_cost FROM volume_splits ORDER BY namespace")
    assert found == [
        {"skey": "vol-1", "comp": "pv", "namespace": "__unmounted__", "kind": "unmounted", "wc": 0.1, "f": 5.0,
         "list_cost": 0.1},
        {"skey": "vol-1", "comp": "pv", "namespace": "db", "kind": "workload", "wc": 0.0, "f": 30.0, "list_cost": 0.0},
        {"skey": "vol-1", "comp": "pv", "namespace": "web", "kind": "workload", "wc": 0.3, "f": 10.0,
         "list_cost": 0.3},
    ]  # fmt: skip


def test_load_balancer_rule_splits_by_lb_cost(con: duckdb.DuckDBPyConnection) -> None:
    lb = "[{{'service': 'web/front', 'provider_id': 'lb-1', 'hours': {0}::DOUBLE, 'cost': {1}::DOUBLE}}]"
    given(con, "allocation_rows", ALLOCATION_ROW, alloc("web", lbs=lb.format("1.0", "0.02")), alloc("db"))
    given(con, "keymap", "raw, key", "('lb-1', 'front-lb')")
    run_stage(con, "lb_splits", PARAMETERS)
    assert rows(con, "SELECT skey, comp, namespace, wc, f FROM lb_splits") == [
        {"skey": "front-lb", "comp": "load_balancer", "namespace": "web", "wc": 0.02, "f": 1.0}
    ]


def test_azure_lb_and_service_ip_lines_go_to_their_services_keys(con: duckdb.DuckDBPyConnection) -> None:
    sub = "/subscriptions/s1/resourcegroups/mc_rg_aks1_westus/providers/microsoft.network"
    given(con, "bill_lines", "lid, cps, cpe, hint, rk, Tags",
          f"(1, {H0}, {H1}, 'aks1', '{sub}/loadbalancers/kubernetes', NULL)",
          f"(2, {H0}, {H1}, 'aks1', '{sub}/loadbalancers/kubernetes-internal', NULL)",
          f"(3, {H0}, {H1}, 'aks1', '{sub}/publicipaddresses/ip-1', '\"k8s-azure-service\": \"web/front\"')",
          f"(4, {H0}, {H1}, 'aks1', '{sub}/publicipaddresses/ip-2', NULL)")  # fmt: skip
    given(con, "line_keys", "lid, cps, cpe, mkey", *(f"({i}, {H0}, {H1}, NULL)" for i in range(1, 5)))
    given(con, "lb_keys", "lc, service, skey, internal, ks, ke",
          "('aks1', 'web/front', 'lb-front', false, 1750118400, 1750122000)",
          "('aks1', 'db/back', 'lb-back', true, 1750118400, 1750122000)",
          "('aks1', 'web/late', 'lb-late', false, 1750125600, 1750129200)")  # fmt: skip
    run_stage(con, "service_line_keys", PARAMETERS)
    assert rows(con, "SELECT lid, mkey FROM service_line_keys ORDER BY lid, mkey") == [
        {"lid": 1, "mkey": "lb-front"}, {"lid": 2, "mkey": "lb-back"}, {"lid": 3, "mkey": "lb-front"},
    ]  # fmt: skip


def test_aks_fraction_rule_components_by_resource_type(con: duckdb.DuckDBPyConnection) -> None:
    sub = "/subscriptions/s1/resourcegroups/mc_rg_aks1_westus/providers"
    keys = {"vm": f"{sub}/microsoft.compute/virtualmachinescalesets/v/virtualmachines/0",
            "disk": f"{sub}/microsoft.compute/disks/d1", "lb": f"{sub}/microsoft.network/loadbalancers/kubernetes",
            "ip": f"{sub}/microsoft.network/publicipaddresses/ip1"}  # fmt: skip
    given(
        con, "allocation_rows", ALLOCATION_ROW,
        *(alloc("api", provider_id=k, source="'aks'", fraction="0.25", split_bucket="'Usage'", cpu_cost="0.5")
          for k in keys),
        alloc("__idle__", provider_id="vm", source="'aks'", fraction="-0.1", split_bucket="'idle'"),
    )  # fmt: skip
    given(con, "keymap", "raw, key", *(f"('{k}', '{v}')" for k, v in keys.items()))
    run_stage(con, "aks_splits", PARAMETERS)
    found = rows(con, "SELECT comp, kind, wc, f, list_cost, method FROM aks_splits ORDER BY comp, kind")
    assert found == [
        {"comp": "compute", "kind": "idle", "wc": 0.0, "f": 1.0, "list_cost": 0.0, "method": AKS},
        {"comp": "compute", "kind": "workload", "wc": 0.25, "f": 1.0, "list_cost": 0.5,
         "method": "aks-cost-analysis-fraction"},
        {"comp": "load_balancer", "kind": "workload", "wc": 0.25, "f": 1.0, "list_cost": 0.5,
         "method": "aks-cost-analysis-fraction"},
        {"comp": "network", "kind": "workload", "wc": 0.25, "f": 1.0, "list_cost": 0.5,
         "method": "aks-cost-analysis-fraction"},
        {"comp": "pv", "kind": "workload", "wc": 0.25, "f": 1.0, "list_cost": 0.5, "method": AKS},
    ]  # fmt: skip


UNMATCHED = f"lid, cps, cpe, hint, cluster, {COSTS}"


def test_shared_unallocated_and_not_kubernetes_rules(con: duckdb.DuckDBPyConnection) -> None:
    """An unmatched line of an exported cluster is its `__shared__`, of a hinted cluster with no export its
    `__unallocated__`, of no cluster `not_kubernetes`: passed through whole before the split (`passes`, then
    `passed_lines` with its costs), unless a tag policy may still move it (then split as any line, to the
    `not_kubernetes` target)."""
    given(con, "bill_lines", f"lid, cps, cpe, hint, {COSTS}",
          f"(1, {H0}, {H1}, 'c1', 'USD', 1.0, 1.0, 1.0, 1.0, 1.0)",
          f"(2, {H0}, {H1}, 'gone', 'USD', 2.0, 2.0, 2.0, 2.0, 1.0)",
          f"(3, {H0}, {H1}, NULL, 'EUR', 3.0, 4.0, 5.0, 6.0, 7.0)")  # fmt: skip
    given(con, "line_keys", "lid, mkey", "(1, NULL)", "(2, NULL)", "(3, NULL)")
    given(con, "clusters", "lc, cluster", "('c1', 'c1')")
    con.execute("CREATE TEMP TABLE service_line_keys AS SELECT 1 AS lid WHERE false")
    con.execute("CREATE TEMP TABLE shared_weights AS SELECT 1 AS lid WHERE false")  # spread `none`: no weights
    split = "SELECT lid, comp, cluster, namespace, pod, kind, method FROM unmatched_splits ORDER BY lid"
    shared = [
        {"lid": 1, "comp": "shared", "cluster": "c1", "namespace": "__shared__", "pod": "__shared__",
         "kind": "shared", "method": "kubebill-shared"},
        {"lid": 2, "comp": "shared", "cluster": "gone", "namespace": "__unallocated__", "pod": "__unallocated__",
         "kind": "unallocated", "method": "kubebill-shared"},
    ]  # fmt: skip
    for tags, passed, not_kubernetes in (
        ("", [(3, "EUR", 3.0, 4.0, 5.0, 6.0, 7.0)], []),
        ("team", [], [{"lid": 3, "comp": "other", "cluster": None, "namespace": None, "pod": None,
                       "kind": "not_kubernetes", "method": None}]),
    ):  # fmt: skip
        run_stage(con, "unmatched_lines", PARAMETERS | {"namespace_tags": tags})
        assert rows(con, "SELECT lid, cluster, passes FROM unmatched_lines ORDER BY lid") == [
            {"lid": 1, "cluster": "c1", "passes": False},
            {"lid": 2, "cluster": None, "passes": False},
            {"lid": 3, "cluster": None, "passes": not tags},
        ]
        run_stage(con, "passed_lines", PARAMETERS)
        assert con.execute(f"SELECT lid, {COSTS} FROM passed_lines").fetchall() == passed
        run_stage(con, "unmatched_splits", PARAMETERS)
        assert rows(con, split) == shared + not_kubernetes


def test_shared_rule_weighted_spreads_over_namespaces(con: duckdb.DuckDBPyConnection) -> None:
    given(con, "unmatched_lines", UNMATCHED, f"(1, {H0}, {H2}, 'c1', 'c1', 'USD', 1.0, 1.0, 1.0, 1.0, 1.0)")
    given(con, "namespace_costs", "cluster, namespace, total_cost, ws_s, we_s",
          "('c1', 'web', 3.0, 1750118400, 1750122000)", "('c1', 'db', 1.0, 1750118400, 1750122000)",
          "('c1', 'db', 2.0, 1750122000, 1750125600)", "('c2', 'x', 9.0, 1750118400, 1750122000)")  # fmt: skip
    run_stage(con, "shared_weights", PARAMETERS | {"shared_spread": "weighted"})
    assert rows(con, "SELECT lid, namespace, w, pod, kind FROM shared_weights ORDER BY namespace") == [
        {"lid": 1, "namespace": "db", "w": 3.0, "pod": "__shared__", "kind": "shared"},
        {"lid": 1, "namespace": "web", "w": 3.0, "pod": "__shared__", "kind": "shared"},
    ]


def test_estimated_rule_prices_uncovered_allocation_at_list(con: duckdb.DuckDBPyConnection) -> None:
    """Split rows no pair covers, at list price, summed per target and key, with their export; AKS fractions
    and zero list costs are never estimated."""
    columns = ("skey, comp, cluster, node, namespace, controller_kind, controller, pod, container, labels, kind, ws, "
               "we, list_cost, source, method, oid")  # fmt: skip

    def split(
        namespace: str,
        oid: int,
        *,
        cost: float = 0.5,
        start: str = H0,
        end: str = H1,
        method: str = "opencost-list-cost",
    ) -> str:
        return (f"('i-1', 'compute', 'c1', 'n1', '{namespace}', NULL, NULL, '{namespace}-pod', 'app', '{{}}', "
                f"'workload', {start}, {end}, {cost}, 'opencost', '{method}', {oid})")  # fmt: skip

    given(con, "split_rows", columns, split("web", 1), split("web", 2, start=H1, end=H2), split("db", 1),
          split("api", 3, cost=0.0), split("aks", 4, method="aks-cost-analysis-fraction"))  # fmt: skip
    given(con, "pairs", "lid, oid, target, wc, wr, wg, f", "(7, 1, 0, 1.0, 0.0, 0.0, 1.0)")
    given(con, "allocation_keys", "cluster, source, key", "('c1', 'opencost', 'allocations/c1.parquet')")
    run_stage(con, "estimates", PARAMETERS)
    found = rows(con, "SELECT skey, namespace, ws, we, list_cost, source_key FROM estimates")
    assert found == [
        {"skey": "i-1", "namespace": "web", "ws": datetime(2025, 6, 17, 1, tzinfo=UTC),
         "we": datetime(2025, 6, 17, 2, tzinfo=UTC), "list_cost": 0.5, "source_key": "allocations/c1.parquet"}
    ]  # fmt: skip
