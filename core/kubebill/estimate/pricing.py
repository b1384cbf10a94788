"""An estimate: each object's monthly demand × the cluster's unit prices, and the baseline it is compared with."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.estimate.manifests import GIB, HOURS_PER_MONTH, Demand
from kubebill.estimate.prices import Price, PriceBook, Rates

INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
POOL_LABELS = (
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
)


@dataclass
class Cost:
    effective: float = 0.0
    list: float = 0.0

    def add(self, quantity: float, price: Price, what: str, notes: builtins.list[str]) -> None:
        """Add `quantity` at `price`, saying in `notes` when the price is missing or rests on too little data."""
        if quantity and price.effective is None:
            notes.append(f"no {what} price in the results: not priced")
        elif quantity and price.thin:
            notes.append(f"the {what} price rests on {price.lines} bill lines only")
        self.effective += quantity * (price.effective or 0.0)
        self.list += quantity * (price.list or 0.0)


@dataclass
class Line:
    """One object's monthly estimate (and its baseline, when there is one)."""

    demand: Demand
    pods: float
    cpu_core_hours: float
    ram_gib_hours: float
    gpu_hours: float
    storage_gib_months: float
    load_balancer_hours: float
    cost: Cost
    prices: str  # "cluster" or the node group whose prices were used
    notes: list[str] = field(default_factory=list)
    baseline: Cost | None = None


@dataclass
class Estimate:
    book: PriceBook
    lines: list[Line]
    with_overhead: bool
    baseline_name: str | None = None  # a file, "cluster", or None without a baseline
    requests_only: bool = False

    @property
    def total(self) -> Cost:
        return Cost(sum(x.cost.effective for x in self.lines), sum(x.cost.list for x in self.lines))

    @property
    def baseline(self) -> Cost | None:
        if self.baseline_name is None:
            return None
        found = [x.baseline for x in self.lines if x.baseline is not None]
        return Cost(sum(c.effective for c in found), sum(c.list for c in found))

    def difference(self) -> tuple[float, float | None] | None:
        """(new − baseline, % of the baseline; None when the baseline is 0), effective cost; None: no baseline."""
        base = self.baseline
        if base is None:
            return None
        delta = self.total.effective - base.effective
        return delta, (delta / base.effective * 100 if base.effective else None)

    def over(self, percent: float) -> bool:
        """The increase is larger than `percent` (any increase over a zero baseline is)."""
        diff = self.difference()
        if diff is None:
            return False
        delta, pct = diff
        return delta > 0 if pct is None else pct > percent


def node_group(demand: Demand, book: PriceBook) -> str | None:
    """The node group whose prices apply, when the object's nodeSelector names one the results show."""
    for label in INSTANCE_TYPE_LABELS:
        value = demand.node_selector.get(label)
        if value and value.split(".")[0].lower() in book.groups:
            return value.split(".")[0].lower()
    for label in POOL_LABELS:
        value = demand.node_selector.get(label)
        if value:
            for name in book.groups:
                if f"-{value.lower()}-" in f"-{name}-":
                    return name
    return None


def _storage_price(storage_class: str | None, book: PriceBook, notes: list[str]) -> Price:
    if storage_class:
        wanted = storage_class.lower()
        for item in book.storage:
            if wanted in item.description.lower() or wanted == item.sku.lower():
                return item.gib_month
        if len(book.storage) > 1:
            notes.append(f"storage class {storage_class!r} not among the bill's PV SKUs: priced at the PVs' average")
    return book.all_storage


