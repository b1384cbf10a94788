"""Each policy on the handmade day of tests/policies/handmade.py, its split computed by hand in the test."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pytest

from kubebill.reconcile import policies
from kubebill.reconcile.engine import Options, Reconciliation
from tests.policies.handmade import ALLOCATION, COST, by_target, merged
from tests.reconcile.tables import DAY

# What no policy moves: the split of the day as the engine makes it without policies.
KEPT = {
    ("c1", "web", "workload", "opencost-list-cost"): 3.0,
    ("c1", "db", "workload", "opencost-list-cost"): 1.0,
    ("c2", "web", "workload", "opencost-list-cost"): 1.0,
}


def test_no_policy_moves_nothing() -> None:
    assert by_target(merged()) == KEPT | {
        ("c1", "kube-system", "workload", "opencost-list-cost"): 2.0,
        ("c1", "__idle__", "idle", "opencost-list-cost"): 4.0,
        ("c1", "__shared__", "shared", "kubebill-shared"): 0.6,
        (None, None, "not_kubernetes", None): 0.7 + 0.8 + 0.4 + 0.5,
    }


def test_idle_weighted_by_node_goes_to_the_line_namespaces_by_their_share_of_it() -> None:
    # idle 4.0 over web, db, kube-system by their ratios of the line 0.3 : 0.1 : 0.2
    found = by_target(merged(idle_share="weighted"))
    assert found[("c1", "web", "idle", "idle-share-weighted")] == pytest.approx(4.0 * 0.3 / 0.6)
    assert found[("c1", "db", "idle", "idle-share-weighted")] == pytest.approx(4.0 * 0.1 / 0.6)
    assert found[("c1", "kube-system", "idle", "idle-share-weighted")] == pytest.approx(4.0 * 0.2 / 0.6)
    assert not any(k[1] == "__idle__" for k in found)


def test_idle_even_goes_equally_per_namespace() -> None:
    found = by_target(merged(idle_share="even", idle_share_scope="cluster"))
    assert {k: v for k, v in found.items() if k[2] == "idle"} == {
        ("c1", ns, "idle", "idle-share-even"): pytest.approx(4.0 / 3) for ns in ("web", "db", "kube-system")
    }


def test_idle_by_cluster_weighs_by_the_day_cost_and_skips_shared_namespaces() -> None:
    # kube-system is shared: idle goes to web and db only, by their cost of the day in c1 (3.0 : 1.0)
    found = by_target(
        merged(
            idle_share="weighted", idle_share_scope="cluster", shared_spread="even", shared_namespaces=("kube-system",)
        )
    )
    assert found[("c1", "web", "idle", "idle-share-weighted")] == pytest.approx(3.0)
    assert found[("c1", "db", "idle", "idle-share-weighted")] == pytest.approx(1.0)
    # kube-system's 2.0 and the NAT line's 0.6 evenly over web and db
    assert found[("c1", "web", "shared", "shared-even")] == pytest.approx(1.3)
    assert found[("c1", "db", "shared", "shared-even")] == pytest.approx(1.3)
    assert not any(k[1] in ("kube-system", "__shared__", "__idle__") for k in found)


def test_shared_weighted_by_namespace_and_by_label() -> None:
    # weighted: the NAT line (0.6) is spread by list cost over web 1.5, db 0.5, kube-system 1.0 (the existing
    # rule): 0.3, 0.1, 0.2; kube-system's 2.0 + 0.2 then over web and db by their BilledCost 3.0 : 1.0
    for options in ({"shared_namespaces": ("kube-system",)}, {"shared_labels": ("team=platform",)}):
        found = by_target(merged(shared_spread="weighted", **options))
        moved = 2.0 + (0.2 if "shared_namespaces" in options else 0.0)
        assert found[("c1", "web", "shared", "shared-weighted")] == pytest.approx(moved * 0.75)
        assert found[("c1", "db", "shared", "shared-weighted")] == pytest.approx(moved * 0.25)
        assert found[("c1", "web", "shared", "kubebill-shared-weighted")] == pytest.approx(0.3)
        assert ("c1", "kube-system", "workload", "opencost-list-cost") not in found


def test_external_lines_go_to_the_tagged_namespace() -> None:
    found = by_target(merged(namespace_tags=("team", "kubernetes.io/namespace"), cluster_tags=("cluster",)))
    assert found[("c1", "db", "external", "namespace-tag")] == pytest.approx(0.7)  # db runs in c1 only
    # bucket-1 (0.8) over c1/web 3.0 : c2/web 1.0; bucket-2 (0.4) to c2, its cluster tag
    assert found[("c1", "web", "external", "namespace-tag")] == pytest.approx(0.6)
    assert found[("c2", "web", "external", "namespace-tag")] == pytest.approx(0.2 + 0.4)
    assert found[(None, None, "not_kubernetes", None)] == pytest.approx(0.5)


def test_details_say_which_policy_moved_what_from_where() -> None:
    table = merged(idle_share="even", shared_spread="even", shared_namespaces=("kube-system",))
    rows = table.filter(pc.equal(table["AllocatedMethodId"], "shared-even")).to_pylist()
    details = [json.loads(r["AllocatedMethodDetails"]) for r in rows if r["ResourceId"] == "i-0001"]
    assert {d["x_AllocationPolicy"]["FromNamespace"] for d in details} == {"kube-system"}
    assert all(
        d["x_AllocationPolicy"]["From"] == "workload" and d["x_AllocationPolicy"]["Share"] == 0.5 for d in details
    )
    # the AllocatedRatio of a moved row is its share of the whole bill line: kube-system's 0.2, halved
    assert all(d["Elements"][0]["AllocatedRatio"] == pytest.approx(0.1) for d in details)
    assert {r["x_K8sPod"] for r in rows} == {None}
    assert all(r["AllocatedResourceId"] in ("c1/web", "c1/db") for r in rows)


def test_a_selector_matching_nothing_is_named() -> None:
    options = Options(
        shared_spread="even",
        shared_namespaces=("kube-system", "logging"),
        shared_labels=("team=nobody",),
        namespace_tags=("team", "owner"),
        cluster_tags=("cluster",),
    )
    run = Reconciliation(ALLOCATION, COST, day=DAY.date(), options=options)
    try:
        assert run.unmatched == [
            "KUBEBILL_SHARED_NAMESPACES=logging",
            "KUBEBILL_SHARED_LABELS=team=nobody",
            "KUBEBILL_NAMESPACE_TAGS=owner",
        ]
    finally:
        run.close()


def test_conservation_per_origin_line_under_every_policy() -> None:
    everything = {
        "idle_share": "weighted",
        "shared_spread": "weighted",
        "shared_labels": ("team=platform",),
        "namespace_tags": ("team", "kubernetes.io/namespace"),
    }
    table = merged(**everything)
    lines = {r["x_SourceRowId"]: r["BilledCost"] for r in COST.to_pylist()}
    sums: dict[int, float] = {}
    ratios: dict[int, float] = {}
    for row in table.to_pylist():
        sums[row["x_SourceRowId"]] = sums.get(row["x_SourceRowId"], 0.0) + row["BilledCost"]
        details = json.loads(row["AllocatedMethodDetails"] or '{"Elements":[{"AllocatedRatio":1}]}')
        ratios[row["x_SourceRowId"]] = ratios.get(row["x_SourceRowId"], 0.0) + details["Elements"][0]["AllocatedRatio"]
    assert sums == pytest.approx(lines, rel=1e-12)
    assert ratios == pytest.approx(dict.fromkeys(lines, 1.0), rel=1e-12)


def test_tag_keys_are_found_under_the_exports_names_and_the_first_listed_key_wins() -> None:
    options = Options(namespace_tags=("k8s-namespace", "team"), cluster_tags=("cluster",))
    texts = ['{"user_k8s_namespace":"web","user_team":"db"}', '{"user:team":"db","cluster":"c2"}', '{"other":"x"}']
    found = policies.values([], texts, options).to_pylist()
    assert [(r["json"], r["setting"], r["rank"], r["value"]) for r in found] == [
        (texts[0], "namespace_tag", 0, "web"),
        (texts[0], "namespace_tag", 1, "db"),
        (texts[1], "namespace_tag", 1, "db"),
        (texts[1], "cluster_tag", 0, "c2"),
    ]
