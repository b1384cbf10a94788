"""`kubebill prices` and `kubebill estimate` end to end on the handmade store: formats, baselines, CI exit codes,
bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kubebill import cli
from tests.estimate.handmade import KNOWN, write_store

WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  template:
    spec:
      nodeSelector: {{node.kubernetes.io/instance-type: m5.xlarge}}
      containers:
        - name: main
          resources: {{requests: {{cpu: "2", memory: 4Gi}}}}
"""
MONTH_EFFECTIVE = 730 * (2 * KNOWN.cpu[0] + 4 * KNOWN.ram[0])  # one replica on an m5 node, requests as they are
MONTH_LIST = 730 * (2 * KNOWN.cpu[1] + 4 * KNOWN.ram[1])


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "store")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _manifest(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_prices_table_and_json(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "prices", "--store", str(store))
    assert code == 0
    assert "unit prices of cluster c1 from its results, 2025-06-01 to 2025-06-01 (1 day), USD" in out
    assert "node group m5 (1 nodes)  CPU core-hour  0.05" in out and "gp3 storage" in out
    assert "GPU-hour       1.5" in out and "no data in the results" in out
    code, out, _ = _run(capsys, "prices", "--store", str(store), "--cluster", "c1", "--days", "3", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["days"] == 1 and doc["compute"]["nodes"] == 2
    assert doc["node_groups"]["c5"]["gpu_hour"]["effective"] == pytest.approx(KNOWN.gpu[0])
    assert doc["load_balancer_hour"]["list"] == pytest.approx(KNOWN.lb[1])
    assert doc["load_balancer_hour"]["lines"] == 24 and doc["load_balancer_hour"]["too_little_data"] is False


def test_estimate_formats(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    web = _manifest(tmp_path, "web.yaml", WEB.format(replicas=1))
    base = ("estimate", "-f", web, "--store", str(store), "--requests-only")
    code, out, err = _run(capsys, *base)
    assert code == 0 and err == ""
    assert "monthly estimate (730 h) for cluster c1" in out and "overhead excluded" in out
    assert f"{MONTH_EFFECTIVE:,.2f}" in out and f"{MONTH_LIST:,.2f}" in out and "prices of m5" in out
    code, out, _ = _run(capsys, *base, "--format", "json")
    doc = json.loads(out)
    assert doc["hours_per_month"] == 730 and doc["objects"][0]["prices"] == "m5"
    assert doc["total"]["effective_cost"] == pytest.approx(MONTH_EFFECTIVE)
    assert doc["total"]["list_cost"] == pytest.approx(MONTH_LIST) and doc["baseline"] is None
    code, out, _ = _run(capsys, *base, "--format", "markdown")
    assert out.startswith("### kubebill estimate") and "| Deployment/web | shop | 1 |" in out and "(730 h)" in out
    code, out, _ = _run(capsys, *base, "--format", "json", "--with-overhead")
    doc = json.loads(out)
    ratio = doc["overhead_ratio"]["effective"]
    assert ratio > 0 and doc["total"]["effective_cost"] == pytest.approx(MONTH_EFFECTIVE * (1 + ratio))
    # without --requests-only the requests count × what this cluster's containers get beyond them (4/3 CPU here)
    code, out, _ = _run(capsys, "estimate", "-f", web, "--store", str(store), "--format", "json")
    expected = 730 * (2 * 96 / 72 * KNOWN.cpu[0] + 4 * KNOWN.ram[0])
    assert json.loads(out)["total"]["effective_cost"] == pytest.approx(expected)


def test_estimate_reads_standard_input(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(WEB.format(replicas=2)))
    code, out, _ = _run(capsys, "estimate", "-f", "-", "--store", str(store), "--requests-only", "--format", "json")
    assert code == 0 and json.loads(out)["total"]["effective_cost"] == pytest.approx(2 * MONTH_EFFECTIVE)


def test_baseline_file_and_the_ci_exit_code(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _manifest(tmp_path, "old.yaml", WEB.format(replicas=2))
    new = _manifest(tmp_path, "new.yaml", WEB.format(replicas=3))
    args = ("estimate", "-f", new, "--baseline", old, "--store", str(store), "--requests-only")
    code, out, err = _run(capsys, *args, "--fail-over", "10")
    assert code == 1 and "cost rises more than 10 % (+50.0 %) over the baseline" in err
    assert f"difference vs baseline {old}: +{MONTH_EFFECTIVE:,.2f} USD (+50.0 %)" in out
    code, out, _ = _run(capsys, *args, "--fail-over", "50")
    assert code == 0
    code, out, _ = _run(capsys, *args, "--format", "markdown")
    assert code == 0 and "+50.0 %" in out
    # a cheaper change passes any gate; a removed object counts as a saving
    cheaper = _manifest(tmp_path, "cheaper.yaml", WEB.format(replicas=1).replace("name: web", "name: web2"))
    code, out, _ = _run(capsys, "estimate", "-f", cheaper, "--baseline", old, "--store", str(store), "--fail-over", "0")
    assert code == 0 and "Deployment/web " in out and "removed" in out


def test_baseline_cluster_is_what_the_workloads_cost(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = _manifest(tmp_path, "web.yaml", WEB.format(replicas=1))
    code, out, _ = _run(
        capsys,
        "estimate",
        "-f",
        web,
        "--baseline",
        "cluster",
        "--store",
        str(store),
        "--format",
        "json",
        "--requests-only",
    )
    doc = json.loads(out)
    actual = 24 * (2 * KNOWN.cpu[0] + 4 * KNOWN.ram[0]) + 100 * 24 / 730 * KNOWN.pv[0] + 24 * KNOWN.lb[0]
    assert code == 0 and doc["baseline"]["from"] == "cluster"
    assert doc["baseline"]["effective_cost"] == pytest.approx(actual * 730 / 24)  # its compute, PV and LB shares


def test_bad_input_exits_2_and_still_estimates_the_rest(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = WEB.format(replicas=1).replace("name: web,", "name: good,")
    bad = WEB.format(replicas=1).replace("name: web,", "name: bad,").replace('cpu: "2"', "cpu: 500x")
    mixed = _manifest(tmp_path, "mixed.yaml", good + "---\n" + bad)
    notyaml = _manifest(tmp_path, "notes.yaml", "kind: [unclosed\n")
    code, out, err = _run(capsys, "estimate", "-f", mixed, "-f", notyaml, "--store", str(store), "--requests-only")
    assert code == 2
    assert "Deployment/good" in out and "Deployment/bad" not in out  # the good document is still estimated
    lines = err.strip().splitlines()
    assert lines[0] == (
        f"kubebill estimate: {mixed}: document 2 (Deployment/bad): spec.template.spec.containers[0].resources"
        ".requests.cpu: expected a Kubernetes quantity such as 250m, 1.5, 512Mi or 2G, found '500x'"
    )
    assert lines[1].startswith(f"kubebill estimate: {notyaml}: document 1: expected YAML, found a syntax error")


def test_cluster_without_results_and_bad_usage_exit_2(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = _manifest(tmp_path, "web.yaml", WEB.format(replicas=1))
    code, _, err = _run(capsys, "estimate", "-f", web, "--store", str(store), "--cluster", "nope")
    assert code == 2 and "no results for cluster 'nope'" in err and "kubebill merge" in err
    code, _, err = _run(capsys, "estimate", "-f", web, "--store", str(tmp_path / "empty"))
    assert code == 2 and "run `kubebill merge` first" in err
    code, _, err = _run(capsys, "estimate", "-f", web, "--store", str(store), "--fail-over", "10")
    assert code == 2 and "--fail-over needs --baseline" in err
    code, _, err = _run(capsys, "prices", "--store", str(store), "--days", "0")
    assert code == 2 and "--days: expected 1 or more, found 0" in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_price_is_said_not_hidden(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gpu = WEB.format(replicas=1).replace('cpu: "2", memory: 4Gi', 'cpu: "2", memory: 4Gi, nvidia.com/gpu: 1')
    manifest = _manifest(tmp_path, "gpu.yaml", gpu)  # its nodeSelector picks m5, whose nodes have no GPU
    code, out, _ = _run(capsys, "estimate", "-f", manifest, "--store", str(store), "--format", "json")
    [line] = json.loads(out)["objects"]
    assert code == 0 and "no GPU price in the results: not priced" in line["notes"]


KINDS = """
kind: DaemonSet
metadata: {name: agent}
spec: {template: {spec: {containers: [{name: a, resources: {requests: {cpu: "1", memory: 1Gi}}}]}}}
---
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      activeDeadlineSeconds: 7200
      template: {spec: {containers: [{name: a, resources: {limits: {cpu: "1", memory: 1Gi}}}]}}
---
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {storageClassName: gp3, resources: {requests: {storage: 10Gi}}}
---
kind: Service
metadata: {name: front}
spec: {type: LoadBalancer}
"""


def test_each_kind_is_priced_at_the_learned_prices(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "prices", "--store", str(store), "--format", "json")
    prices = json.loads(out)
    cpu, ram = prices["compute"]["cpu_core_hour"]["effective"], prices["compute"]["ram_gib_hour"]["effective"]
    manifest = _manifest(tmp_path, "kinds.yaml", KINDS)
    code, out, _ = _run(
        capsys, "estimate", "-f", manifest, "--store", str(store), "--requests-only", "--format", "json"
    )
    by = {o["kind"]: o for o in json.loads(out)["objects"]}
    assert code == 0 and by["DaemonSet"]["pods"] == 2  # × the cluster's 2 nodes
    assert by["DaemonSet"]["effective_cost"] == pytest.approx(2 * 730 * (cpu + ram))
    assert by["CronJob"]["cpu_core_hours"] == pytest.approx(365 / 12 * 2)  # @daily × 2 h (activeDeadlineSeconds)
    assert by["CronJob"]["effective_cost"] == pytest.approx(365 / 12 * 2 * (cpu + ram))
    assert by["PersistentVolumeClaim"]["effective_cost"] == pytest.approx(10 * KNOWN.pv[0])
    assert by["Service"]["effective_cost"] == pytest.approx(730 * KNOWN.lb[0])
    assert by["Service"]["list_cost"] == pytest.approx(730 * KNOWN.lb[1])
