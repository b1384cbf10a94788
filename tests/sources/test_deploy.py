"""The in-cluster deployment: every manifest (base and rendered overlays) validates against the Kubernetes
schemas (kubernetes-validate, strict), the CronJob is locked down, and the Dockerfile lints clean (hadolint)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

K8S = ROOT / "infra" / "kubernetes"
OVERLAYS = ("eks", "aks", "gke")


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge patch as kustomize applies these: maps deep-merged, lists of named maps by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        result = dict(base)
        for key, value in patch.items():
            result[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return result
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        merged = {item["name"]: item for item in base}
        for item in patch:
            merged[item["name"]] = merge(merged[item["name"]], item) if item["name"] in merged else item
        return list(merged.values())
    return copy.deepcopy(patch)


def render(directory: Path) -> list[dict[str, Any]]:
    """`kustomize build` for the subset these manifests use: resources, strategic-merge patches, namespace."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        resources += render(path) if path.is_dir() else list(yaml.safe_load_all(path.read_text()))
    for entry in kustomization.get("patches", []):
        patch = yaml.safe_load((directory / entry["path"]).read_text())
        targets = [
            r for r in resources if (r["kind"], r["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"])
        ]
        assert len(targets) == 1, (
            f"{entry['path']} patches {patch['kind']}/{patch['metadata']['name']}, not in the base"
        )
        resources[resources.index(targets[0])] = merge(targets[0], patch)
    if "namespace" in kustomization:
        for resource in resources:
            if resource["kind"] != "Namespace":
                resource["metadata"]["namespace"] = kustomization["namespace"]
    return resources


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(r for r in resources if r["kind"] == kind)


@pytest.mark.parametrize("path", sorted(K8S.rglob("*.yaml")), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_is_valid(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        if document.get("kind") == "Kustomization":
            continue
        if path.parent.name in OVERLAYS:
            continue  # a patch is partial on purpose; its rendered result is validated below
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_rendered_overlays_are_valid_and_locked_down(overlay: str) -> None:
    resources = render(K8S / "base" if overlay == "base" else K8S / "overlays" / overlay)
    assert sorted(r["kind"] for r in resources) == ["ConfigMap", "CronJob", "Namespace", "ServiceAccount"]
    for resource in resources:
        kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)
    cronjob = by_kind(resources, "CronJob")
    assert cronjob["spec"]["schedule"] == "10 0 * * *" and cronjob["spec"]["timeZone"] == "Etc/UTC"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["args"] == ["export"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]["requests"]) >= {"cpu", "memory"}
    assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    assert next(v for v in pod["volumes"] if v["name"] == tmp["name"])["emptyDir"]
    assert pod["serviceAccountName"] == by_kind(resources, "ServiceAccount")["metadata"]["name"]
    assert container["envFrom"][0]["configMapRef"]["name"] == by_kind(resources, "ConfigMap")["metadata"]["name"]
    config = by_kind(resources, "ConfigMap")["data"]
    annotations = by_kind(resources, "ServiceAccount")["metadata"].get("annotations", {})
    labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    if overlay == "eks":
        assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
        assert config["KUBEBILL_STORE"].startswith("s3://")
    if overlay == "aks":
        assert "azure.workload.identity/client-id" in annotations
        assert labels["azure.workload.identity/use"] == "true"
        assert config["KUBEBILL_SOURCE"] == "aks" and config["KUBEBILL_STORE"].startswith("az://")
    if overlay == "gke":
        assert annotations["iam.gke.io/gcp-service-account"].endswith(".iam.gserviceaccount.com")
        assert config["KUBEBILL_STORE"].startswith("gs://")


def test_the_configured_variables_are_ones_kubebill_reads() -> None:
    from kubebill.settings import variables

    known = {row["env"] for row in variables()} | {"AZURE_STORAGE_ACCOUNT_NAME"}
    for overlay in ("base", *OVERLAYS):
        resources = render(K8S / "base" if overlay == "base" else K8S / "overlays" / overlay)
        assert set(by_kind(resources, "ConfigMap")["data"]) <= known


def test_dockerfile_lints_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and "USER 10001" in text and 'ENTRYPOINT ["kubebill"]' in text
    assert "--no-cache-dir" in text and ".[aws,azure,gcp]" in text
