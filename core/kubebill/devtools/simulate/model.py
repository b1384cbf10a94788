"""The generative cluster model: nodes, pods, containers, volumes and a LoadBalancer service per cluster.

Everything is drawn from one `random.Random` per cluster seeded from (seed, provider, cluster index), so
the same scenario always builds the same clusters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from kubebill.devtools.simulate.budgets import labels as budget_labels

PROVIDERS = ("aws", "azure", "gcp")
CLUSTER_PREFIX = {"aws": "eks", "azure": "aks", "gcp": "gke"}
GIB = 1024**3

# OpenCost's default prices (per core-hour, per GiB-hour): used to split a node's price into CPU and RAM.
DEFAULT_CPU_HOURLY = 0.031611
DEFAULT_RAM_GIB_HOURLY = 0.004237


@dataclass(frozen=True)
class InstanceType:
    name: str
    cores: int
    ram_gib: int
    hourly: float  # public on-demand price
    spot_hourly: float


INSTANCE_TYPES: dict[str, tuple[InstanceType, ...]] = {
    "aws": (
        InstanceType("m5.xlarge", 4, 16, 0.192, 0.0724),
        InstanceType("m5.2xlarge", 8, 32, 0.384, 0.1452),
        InstanceType("r5.xlarge", 4, 32, 0.252, 0.0901),
        InstanceType("c5.2xlarge", 8, 16, 0.34, 0.1264),
    ),
    "azure": (
        InstanceType("Standard_D4s_v3", 4, 16, 0.192, 0.0384),
        InstanceType("Standard_D8s_v3", 8, 32, 0.384, 0.0768),
        InstanceType("Standard_E4s_v3", 4, 32, 0.252, 0.0504),
    ),
    "gcp": (
        InstanceType("n2-standard-4", 4, 16, 0.194236, 0.047012),
        InstanceType("n2-standard-8", 8, 32, 0.388472, 0.094024),
        InstanceType("e2-standard-4", 4, 16, 0.134012, 0.040204),
    ),
}

# How each node is paid for, cycling by node index.
PRICING_CYCLE = ("ondemand", "commit", "spot", "savingsplan")
COMMIT_DISCOUNT = 0.40  # RI / reservation / CUD effective price = list × (1 − discount)
SAVINGS_PLAN_DISCOUNT = 0.28
SUSTAINED_USE_DISCOUNT = 0.20  # GCP on-demand N2 credits

REGIONS = {"aws": ("us-east-1", "us-east-1a"), "azure": ("eastus", "1"), "gcp": ("us-central1", "us-central1-a")}
NAMESPACES = ("checkout", "payments", "search", "analytics", "monitoring", "batch")
# The system namespaces (a cluster's shared overhead): kube-system runs the first drawn pod and every daemonset,
# monitoring the second (and those drawn into it); their pods carry the label team=platform.
SYSTEM_NAMESPACES = ("kube-system", "monitoring")
PLATFORM_TEAM = "platform"
# The resources outside every cluster tagged for a namespace, the same on every cloud (tag keys a GCP label
# accepts): the database for `payments` of the provider's first cluster, the bucket for `analytics` of no named
# cluster. A merge with KUBEBILL_NAMESPACE_TAGS=team,k8s-namespace and KUBEBILL_CLUSTER_TAGS=cluster hands them
# there; the untagged lines (commitment fees, tax, support, credits) stay not_kubernetes.
NAMESPACE_TAG, CLUSTER_TAG, BUCKET_TAG = "team", "cluster", "k8s-namespace"
DATABASE_NAMESPACE, BUCKET_NAMESPACE = "payments", "analytics"


def database_tags(provider: str) -> dict[str, str]:
    return {NAMESPACE_TAG: DATABASE_NAMESPACE, CLUSTER_TAG: cluster_name(provider, 0)}


BUCKET_TAGS = {BUCKET_TAG: BUCKET_NAMESPACE}
SIDECARS = ("istio-proxy", "log-shipper")


@dataclass(frozen=True)
class Scenario:
    """What `kubebill simulate` generates: clusters per provider, their size and the days."""

    providers: tuple[str, ...] = PROVIDERS
    clusters: int = 1
    nodes: int = 4
    pods: int = 12
    days: int = 2
    seed: int = 1
    end: date = date(2025, 6, 17)
    cloud_split: bool = False  # the clouds' own Kubernetes splits in the bills (devtools.simulate.cloud_split)
    allocations: bool = True  # False: no OpenCost exports, the agentless path alone

    def __post_init__(self) -> None:
        for name in ("clusters", "nodes", "pods", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if self.pods > 200_000 or self.nodes > 20_000 or self.days > 93 or self.clusters > 50:
            raise ValueError("too large: at most 50 clusters, 20000 nodes, 200000 pods and 93 days")
        unknown = set(self.providers) - set(PROVIDERS)
        if unknown or not self.providers:
            raise ValueError(f"--provider must be aws, azure or gcp, got {sorted(unknown) or 'none'}")

    @property
    def first_day(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        d = self.first_day
        return datetime(d.year, d.month, d.day, tzinfo=UTC)

    @property
    def day_list(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]


@dataclass
class Node:
    index: int
    name: str
    provider_id: str
    instance: InstanceType
    pricing: str  # ondemand, commit, spot, savingsplan
    pool: str
    resource_id: str  # the id the bill carries for the node's compute lines
    instance_id: str  # i-…, VMSS instance number, GCE numeric id
    cpu_rate: float  # list $ per core-hour
    ram_rate: float  # list $ per GiB-hour
    os_disk: str = ""

    @property
    def hourly(self) -> float:
        return self.instance.hourly


@dataclass
class Container:
    name: str
    cpu_request: float
    cpu_usage: float
    ram_request: float  # bytes
    ram_usage: float


@dataclass
class Volume:
    index: int
    name: str  # PV name pvc-<uuid>
    claim: str
    namespace: str
    provider_id: str  # vol-…, Azure disk id, GCE disk name
    size_gib: int
    hourly: float  # list price per hour
    pod: int | None  # mounting pod, None = unmounted


@dataclass
class Service:
    namespace: str
    name: str
    provider_id: str  # what OpenCost reports as the load balancer's ip
    resource_id: str  # what the bill carries
    hourly: float
    pods: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class Pod:
    index: int
    namespace: str
    controller_kind: str
    controller: str
    name: str
    node: int
    start_minute: int  # minutes since the scenario start
    end_minute: int  # exclusive
    labels: dict[str, str]
    containers: list[Container]
    volume: int | None = None
    service: str | None = None


@dataclass
class Cluster:
    provider: str
    index: int
    name: str
    account: str  # AWS account, Azure subscription, GCP project
    region: str
    zone: str
    nodes: list[Node]
    pods: list[Pod]
    volumes: list[Volume]
    services: list[Service]
    resource_group: str = ""  # Azure resource group of the AKS resource
    node_resource_group: str = ""  # Azure MC_ group
    arn: str = ""  # EKS cluster ARN


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def rates(instance: InstanceType) -> tuple[float, float]:
    """Per core-hour and per GiB-hour list prices whose sum over the node is its on-demand price."""
    weight = instance.cores * DEFAULT_CPU_HOURLY + instance.ram_gib * DEFAULT_RAM_GIB_HOURLY
    scale = instance.hourly / weight
    return DEFAULT_CPU_HOURLY * scale, DEFAULT_RAM_GIB_HOURLY * scale


def account_of(provider: str, seed: int) -> str:
    rng = random.Random(f"{seed}:{provider}:account")
    if provider == "aws":
        return "".join(rng.choice("0123456789") for _ in range(12))
    if provider == "azure":
        return _uuid(rng)
    return f"kubebill-sim-{_alnum(rng, 6)}"


def build_cluster(scenario: Scenario, provider: str, index: int) -> Cluster:
    rng = random.Random(f"{scenario.seed}:{provider}:{index}")
    name = cluster_name(provider, index)
    region, zone = REGIONS[provider]
    account = account_of(provider, scenario.seed)
    cluster = Cluster(provider, index, name, account, region, zone, [], [], [], [])
    if provider == "azure":
        cluster.resource_group = f"rg-{name}"
        cluster.node_resource_group = f"MC_{cluster.resource_group}_{name}_{region}"
    if provider == "aws":
        cluster.arn = f"arn:aws:eks:{region}:{account}:cluster/{name}"
    _nodes(cluster, scenario, rng)
    _pods(cluster, scenario, rng)
    return cluster


def _nodes(cluster: Cluster, scenario: Scenario, rng: random.Random) -> None:
    types = INSTANCE_TYPES[cluster.provider]
    pool_suffix = {
        "default": str(rng.randint(10_000_000, 99_999_999)),
        "spot": str(rng.randint(10_000_000, 99_999_999)),
    }
    vmss_count: dict[str, int] = {}
    gke_hash = {"default": _hex(rng, 8), "spot": _hex(rng, 8)}
    for i in range(scenario.nodes):
        instance = types[i % len(types)]
        pricing = PRICING_CYCLE[i % len(PRICING_CYCLE)]
        if cluster.provider == "gcp" and pricing == "savingsplan":
            pricing = "ondemand"
        pool = "spot" if pricing == "spot" else "default"
        cpu_rate, ram_rate = rates(instance)
        if cluster.provider == "aws":
            iid = "i-0" + _hex(rng, 16)
            ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            node = Node(
                i,
                f"ip-{ip.replace('.', '-')}.ec2.internal",
                f"aws:///{cluster.zone}/{iid}",
                instance,
                pricing,
                pool,
                iid,
                iid,
                cpu_rate,
                ram_rate,
                os_disk="vol-0" + _hex(rng, 16),
            )
        elif cluster.provider == "azure":
            vmss = f"aks-{'spotpool' if pool == 'spot' else 'nodepool1'}-{pool_suffix[pool]}-vmss"
            n = vmss_count.get(vmss, 0)
            vmss_count[vmss] = n + 1
            vmss_id = (
                f"/subscriptions/{cluster.account}/resourceGroups/{cluster.node_resource_group}"
                f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}"
            )
            provider_id = "azure://" + vmss_id.replace(cluster.node_resource_group, cluster.node_resource_group.lower())
            node = Node(
                i,
                f"{vmss}{_base36(n)}",
                f"{provider_id}/virtualMachines/{n}",
                instance,
                pricing,
                pool,
                vmss_id,
                str(n),
                cpu_rate,
                ram_rate,
                os_disk=f"{vmss}_{n}_OsDisk_1_{_hex(rng, 32)}",
            )
        else:
            gname = f"gke-{cluster.name}-{pool}-pool-{gke_hash[pool]}-{_alnum(rng, 4)}"
            numeric = str(rng.randint(10**18, 9 * 10**18))
            node = Node(
                i,
                gname,
                f"gce://{cluster.account}/{cluster.zone}/{gname}",
                instance,
                pricing,
                pool,
                gname,
                numeric,
                cpu_rate,
                ram_rate,
                os_disk=gname,
            )
        cluster.nodes.append(node)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(6):
        out = digits[n % 36] + out
        n //= 36
    return out


def _pods(cluster: Cluster, scenario: Scenario, rng: random.Random) -> None:
    total_minutes = scenario.days * 24 * 60
    n_pods = scenario.pods
    n_nodes = len(cluster.nodes)
    # The fixed workloads: a statefulset with PVs, a web deployment behind a LoadBalancer.
    n_db = min(2, n_pods)
    n_web = min(3, n_pods - n_db)
    pv_hourly = {"aws": 0.08, "azure": 0.0768 * 128 / 100, "gcp": 0.1}[cluster.provider] / 730
    lb_hourly = {"aws": 0.0225, "azure": 0.005, "gcp": 0.025}[cluster.provider]
    service = _service(cluster, rng, lb_hourly)
    if n_web:  # a LoadBalancer Service only when there are pods behind it
        cluster.services.append(service)
    rs_hash: dict[str, str] = {}
    for p in range(n_pods):
        node = p % n_nodes
        if p < n_db:
            ns, kind, controller = "payments", "statefulset", "postgres"
            pod_name = f"postgres-{p}"
            start, end = 0, total_minutes
        elif p < n_db + n_web:
            ns, kind, controller = "checkout", "deployment", "web"
            rs_hash.setdefault(controller, _alnum(rng, 9))
            pod_name = f"web-{rs_hash[controller]}-{_alnum(rng, 5)}"
            start, end = 0, total_minutes
        else:
            ns = NAMESPACES[rng.randrange(len(NAMESPACES))]
            kind = rng.choice(("deployment", "deployment", "deployment", "statefulset", "daemonset", "job"))
            controller = f"{ns}-{rng.choice(('api', 'worker', 'cache', 'indexer', 'exporter', 'etl'))}"
            if kind == "deployment":
                rs_hash.setdefault(controller, _alnum(rng, 9))
                pod_name = f"{controller}-{rs_hash[controller]}-{_alnum(rng, 5)}"
            elif kind == "statefulset":
                pod_name = f"{controller}-{p}"
            else:
                pod_name = f"{controller}-{_alnum(rng, 5)}"
            if kind == "job":
                start = rng.randrange(0, total_minutes - 30)
                end = min(total_minutes, start + rng.randrange(30, 600))
            elif rng.random() < 0.3:  # started or stopped within the days
                start = rng.randrange(0, total_minutes // 2)
                end = rng.randrange(start + 60, total_minutes + 1) if rng.random() < 0.5 else total_minutes
            else:
                start, end = 0, total_minutes
            system = SYSTEM_NAMESPACES[p - n_db - n_web] if p - n_db - n_web < len(SYSTEM_NAMESPACES) else None
            if kind == "daemonset" or system:  # after every draw: the same pods as before, renamed
                ns = system or SYSTEM_NAMESPACES[0]
                controller = f"{ns}-{controller.split('-', 1)[1]}"
                pod_name = f"{ns}-{pod_name.split('-', 1)[1]}"
        # OpenCost reports labels with non-alphanumerics as underscores (pod-template-hash → pod_template_hash)
        team = PLATFORM_TEAM if ns in SYSTEM_NAMESPACES else ns
        labels = {"app": controller, "team": team, "app_kubernetes_io_name": controller, **budget_labels(ns)}
        if kind == "deployment":
            labels["pod_template_hash"] = rs_hash.get(controller, "")
        cluster.pods.append(Pod(p, ns, kind, controller, pod_name, node, start, end, labels, []))
        if p >= n_db and p < n_db + n_web:
            cluster.pods[-1].service = service.key
            service.pods.append(p)
    _size_containers(cluster, rng)
    # PVs: one per statefulset pod in "payments" plus one left unmounted.
    for pod in cluster.pods[:n_db]:
        cluster.volumes.append(_volume(cluster, rng, len(cluster.volumes), pod, pv_hourly))
        pod.volume = cluster.volumes[-1].index
    cluster.volumes.append(_volume(cluster, rng, len(cluster.volumes), None, pv_hourly))


def _size_containers(cluster: Cluster, rng: random.Random) -> None:
    """Requests and usage so that every node's allocated capacity stays under 80 %."""
    on_node: dict[int, list[Pod]] = {}
    for pod in cluster.pods:
        on_node.setdefault(pod.node, []).append(pod)
    for n, pods in on_node.items():
        inst = cluster.nodes[n].instance
        cpu_budget = inst.cores * 0.8 / len(pods)
        ram_budget = inst.ram_gib * GIB * 0.8 / len(pods)
        for pod in pods:
            count = 1 if rng.random() < 0.5 else 2
            for c in range(count):
                names = (pod.controller.split("-")[-1], SIDECARS[rng.randrange(2)])
                share = 0.75 if (count == 2 and c == 0) else (0.25 if count == 2 else 1.0)
                cpu_alloc = round(cpu_budget * share * rng.uniform(0.4, 1.0), 3)
                ram_alloc = float(int(ram_budget * share * rng.uniform(0.4, 1.0)))
                if rng.random() < 0.8:
                    cpu_req, cpu_use = cpu_alloc, cpu_alloc * rng.uniform(0.1, 0.9)
                    ram_req, ram_use = ram_alloc, ram_alloc * rng.uniform(0.3, 0.95)
                else:  # usage above request (or no request): OpenCost allocates max(request, usage)
                    cpu_req, cpu_use = round(cpu_alloc * rng.uniform(0.0, 0.6), 3), cpu_alloc
                    ram_req, ram_use = float(int(ram_alloc * rng.uniform(0.2, 0.7))), ram_alloc
                pod.containers.append(Container(names[c], cpu_req, cpu_use, ram_req, ram_use))