def price(demand: Demand, book: PriceBook, *, with_overhead: bool = False, requests_only: bool = False) -> Line:
    """The monthly cost of one object at the book's prices (× (1 + overhead ratio) with `with_overhead`).

    Requests count × the cluster's burst (allocated ÷ requested hours) unless `requests_only`; limits standing
    in for a missing request count as they are (a container cannot be allocated more than its limit)."""
    notes = list(demand.notes)
    group = node_group(demand, book)
    rates: Rates = book.groups[group] if group else book.compute
    pods = demand.pods * (book.compute.nodes if demand.per_node else 1)
    if demand.per_node:
        notes.append(f"× {book.compute.nodes} nodes")
    pod_hours = pods * demand.hours
    cpu_burst, ram_burst = (1.0, 1.0) if requests_only else (book.burst.cpu, book.burst.ram)
    cpu = (demand.cpu_cores_from_limits + (demand.cpu_cores - demand.cpu_cores_from_limits) * cpu_burst) * pod_hours
    ram = (demand.ram_bytes_from_limits + (demand.ram_bytes - demand.ram_bytes_from_limits) * ram_burst) / GIB
    ram *= pod_hours
    gpu = demand.gpus * pod_hours
    cost = Cost()
    cost.add(cpu, rates.cpu_core_hour, "CPU", notes)
    cost.add(ram, rates.ram_gib_hour, "RAM", notes)
    cost.add(gpu, rates.gpu_hour, "GPU", notes)
    gib_months = 0.0
    for storage_class, size in demand.storage:
        gib_months += size / GIB
        cost.add(size / GIB, _storage_price(storage_class, book, notes), "PV", notes)
    lb_hours = demand.load_balancers * HOURS_PER_MONTH
    cost.add(lb_hours, book.load_balancer_hour, "load-balancer", notes)
    if with_overhead:
        cost = Cost(cost.effective * (1 + book.overhead.effective_ratio), cost.list * (1 + book.overhead.list_ratio))
    return Line(demand, pods, cpu, ram, gpu, gib_months, lb_hours, cost, group or "cluster", notes)


def estimate(
    demands: list[Demand], book: PriceBook, *, with_overhead: bool = False, requests_only: bool = False
) -> Estimate:
    lines = [price(d, book, with_overhead=with_overhead, requests_only=requests_only) for d in demands]
    return Estimate(book, lines, with_overhead, requests_only=requests_only)


def _key(demand: Demand) -> tuple[str, str, str]:
    return demand.namespace, demand.kind, demand.name


def compare_with_file(current: Estimate, before: Estimate, name: str) -> None:
    """Set each line's baseline to the same object's estimate in `before` (0 for a new object)."""
    old = {_key(line.demand): line.cost for line in before.lines}
    for line in current.lines:
        line.baseline = old.pop(_key(line.demand), Cost())
    current.baseline_name = name
    for gone in before.lines:  # objects removed since the baseline: their cost goes away
        if _key(gone.demand) in old:
            removed = Line(gone.demand, 0, 0, 0, 0, 0, 0, Cost(), gone.prices, ["removed"], gone.cost)
            current.lines.append(removed)


def _rows_of(results: pa.Table, demand: Demand) -> pa.Array:
    ns = pc.equal(results["x_K8sNamespace"], demand.namespace)
    if demand.kind == "Pod":
        return pc.and_(ns, pc.equal(results["x_K8sPod"], demand.name))
    controller = results["x_K8sController"]
    if demand.kind == "CronJob":  # its pods belong to the Jobs it creates, <name>-<scheduled time>
        return pc.and_(ns, pc.starts_with(controller, demand.name + "-"))
    kind = pc.utf8_lower(results["x_K8sControllerKind"])
    return pc.and_(ns, pc.and_(pc.equal(controller, demand.name), pc.equal(kind, demand.kind.lower())))


def compare_with_cluster(current: Estimate, results: pa.Table) -> None:
    """Set each workload's baseline to what its pods cost in the results (every component), per 730 h;
    PersistentVolumeClaims and Services have none of their own: their cost is in the pods'."""
    workload = results.filter(pc.equal(results["x_K8sAllocation"], "workload"))
    scale = HOURS_PER_MONTH / current.book.hours if current.book.hours else 0.0
    ratio_e = 1 + current.book.overhead.effective_ratio if current.with_overhead else 1.0
    ratio_l = 1 + current.book.overhead.list_ratio if current.with_overhead else 1.0
    for line in current.lines:
        if line.demand.kind in ("PersistentVolumeClaim", "Service"):
            line.baseline = Cost()
            continue
        rows = workload.filter(_rows_of(workload, line.demand))
        effective = pc.sum(rows["EffectiveCost"]).as_py() or 0.0
        listed = pc.sum(rows["ListCost"]).as_py() or 0.0
        line.baseline = Cost(effective * scale * ratio_e, listed * scale * ratio_l)
    current.baseline_name = "cluster"
