"""Every object kind read from manifests, and the bad inputs: each named by file, document and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kubebill.estimate.manifests import GIB, HOURS_PER_MONTH, read_sources, read_text

POD = """
nodeSelector:
  node.kubernetes.io/instance-type: m5.xlarge
containers:
  - name: app
    resources:
      requests: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1}
  - name: sidecar
    resources:
      limits: {cpu: "0.25", memory: 256Mi}"""


def pod(spaces: int) -> str:
    return textwrap.indent(POD, " " * spaces)


ALL_KINDS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 3
  template:
    spec:{pod(6)}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  replicas: 2
  template:
    spec:{pod(6)}
  volumeClaimTemplates:
    - metadata: {{name: data}}
      spec:
        storageClassName: gp3
        resources: {{requests: {{storage: 100Gi}}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  template:
    spec:{pod(6)}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: once, annotations: {{kubebill.io/runtime-hours: "2.5"}}}}
spec:
  completions: 4
  template:
    spec:{pod(6)}
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      activeDeadlineSeconds: 1800
      template:
        spec:{pod(10)}
---
apiVersion: v1
kind: Pod
metadata: {{name: debug, annotations: {{kubebill.io/hours-per-month: "100"}}}}
spec:{pod(2)}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: scratch}}
spec:
  resources: {{requests: {{storage: 20Gi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{type: LoadBalancer}}
---
apiVersion: v1
kind: Service
metadata: {{name: internal}}
spec: {{type: ClusterIP}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
---
"""


def test_every_kind() -> None:
    demands, problems = read_text(ALL_KINDS, file="all.yaml", namespace="team")
    assert problems == []
    by = {d.label: d for d in demands}
    assert list(by) == [
        "Deployment/web",
        "StatefulSet/db",
        "DaemonSet/agent",
        "Job/once",
        "CronJob/nightly",
        "Pod/debug",
        "PersistentVolumeClaim/scratch",
        "Service/web",
    ]  # the ClusterIP Service and the ConfigMap cost nothing of their own
    for demand in demands[:6]:  # requests, and limits where a request is missing
        assert demand.cpu_cores == pytest.approx(0.75) and demand.cpu_cores_from_limits == pytest.approx(0.25)
        assert demand.ram_bytes == 1.25 * GIB and demand.ram_bytes_from_limits == 0.25 * GIB
        assert demand.gpus == 1 and demand.node_selector == {"node.kubernetes.io/instance-type": "m5.xlarge"}
    web = by["Deployment/web"]
    assert (web.namespace, web.pods, web.hours, web.per_node) == ("shop", 3, HOURS_PER_MONTH, False)
    db = by["StatefulSet/db"]
    assert db.namespace == "team" and db.pods == 2 and db.storage == [("gp3", 2 * 100 * GIB)]
    assert by["DaemonSet/agent"].per_node and by["DaemonSet/agent"].pods == 1
    assert (by["Job/once"].pods, by["Job/once"].hours) == (4, 2.5)
    nightly = by["CronJob/nightly"]
    assert nightly.pods == 1 and nightly.hours == pytest.approx(365 / 12 * 0.5)
    assert by["Pod/debug"].hours == 100 and by["Pod/debug"].pods == 1
    assert by["PersistentVolumeClaim/scratch"].storage == [(None, 20 * GIB)]
    assert by["Service/web"].load_balancers == 1 and by["Service/web"].pods == 0


def test_a_job_without_runtime_runs_an_hour_and_a_list_is_unpacked() -> None:
    text = """
kind: List
items:
  - kind: Job
    metadata: {name: j}
    spec:
      parallelism: 2
      template: {spec: {containers: [{name: c, resources: {requests: {cpu: 1, memory: 1G}}}]}}
"""
    [job], problems = read_text(text, file="list.yaml")
    assert problems == [] and (job.pods, job.hours, job.ram_bytes) == (2, 1.0, 1e9)