def _service(cluster: Cluster, rng: random.Random, hourly: float) -> Service:
    ns, name = "checkout", "web"
    if cluster.provider == "aws":
        lb = "a" + _hex(rng, 31)
        rid = f"arn:aws:elasticloadbalancing:{cluster.region}:{cluster.account}:loadbalancer/net/{lb}/{_hex(rng, 16)}"
        return Service(ns, name, f"{lb}-{_hex(rng, 16)}.elb.{cluster.region}.amazonaws.com", rid, hourly)
    ip = f"20.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if cluster.provider == "azure":
        pip = f"kubernetes-a{_hex(rng, 32)}"
        rid = (
            f"/subscriptions/{cluster.account}/resourceGroups/{cluster.node_resource_group}"
            f"/providers/Microsoft.Network/publicIPAddresses/{pip}"
        )
        return Service(ns, name, ip, rid, hourly)
    return Service(ns, name, ip, "a" + _hex(rng, 31), hourly)


def _volume(cluster: Cluster, rng: random.Random, index: int, pod: Pod | None, hourly_per_gib: float) -> Volume:
    pv = f"pvc-{_uuid(rng)}"
    size = 100 if pod is not None else 50
    claim = f"data-{pod.name}" if pod is not None else "data-orphaned-0"
    if cluster.provider == "aws":
        provider_id = "vol-0" + _hex(rng, 16)
    elif cluster.provider == "azure":
        provider_id = (
            f"/subscriptions/{cluster.account}/resourceGroups/{cluster.node_resource_group}"
            f"/providers/Microsoft.Compute/disks/{pv}"
        )
    else:
        provider_id = f"pvc-{pv[4:]}"
    return Volume(
        index, pv, claim, "payments", provider_id, size, size * hourly_per_gib, pod.index if pod is not None else None
    )


def cluster_name(provider: str, index: int) -> str:
    return f"{CLUSTER_PREFIX[provider]}-prod-{index + 1}"


def cluster_names(scenario: Scenario) -> list[str]:
    """Every cluster `simulate` writes for `scenario`, provider by provider."""
    return [cluster_name(p, i) for p in scenario.providers for i in range(scenario.clusters)]


def parse_cluster_name(scenario: Scenario, name: str) -> tuple[str, int]:
    """(provider, index) of a simulated cluster name; ValueError naming the known ones otherwise."""
    for provider in scenario.providers:
        for index in range(scenario.clusters):
            if cluster_name(provider, index) == name:
                return provider, index
    raise ValueError(f"no simulated cluster {name!r}; expected one of {', '.join(cluster_names(scenario))}")


def build_clusters(scenario: Scenario, provider: str) -> list[Cluster]:
    return [build_cluster(scenario, provider, i) for i in range(scenario.clusters)]
