"""The Kubernetes manifests of a simulated cluster's workloads: `manifests/<cluster>/<namespace>.yaml`.

One object per controller (Deployment, StatefulSet, DaemonSet, Job) with `replicas` = its pods, the web
Service of type LoadBalancer, and the StatefulSet's volume claim templates, so that `kubebill estimate` of a
namespace's file can be checked against what the same workloads cost in the results. The model sizes each pod
on its own and lets some run part of the time, while a manifest has one pod template: each container's
requests are the pods' averages weighted by the time each ran, and the `kubebill.io/hours-per-month`
annotation says how long the pods run when they did not run the whole time (a DaemonSet's pods are spread
over every node, as `kubebill estimate` counts them). Containers whose usage goes above the request carry a
limit at that usage, as a container that may burst does. The unmounted PV is left out: no claim binds it.

Written by hand (no YAML library needed to simulate); the YAML is plain block style.
"""

from __future__ import annotations

from pathlib import Path

from kubebill.devtools.simulate.model import Cluster, Pod, Scenario
from kubebill.devtools.simulate.native import Written

HOURS_PER_MONTH = 730.0
KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet", "job": "Job"}


def manifest_key(cluster: str, namespace: str) -> str:
    return f"manifests/{cluster}/{namespace}.yaml"


def _share(pod: Pod, total_minutes: int) -> float:
    return (pod.end_minute - pod.start_minute) / total_minutes


def _containers(pods: list[Pod], shares: list[float]) -> list[tuple[str, float, float, float, float]]:
    """(name, cpu request, ram request, cpu limit, ram limit) per container name: time-weighted pod averages."""
    weight = sum(shares)
    names = list(dict.fromkeys(c.name for p in pods for c in p.containers))
    out = []
    for name in names:
        cpu = ram = cpu_limit = ram_limit = 0.0
        for pod, share in zip(pods, shares, strict=True):
            for c in pod.containers:
                if c.name == name:
                    cpu += c.cpu_request * share
                    ram += c.ram_request * share
                    cpu_limit += max(c.cpu_request, c.cpu_usage) * share
                    ram_limit += max(c.ram_request, c.ram_usage) * share
        out.append((name, cpu / weight, ram / weight, cpu_limit / weight, ram_limit / weight))
    return out


def _resources(cpu: float, ram: float, cpu_limit: float, ram_limit: float, indent: str) -> list[str]:
    lines = [f"{indent}resources:"]
    if cpu > 0 or ram > 0:
        lines.append(f"{indent}  requests:")
        if cpu > 0:
            lines.append(f"{indent}    cpu: {round(cpu * 1000)}m")
        if ram > 0:
            lines.append(f'{indent}    memory: "{round(ram)}"')
    if cpu_limit > cpu or ram_limit > ram:
        lines.append(f"{indent}  limits:")
        lines.append(f"{indent}    cpu: {round(cpu_limit * 1000)}m")
        lines.append(f'{indent}    memory: "{round(ram_limit)}"')
    return lines


def _workload(cluster: Cluster, scenario: Scenario, pods: list[Pod]) -> list[str]:
    first = pods[0]
    kind = KINDS[first.controller_kind]
    total = scenario.days * 24 * 60
    shares = [_share(p, total) for p in pods]
    hours = HOURS_PER_MONTH * sum(shares) / len(pods)
    scale = 1.0
    if kind == "DaemonSet":  # `kubebill estimate` counts a DaemonSet's pod once per node
        hours = HOURS_PER_MONTH * sum(shares) / len(cluster.nodes)
        if hours > HOURS_PER_MONTH:
            scale, hours = hours / HOURS_PER_MONTH, HOURS_PER_MONTH
    lines = ["---", "apiVersion: " + ("batch/v1" if kind == "Job" else "apps/v1"), f"kind: {kind}", "metadata:"]
    lines += [
        f"  name: {first.controller}",
        f"  namespace: {first.namespace}",
        f"  labels:\n    app: {first.controller}",
    ]
    if kind == "Job" or abs(hours - HOURS_PER_MONTH) > 1e-9:
        lines.append(f'  annotations:\n    kubebill.io/hours-per-month: "{hours:.6f}"')
    lines.append("spec:")
    if kind in ("Deployment", "StatefulSet"):
        lines.append(f"  replicas: {len(pods)}")
    elif kind == "Job":
        lines.append(f"  completions: {len(pods)}\n  parallelism: {len(pods)}")
    if kind != "Job":
        lines.append(f"  selector:\n    matchLabels:\n      app: {first.controller}")
    if kind == "StatefulSet":
        lines.append(f"  serviceName: {first.controller}")
    lines += ["  template:", "    metadata:", f"      labels:\n        app: {first.controller}", "    spec:"]
    if kind == "Job":
        lines.append("      restartPolicy: Never")
    lines.append("      containers:")
    for name, cpu, ram, cpu_limit, ram_limit in _containers(pods, shares):
        lines += [f"        - name: {name}", f"          image: registry.example/{name}:1"]
        lines += _resources(cpu * scale, ram * scale, cpu_limit * scale, ram_limit * scale, "          ")
    volumes = [cluster.volumes[p.volume] for p in pods if p.volume is not None]
    if kind == "StatefulSet" and volumes:
        size = max(v.size_gib for v in volumes)
        lines += ["  volumeClaimTemplates:", "    - metadata:", "        name: data", "      spec:"]
        lines += [
            "        accessModes: [ReadWriteOnce]",
            f"        resources:\n          requests:\n            storage: {size}Gi",
        ]
    return lines


def _services(cluster: Cluster, namespace: str) -> list[str]:
    lines: list[str] = []
    for service in cluster.services:
        if service.namespace == namespace:
            name = service.key.split("/", 1)[1]
            lines += ["---", "apiVersion: v1", "kind: Service", "metadata:", f"  name: {name}"]
            lines += [f"  namespace: {namespace}", "spec:", "  type: LoadBalancer", f"  selector:\n    app: {name}"]
            lines += ["  ports:", "    - port: 80", "      targetPort: 8080"]
    return lines


def write_manifests(out: Path, scenario: Scenario, clusters: list[Cluster]) -> list[Written]:
    """Write every cluster's manifests, one file per namespace; what was written (key, objects)."""
    written = []
    for cluster in clusters:
        groups: dict[str, dict[tuple[str, str], list[Pod]]] = {}
        for pod in cluster.pods:
            groups.setdefault(pod.namespace, {}).setdefault((pod.controller_kind, pod.controller), []).append(pod)
        for namespace in sorted(groups):
            lines = [f"# simulated workloads of namespace {namespace} in cluster {cluster.name} (kubebill simulate)"]
            for key in sorted(groups[namespace]):
                lines += _workload(cluster, scenario, groups[namespace][key])
            lines += _services(cluster, namespace)
            path = manifest_key(cluster.name, namespace)
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text("\n".join(lines) + "\n", encoding="utf-8")
            written.append(Written(path, sum(1 for line in lines if line == "---")))
    return written
