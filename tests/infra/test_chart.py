"""charts/kubebill with a real helm: lint, template for EKS, AKS and GKE, every rendered document validated
strictly against the Kubernetes schemas, the pods locked down, checkov on the output with zero failures."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubebill.settings import variables
from tests.conftest import ROOT
from tests.infra.test_checkov import CHECKOV

CHART = ROOT / "charts" / "kubebill"
HELM = ROOT / ".tools" / "helm" / "helm"
CLOUDS = ("eks", "aks", "gke")
CRDS = {"ServiceMonitor", "PrometheusRule"}  # prometheus-operator kinds: checked by hand below


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail(f"helm is missing: expected {HELM} (run .ci/setup)")
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120, check=False)


@cache
def rendered_text(cloud: str) -> str:
    done = helm(
        "template", "kubebill", str(CHART), "--namespace", "kubebill", "-f", str(CHART / "ci" / f"{cloud}-values.yaml")
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rendered(cloud: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered_text(cloud)) if doc]


def kind(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [doc for doc in docs if doc["kind"] == name]
    return found


def pod_specs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = [d["spec"]["template"]["spec"] for d in docs if d["kind"] == "Deployment"]
    return specs + [d["spec"]["jobTemplate"]["spec"]["template"]["spec"] for d in docs if d["kind"] == "CronJob"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_helm_lint_passes(cloud: str) -> None:
    done = helm("lint", str(CHART), "--strict", "-f", str(CHART / "ci" / f"{cloud}-values.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"settings": {"KUBEBILL_NO_SUCH": "x"}}, "KUBEBILL_NO_SUCH"),
        ({"store": "/tmp/kubebill-data"}, "/store"),
        ({"image": {"digest": "latest"}}, "/image/digest"),
        ({"serve": {"port": "http"}}, "/serve/port"),
        ({"settings": {"KUBEBILL_METRICS_TOKEN": "in-values"}}, "KUBEBILL_METRICS_TOKEN"),
    ],
)
def test_values_that_break_the_schema_fail_lint_naming_the_field(
    tmp_path: Path, values: dict[str, Any], field: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(values))
    done = helm("lint", str(CHART), "-f", str(CHART / "ci" / "eks-values.yaml"), "-f", str(bad))
    assert done.returncode != 0
    assert field in done.stdout + done.stderr


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_rendered_document_is_valid_kubernetes(cloud: str) -> None:
    docs = rendered(cloud)
    for doc in docs:
        if doc["kind"] not in CRDS:
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    kinds = sorted(doc["kind"] for doc in docs)
    expected = {"ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"}
    assert expected <= set(kinds) and kinds.count("ConfigMap") == 2
    assert ("CronJob" in kinds) == (cloud != "gke")  # GKE's values run the schedules in the server instead
    assert all(doc["metadata"]["namespace"] == "kubebill" for doc in docs)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_pods_are_locked_down_and_write_only_to_object_storage(cloud: str) -> None:
    docs = rendered(cloud)
    config = next(d for d in docs if (d["kind"], d["metadata"]["name"]) == ("ConfigMap", "kubebill"))
    assert config["data"]["KUBEBILL_STORE"].split("://")[0] in ("s3", "az", "gs")
    assert set(config["data"]) <= {row["env"] for row in variables()}
    for pod in pod_specs(docs):
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == kind(docs, "ServiceAccount")["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"] and security["privileged"] is False
        assert container["image"].endswith(
            "@sha256:" + "2f7d9c0e3c1b5a4f6e8d7c9b0a1f2e3d4c5b6a7980f1e2d3c4b5a69788f0e1d2"
        )
        assert container["imagePullPolicy"] == "Always"
        assert set(container["resources"]["requests"]) >= {"cpu", "memory"}
        assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
        assert container["envFrom"] == [{"configMapRef": {"name": "kubebill"}}]
        # the only writable place is /tmp, the export's spool before its upload; the store is never there
        assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def test_cloud_identities_reach_the_service_account_and_the_pods() -> None:
    eks, aks, gke = (kind(rendered(c), "ServiceAccount")["metadata"]["annotations"] for c in CLOUDS)
    assert eks["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    assert "azure.workload.identity/client-id" in aks
    assert gke["iam.gke.io/gcp-service-account"].endswith(".iam.gserviceaccount.com")
    for pod in [d for d in rendered("aks") if d["kind"] in ("Deployment", "CronJob")]:
        template = (
            pod["spec"]["template"] if pod["kind"] == "Deployment" else pod["spec"]["jobTemplate"]["spec"]["template"]
        )
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"


def test_serve_deployment_service_and_monitoring_fit_together() -> None:
    docs = rendered("eks")
    deployment, service, monitor = kind(docs, "Deployment"), kind(docs, "Service"), kind(docs, "ServiceMonitor")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", "--port", "9090"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    token = next(e for e in container["env"] if e["name"] == "KUBEBILL_METRICS_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "kubebill-metrics-token", "key": "token"}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] == container["ports"][0]["name"]
    assert endpoint["authorization"]["credentials"] == {"name": "kubebill-metrics-token", "key": "token"}
    rules = yaml.safe_load((ROOT / "infra" / "alerts" / "kubebill.rules.yml").read_text())
    assert kind(docs, "PrometheusRule")["spec"] == rules
    cronjob = kind(docs, "CronJob")
    assert cronjob["spec"]["schedule"] == "10 0 * * *" and cronjob["spec"]["timeZone"] == "Etc/UTC"
    export = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert export["args"] == ["export"] and "KUBEBILL_METRICS_TOKEN" not in {e["name"] for e in export["env"]}
    gke = kind(rendered("gke"), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert gke["args"] == ["serve", "--port", "9090", "--schedule"]


def test_the_dashboards_config_map_carries_every_dashboard_for_the_sidecar() -> None:
    board = next(d for d in rendered("eks") if d["metadata"]["name"] == "kubebill-dashboards")
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    files = sorted((ROOT / "infra" / "dashboards").glob("*.json"))
    assert sorted(board["data"]) == [p.name for p in files]
    for path in files:
        assert json.loads(board["data"][path.name]) == json.loads(path.read_text())


def test_the_values_schema_is_generated_from_the_settings() -> None:
    spec = importlib.util.spec_from_file_location("build_schema", ROOT / "charts" / "build_schema.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    schema = CHART / "values.schema.json"
    assert schema.read_text() == build.render(), "stale: run .venv/bin/python charts/build_schema.py"
    listed = set(json.loads(schema.read_text())["properties"]["settings"]["properties"])
    assert listed == {row["env"] for row in variables()} - {"KUBEBILL_STORE", "KUBEBILL_METRICS_TOKEN"}


def test_checkov_finds_no_failed_check_in_the_rendered_chart(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is missing: expected {CHECKOV} (run .ci/setup)")
    for cloud in CLOUDS:
        (tmp_path / f"{cloud}.yaml").write_text(rendered_text(cloud))
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [str(CHECKOV), "-d", str(tmp_path), "--framework", "kubernetes", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    report = json.loads(done.stdout)
    runs = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})" for r in runs for c in r["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert sum(r["summary"]["passed"] for r in runs) > 300
    skipped = [c for r in runs for c in r["results"]["skipped_checks"]]
    assert {c["check_id"] for c in skipped} == {"CKV_K8S_35"}  # the token as an environment variable, with its reason