def _one(text: str) -> str:
    _, problems = read_text(text, file="bad.yaml")
    assert len(problems) == 1, problems
    return str(problems[0])


def test_bad_documents_name_file_document_and_field() -> None:
    good = "kind: Pod\nmetadata: {name: ok}\n"
    good += "spec: {containers: [{name: c, resources: {requests: {cpu: 1, memory: 1Gi}}}]}\n"
    bad_quantity = good.replace("cpu: 1,", "cpu: 500x,").replace("name: ok", "name: bad")
    text = f"{good}---\n{bad_quantity}---\nkind: Deploymnet\nmetadata: {{name: typo}}\n---\n{good}"
    demands, problems = read_text(text, file="app.yaml")
    assert [d.name for d in demands] == ["ok", "ok"]  # the other objects are still estimated
    assert [str(p) for p in problems] == [
        "app.yaml: document 2 (Pod/bad): spec.containers[0].resources.requests.cpu: expected a Kubernetes quantity "
        "such as 250m, 1.5, 512Mi or 2G, found '500x'",
        "app.yaml: document 3 (Deploymnet/typo): kind: unknown kind 'Deploymnet': expected one of Deployment, "
        "StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, PersistentVolumeClaim, Service",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c}]}}}",
            "bad.yaml: document 1 (Deployment/d): spec.template.spec.containers[0].resources.requests.cpu: missing: "
            "expected a cpu request (or limit)",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: {requests: {cpu: 1}}}]}",
            "spec.containers[0].resources.requests.memory: missing",
        ),
        ("kind: Pod\nmetadata: {name: p}\nspec: {}", "(Pod/p): spec.containers: missing"),
        ("kind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {}", "spec.resources.requests.storage: missing"),
        (
            "kind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {resources: {requests: {storage: 10GB}}}",
            "found '10GB'",
        ),
        (
            "kind: Deployment\nmetadata: {name: d}\n"
            "spec: {replicas: -1, template: {spec: {containers: "
            "[{name: c, resources: {limits: {cpu: 1, memory: 1}}}]}}}",
            "spec.replicas: expected a number of 0 or more",
        ),
        (
            "kind: CronJob\nmetadata: {name: c}\nspec: {schedule: '0 3 * *', jobTemplate: {spec: {template: "
            "{spec: {containers: [{name: c, resources: {limits: {cpu: 1, memory: 1}}}]}}}}}",
            "spec.schedule: expected 5 fields",
        ),
        ("metadata: {name: x}", "(x): kind: missing"),
        ("- just\n- a list", "bad.yaml: document 1: expected a Kubernetes object (a mapping)"),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: [unclosed",
            "bad.yaml: document 1: expected YAML, found a syntax error",
        ),
        (
            "kind: Pod\nmetadata: {name: p, annotations: {kubebill.io/hours-per-month: '900'}}\n"
            "spec: {containers: [{name: c, resources: {requests: {cpu: 1, memory: 1}}}]}",
            "metadata.annotations.kubebill.io/hours-per-month: expected 0 to 730 hours, found 900",
        ),
    ],
)
def test_bad_inputs(text: str, message: str) -> None:
    assert message in _one(text)


def test_files_folders_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "deploy" / "sub").mkdir(parents=True)
    pvc = "kind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {resources: {requests: {storage: 1Gi}}}\n"
    (tmp_path / "deploy" / "a.yaml").write_text(pvc)
    (tmp_path / "deploy" / "sub" / "b.yml").write_text(pvc.replace("name: c", "name: d"))
    (tmp_path / "deploy" / "notes.txt").write_text("not a manifest")
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    demands, problems = read_sources([str(tmp_path / "deploy"), str(tmp_path / "broken.yaml"), str(tmp_path / "gone")])
    assert [d.name for d in demands] == ["c", "d"]
    assert [p.file for p in problems] == [str(tmp_path / "broken.yaml"), str(tmp_path / "gone")]
    assert "expected YAML" in str(problems[0]) and "no such file or folder" in str(problems[1])
