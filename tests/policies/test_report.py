"""The policies' moved rows as the report and the metrics show them: on a simulated three-cloud day merged with
every policy on, each namespace's own cost and its received idle, shared and external shares in
`kubebill report` (CSV) and in `kubebill_namespace_origin_cost` are the result Parquet's sums."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections import defaultdict
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from kubebill import figures, pipeline
from kubebill.cli import main
from kubebill.devtools.simulate import Scenario, simulate
from kubebill.devtools.simulate.model import BUCKET_TAG, CLUSTER_TAG, NAMESPACE_TAG
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store.local import LocalStore

SCENARIO = Scenario(clusters=1, nodes=3, pods=12, days=1, seed=11)
DAY = SCENARIO.end
POLICIES = {
    "idle_share": "weighted",
    "shared_spread": "even",
    "shared_namespaces": ("kube-system", "monitoring"),
    "namespace_tags": (NAMESPACE_TAG, BUCKET_TAG),
    "cluster_tags": (CLUSTER_TAG,),
}
_SAMPLE = re.compile(r"^kubebill_namespace_origin_cost\{([^}]*)\} (\S+)$")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    out = tmp_path_factory.mktemp("policies-report")
    simulate(out, SCENARIO)
    store = LocalStore(out)
    assert DAY in pipeline.merge(store, dataclasses.replace(Settings(store=str(out)), **POLICIES)).merged
    return store


def parquet_sums(store: LocalStore, *, outside: str | None = None) -> dict[tuple[str, str, str], float]:
    """(cluster, namespace, origin) → Σ BilledCost of the day's result rows, origin by figures.received; the
    lines outside every cluster under `outside` (as the report groups them), or left out (as the metrics do)."""
    sums: dict[tuple[str, str, str], float] = defaultdict(float)
    table = pq.read_table(store.root / Layout().result_parquet_key(DAY))
    for row in table.select(["x_K8sCluster", "x_K8sNamespace", "x_K8sAllocation", "BilledCost"]).to_pylist():
        if row["x_K8sCluster"] is None:
            if outside is not None:
                sums[(outside, outside, "own")] += row["BilledCost"]
            continue
        origin = figures.received(row["x_K8sNamespace"], row["x_K8sAllocation"]) or "own"
        sums[(row["x_K8sCluster"], row["x_K8sNamespace"], origin)] += row["BilledCost"]
    return sums


def test_every_policy_moved_cost_that_the_report_shows(store: LocalStore) -> None:
    origins = {origin for (_, _, origin), value in parquet_sums(store).items() if value > 0}
    assert origins == {"own", *figures.RECEIVED}


def test_the_report_columns_are_the_parquet_sums(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--window", DAY.isoformat(), "--by", "cluster,namespace", "--format", "csv",
                 "--cost", "billed", "--store", str(store.root)]) == 0  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    sums = parquet_sums(store, outside="__not_kubernetes__")
    seen = set()
    for row in rows:
        cluster, namespace = row["cluster"], row["namespace"]
        seen.add((cluster, namespace))
        own = Decimal(row["own_cost"])
        assert float(own) == pytest.approx(sums.get((cluster, namespace, "own"), 0.0), abs=0.006), row
        for figure in figures.RECEIVED:
            value = float(Decimal(row[f"received_{figure}_cost"]))
            assert value == pytest.approx(sums.get((cluster, namespace, figure), 0.0), abs=0.006), (figure, row)
    assert seen == {(c, ns) for c, ns, _ in sums}


def test_the_origin_metric_is_the_parquet_sums(store: LocalStore) -> None:
    text = metrics.render(store, Settings(store=str(store.root)))[0].decode()
    found: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match[1]))
            if labels.get("cost_type") == "billed":
                found[(labels["cluster"], labels["namespace"], labels["origin"])] = float(match[2])
    expected = {key: value for key, value in parquet_sums(store).items() if key in found or abs(value) > 1e-9}
    assert found.keys() >= expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
