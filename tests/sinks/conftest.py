"""Real local servers for the sink tests: a metrics endpoint, Prometheus, a Pushgateway (127.0.0.1 only)."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from kubebill.layout import Layout
from kubebill.reconcile.compare import COMPARE
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore
from tests.conftest import ROOT
from tests.sinks.factory import Shape, fill_store

RULES = ROOT / "infra" / "alerts" / "kubebill.rules.yml"
DAYS = [date(2025, 6, 15), date(2025, 6, 16), date(2025, 6, 17)]
# a cluster whose state trips every alert: idle share > 25%, checkout over its budget
HOT = Shape(cluster="prod-eks", node_idle_hourly_billed=1.0, budgets={"checkout": 5.0})
COLD = Shape(cluster="dev-aks", namespaces=("web",), pods_per_namespace=2, nodes=1, currency="EUR", budgets={})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def stale_failing_health(store: LocalStore) -> None:
    """A health record whose last merge failed three days ago."""
    record = {
        "last_merge_time": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "last_merge_duration_seconds": 12.5,
        "last_merge_success": False,
        "merges_total": 5,
        "merge_failures_total": 2,
        "bad_inputs_total": 1,
        "bad_events_total": 3,
        "updated": datetime.now(UTC).isoformat(),
    }
    store.write(Layout().state_key("health.json"), json.dumps(record).encode())


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    fill_store(store, DAYS, HOT, COLD)
    stale_failing_health(store)
    cloud_comparison(store, DAYS[-1])
    return store


def cloud_comparison(store: LocalStore, day: date) -> None:
    """The day's cross-check of the export against the cloud's split (reconcile.compare) for the hot cluster."""
    rows = [
        {"day": day, "cluster": HOT.cluster, "namespace": ns, "BillingCurrency": "USD", "kubebill_cost": ours,
         "cloud_cost": cloud, "difference": ours - cloud, "difference_ratio": (ours - cloud) / cloud}
        for ns, ours, cloud in (("checkout", 1.1, 1.0), ("__idle__", 0.9, 1.0))
    ]  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=COMPARE), buffer)
    store.write(Layout().compare_key(day), buffer.getvalue())


@dataclass
class Endpoint:
    url: str
    port: int
    scrapes: list[float]


@contextmanager
def serving_metrics(store: LocalStore, settings: Settings) -> Iterator[Endpoint]:
    """A small HTTP server on 127.0.0.1 that serves `metrics.render` of `store` at /metrics."""
    scrapes: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = metrics.render(store, settings)
            scrapes.append(time.time())
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield Endpoint(f"http://127.0.0.1:{port}/metrics", int(port), scrapes)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def metrics_endpoint(filled_store: LocalStore) -> Iterator[Endpoint]:
    """`serving_metrics` of the filled store."""
    with serving_metrics(filled_store, Settings(tenant_id="acme", metrics_compat=True, metrics_top_pods=5)) as endpoint:
        yield endpoint


@dataclass
class Prometheus:
    url: str

    def query(self, expr: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        return dict(response.json())


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def running_prometheus(target_port: int, folder: Path, *, token: str | None = None) -> Iterator[Prometheus]:
    """A real Prometheus scraping 127.0.0.1:`target_port` every second (bearer `token` if given), rules loaded."""
    if shutil.which("prometheus") is None:
        pytest.fail("the Debian package prometheus is missing: run .ci/setup")
    rules = folder / "kubebill.rules.yml"
    shutil.copy(RULES, rules)
    config = folder / "prometheus.yml"
    authorization = f"    authorization:\n      credentials: {token}\n" if token else ""
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {rules}\n"
        "scrape_configs:\n  - job_name: kubebill\n"
        f"{authorization}"
        f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
    )
    port = free_port()
    process = _start(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        folder / "prometheus.log",
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        # three scrapes, so rate/increase/predict_linear over a range have at least two samples
        wait_for(
            lambda: bool(server.query("count_over_time(kubebill_result_objects[1m]) >= 3")["data"]["result"]),
            timeout=60,
            what=f"three scrapes by Prometheus (log: {folder / 'prometheus.log'})",
        )
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def prometheus(metrics_endpoint: Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A real Prometheus scraping the endpoint every second with kubebill's rule file loaded."""
    with running_prometheus(metrics_endpoint.port, tmp_path_factory.mktemp("prometheus")) as server:
        yield server


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus Pushgateway on 127.0.0.1."""
    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        pytest.fail("the Debian package prometheus-pushgateway is missing: run .ci/setup")
    port = free_port()
    process = _start([binary, f"--web.listen-address=127.0.0.1:{port}"], tmp_path_factory.mktemp("pgw") / "log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(f"{url}/-/ready", timeout=2).ok, timeout=30, what="the Pushgateway")
        yield url
    finally:
        _stop(process)
