"""Kubernetes manifests read into what each object asks of a cluster in a month.

`read_sources(paths)` reads files, folders (every *.yaml, *.yml, *.json below) or `-` (standard input), every
YAML document of each, and returns the demands of the objects that cost something plus the problems found
(each naming the file, the document and the field); one bad document never stops the others.
Requests are used, limits where a request is missing (what Kubernetes does), × replicas. The hours an object
runs in a month: 730 for long-running workloads, Job runtime × completions, CronJob × runs a month from its
schedule; the `kubebill.io/hours-per-month` annotation overrides it (a workload scaled to zero at night).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubebill.estimate.cron import runs_per_month
from kubebill.estimate.quantity import byte_count, cores

HOURS_PER_MONTH = 730.0
GIB = 1024**3
HOURS_ANNOTATION = "kubebill.io/hours-per-month"
RUNTIME_ANNOTATION = "kubebill.io/runtime-hours"
DEFAULT_JOB_HOURS = 1.0
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915")
# Kinds that cost nothing of their own (their cost is in the objects above); anything else is refused.
COSTLESS_KINDS = frozenset(
    {
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Namespace",
        "Ingress",
        "IngressClass",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "LimitRange",
        "ResourceQuota",
        "PriorityClass",
        "StorageClass",
        "PersistentVolume",
        "CustomResourceDefinition",
        "Endpoints",
        "EndpointSlice",
    }
)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
KINDS = (*WORKLOAD_KINDS, "PersistentVolumeClaim", "Service")


@dataclass(frozen=True)
class Problem:
    """Why one document (or a whole file) could not be estimated."""

    file: str
    document: int | None  # 1-based; None: the whole file
    what: str  # Kind/name, or "" when unknown
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file + (f": document {self.document}" if self.document is not None else "")
        where += f" ({self.what})" if self.what else ""
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class Demand:
    """What one object asks for in a month; DaemonSets' pods are counted once per node by the estimate."""

    file: str
    document: int
    kind: str
    name: str
    namespace: str
    pods: float = 0.0  # pods running at once (replicas, completions); per node for a DaemonSet
    per_node: bool = False
    hours: float = HOURS_PER_MONTH  # hours each pod runs in the month
    cpu_cores: float = 0.0  # per pod
    ram_bytes: float = 0.0
    cpu_cores_from_limits: float = 0.0  # the part of cpu_cores taken from limits (no request)
    ram_bytes_from_limits: float = 0.0
    gpus: float = 0.0
    storage: list[tuple[str | None, float]] = field(default_factory=list)  # (storage class, bytes) each a month
    load_balancers: int = 0
    node_selector: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def source_files(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(name, text) of each manifest file; text None when the path does not exist."""
    for raw in paths:
        if raw == "-":
            yield "<stdin>", sys.stdin.read()
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json"))
            for item in found:
                yield str(item), item.read_text(encoding="utf-8", errors="replace")
        elif path.is_file():
            yield str(path), path.read_text(encoding="utf-8", errors="replace")
        else:
            yield str(path), None


def read_sources(paths: Iterable[str], *, namespace: str = "default") -> tuple[list[Demand], list[Problem]]:
    """The demands of every costing object in `paths`, and every problem (file, document, field)."""
    demands: list[Demand] = []
    problems: list[Problem] = []
    for name, text in source_files(paths):
        if text is None:
            problems.append(Problem(name, None, "", "", "no such file or folder"))
            continue
        found, bad = read_text(text, file=name, namespace=namespace)
        demands += found
        problems += bad
    return demands, problems


def read_text(text: str, *, file: str, namespace: str = "default") -> tuple[list[Demand], list[Problem]]:
    import yaml

    demands: list[Demand] = []
    problems: list[Problem] = []
    number = 0
    try:
        for doc in yaml.safe_load_all(text):
            number += 1
            if doc is None:
                continue
            items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
            for item in items if isinstance(items, list) else []:
                demand, problem = _object(item, file=file, document=number, namespace=namespace)
                if demand is not None:
                    demands.append(demand)
                if problem is not None:
                    problems.append(problem)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(file, number + 1, "", "", f"expected YAML, found a syntax error{line}: {reason}"))
    return demands, problems


def _object(doc: object, *, file: str, document: int, namespace: str) -> tuple[Demand | None, Problem | None]:
    if not isinstance(doc, dict):
        return None, Problem(file, document, "", "", f"expected a Kubernetes object (a mapping), found {doc!r:.60}")
    kind = doc.get("kind")
    found = doc.get("metadata")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(meta.get("name") or meta.get("generateName") or "?")
    what = f"{kind}/{name}" if kind else name
    if not isinstance(kind, str) or not kind:
        return None, Problem(file, document, what, "kind", "missing: expected a Kubernetes object with a kind")
    if kind in COSTLESS_KINDS:
        return None, None
    if kind not in KINDS:
        known = ", ".join(KINDS)
        return None, Problem(file, document, what, "kind", f"unknown kind {kind!r}: expected one of {known}")
    demand = Demand(file, document, kind, name, str(meta.get("namespace") or namespace))
    try:
        _fill(demand, doc, meta)
    except _Bad as bad:
        return None, Problem(file, document, what, bad.field, bad.message)
    if kind == "Service" and not demand.load_balancers:
        return None, None
    return demand, None


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _number(value: object, field: str, *, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _Bad(field, f"expected a number of 0 or more, found {value!r}")
    return float(value)


def _fill(demand: Demand, doc: dict[str, Any], meta: dict[str, Any]) -> None:
    kind = demand.kind
    found = meta.get("annotations")
    annotations: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "PersistentVolumeClaim":
        demand.storage.append(_claim(doc.get("spec"), "spec"))
        return
    if kind == "Service":
        if _get(doc, "spec.type") == "LoadBalancer":
            demand.load_balancers = 1
        return
    pod_path = {
        "Pod": "spec",
        "Job": "spec.template.spec",
        "CronJob": "spec.jobTemplate.spec.template.spec",
    }.get(kind, "spec.template.spec")
    _pod(demand, _get(doc, pod_path), pod_path)
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        demand.pods = _number(_get(doc, "spec.replicas"), "spec.replicas", default=1)
    elif kind == "DaemonSet":
        demand.pods, demand.per_node = 1, True
    elif kind == "Pod":
        demand.pods = 1
    else:
        job = "spec" if kind == "Job" else "spec.jobTemplate.spec"
        demand.pods = _completions(doc, job)
        runtime = _runtime(doc, job, annotations)
        if kind == "CronJob":
            schedule = _get(doc, "spec.schedule")
            try:
                runs = runs_per_month(str(schedule)) if schedule is not None else None
            except ValueError as exc:
                raise _Bad("spec.schedule", str(exc)) from None
            if runs is None:
                raise _Bad("spec.schedule", "missing: expected a cron schedule such as '0 3 * * *'")
            demand.hours = runtime * runs
            demand.notes.append(f"{runs:.4g} runs/month × {runtime:.4g} h")
        else:
            demand.hours = runtime
            demand.notes.append(f"one run of {runtime:.4g} h")
    if kind == "StatefulSet":
        templates = _get(doc, "spec.volumeClaimTemplates") or []
        for index, template in enumerate(templates if isinstance(templates, list) else []):
            storage_class, size = _claim(_get(template, "spec"), f"spec.volumeClaimTemplates[{index}].spec")
            demand.storage.append((storage_class, size * demand.pods))
    if HOURS_ANNOTATION in annotations:
        field_name = f"metadata.annotations.{HOURS_ANNOTATION}"
        try:
            hours = float(annotations[HOURS_ANNOTATION])
        except (TypeError, ValueError):
            raise _Bad(field_name, f"expected hours, found {annotations[HOURS_ANNOTATION]!r}") from None
        if not 0 <= hours <= HOURS_PER_MONTH:
            raise _Bad(field_name, f"expected 0 to {HOURS_PER_MONTH:g} hours, found {hours:g}")
        demand.hours = hours
        demand.notes = [f"{hours:.4g} h/month ({HOURS_ANNOTATION})"]


def _completions(doc: dict[str, Any], job: str) -> float:
    completions = _get(doc, f"{job}.completions")
    if completions is None:
        completions = _get(doc, f"{job}.parallelism")
    return _number(completions, f"{job}.completions", default=1)


def _runtime(doc: dict[str, Any], job: str, annotations: dict[str, Any]) -> float:
    if RUNTIME_ANNOTATION in annotations:
        try:
            return float(annotations[RUNTIME_ANNOTATION])
        except (TypeError, ValueError):
            field_name = f"metadata.annotations.{RUNTIME_ANNOTATION}"
            raise _Bad(field_name, f"expected hours, found {annotations[RUNTIME_ANNOTATION]!r}") from None
    deadline = _get(doc, f"{job}.activeDeadlineSeconds")
    if deadline is not None:
        return _number(deadline, f"{job}.activeDeadlineSeconds", default=0) / 3600
    return DEFAULT_JOB_HOURS


def _claim(spec: Any, path: str) -> tuple[str | None, float]:
    size = _get(spec, "resources.requests.storage")
    if size is None:
        raise _Bad(f"{path}.resources.requests.storage", "missing: expected the claim's size such as 10Gi")
    storage_class = _get(spec, "storageClassName")
    return (str(storage_class) if storage_class else None), _quantity(
        size, f"{path}.resources.requests.storage", byte_count
    )


def _quantity(value: object, field: str, parse: Any) -> float:
    try:
        amount = float(parse(value))
    except ValueError as exc:
        raise _Bad(field, str(exc)) from None
    if amount < 0:
        raise _Bad(field, f"expected 0 or more, found {value!r}")
    return amount


def _pod(demand: Demand, spec: Any, path: str) -> None:
    containers = _get(spec, "containers")
    if not isinstance(containers, list) or not containers:
        raise _Bad(f"{path}.containers", "missing: expected at least one container")
    selector = _get(spec, "nodeSelector")
    if isinstance(selector, dict):
        demand.node_selector = {str(k): str(v) for k, v in selector.items()}
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}].resources"
        requests = _get(container, "resources.requests") or {}
        limits = _get(container, "resources.limits") or {}
        if not isinstance(requests, dict) or not isinstance(limits, dict):
            raise _Bad(where, "expected requests and limits as mappings")
        for resource, parse, attr in (("cpu", cores, "cpu_cores"), ("memory", byte_count, "ram_bytes")):
            if resource in requests:
                amount = _quantity(requests[resource], f"{where}.requests.{resource}", parse)
            elif resource in limits:
                amount = _quantity(limits[resource], f"{where}.limits.{resource}", parse)
                setattr(demand, f"{attr}_from_limits", getattr(demand, f"{attr}_from_limits") + amount)
            else:
                raise _Bad(
                    f"{where}.requests.{resource}",
                    f"missing: expected a {resource} request (or limit) to price the container",
                )
            setattr(demand, attr, getattr(demand, attr) + amount)
        for gpu in GPU_RESOURCES:
            value = requests.get(gpu, limits.get(gpu))
            if value is not None:
                demand.gpus += _quantity(value, f"{where}.limits.{gpu}", cores)
