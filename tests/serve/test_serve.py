"""`kubebill serve` scraped by a real Prometheus: every dashboard query and alert rule, the token, the probes,
the request log, a store that goes away, and SIGTERM."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore, open_store
from tests.emulators import new_store_url, start_moto, stop
from tests.serve.conftest import KUBEBILL, Served, serving, start
from tests.sinks.conftest import DAYS, HOT, Prometheus, filled_store, running_prometheus  # noqa: F401 (fixture)
from tests.sinks.factory import fill_store
from tests.sinks.test_prometheus import EXPRESSIONS, _substitute

TOKEN = "kubebill-test-token"
ENV = {
    "KUBEBILL_TENANT_ID": "acme",
    "KUBEBILL_METRICS_COMPAT": "true",
    "KUBEBILL_METRICS_TOP_PODS": "5",
    "KUBEBILL_METRICS_TOKEN": TOKEN,
    "KUBEBILL_LOG_FORMAT": "json",
    "KUBEBILL_LOG_LEVEL": "debug",
}


@pytest.fixture(scope="module")
def served(filled_store: LocalStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:  # noqa: F811
    with serving(filled_store.url, tmp_path_factory.mktemp("serve") / "serve.log", env=ENV) as server:
        yield server


@pytest.fixture(scope="module")
def prometheus(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with running_prometheus(served.port, tmp_path_factory.mktemp("prometheus"), token=TOKEN) as server:
        yield server


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_dashboards_and_rules_evaluate_on_what_serve_exposes(prometheus: Prometheus, where: str, expr: str) -> None:
    answer = prometheus.query(_substitute(expr))
    assert answer["status"] == "success", f"{where}: {answer.get('error')}"
    assert answer["data"]["result"], f"{where}: no data for {_substitute(expr)}"


def test_rules_are_healthy_and_the_scrape_is_fresh(prometheus: Prometheus) -> None:
    rules = requests.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert all(rule["health"] in ("ok", "unknown") for group in rules for rule in group["rules"]), rules
    up = prometheus.query('up{job="kubebill"}')["data"]["result"]
    assert [sample["value"][1] for sample in up] == ["1"]
    stale = prometheus.query("kubebill_metrics_stale_seconds")["data"]["result"]
    assert [sample["value"][1] for sample in stale] == ["0"]
    assert stale[0]["metric"]["tenant_id"] == "acme"


def _without_render_time(body: bytes) -> list[bytes]:
    return [line for line in body.splitlines() if not line.startswith(b"kubebill_metrics_rendered_timestamp")]


def test_metrics_is_the_metrics_command_exposition(served: Served, filled_store: LocalStore) -> None:  # noqa: F811
    response = served.get("/metrics", TOKEN)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    settings = Settings(tenant_id="acme", metrics_compat=True, metrics_top_pods=5)
    expected, _ = metrics.render(filled_store, settings)
    served_lines = _without_render_time(response.content)
    assert served_lines[: len(_without_render_time(expected))] == _without_render_time(expected)
    extra = b"\n".join(served_lines[len(_without_render_time(expected)) :]).decode()
    assert 'kubebill_metrics_stale_seconds{tenant_id="acme"} 0' in extra
    assert 'kubebill_store_up{tenant_id="acme"} 1' in extra


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_a_bad_or_missing_token_is_401(served: Served, token: str | None) -> None:
    response = served.get("/metrics", token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert b"kubebill_" not in response.content


def test_probes_and_unknown_paths(served: Served) -> None:
    assert (served.get("/healthz").status_code, served.get("/healthz").text) == (200, "ok\n")
    assert (served.get("/readyz").status_code, served.get("/readyz").text) == (200, "ready\n")
    assert served.get("/nope").status_code == 404


def test_one_json_line_per_request_at_debug(served: Served) -> None:
    served.get("/metrics", TOKEN)
    served.get("/metrics", "wrong")
    lines = [json.loads(line) for line in served.log.read_text().splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if line["message"] == "request"]
    assert {(line["path"], line["status"]) for line in requests_logged} >= {("/metrics", 200), ("/metrics", 401)}
    assert all(line["level"] == "debug" and line["duration_ms"] >= 0 for line in requests_logged)
    assert all("Bearer" not in json.dumps(line) and TOKEN not in json.dumps(line) for line in lines)


def test_an_unreachable_store_keeps_the_last_exposition_and_fails_readiness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto = start_moto()
    try:
        for name, value in moto.env.items():
            monkeypatch.setenv(name, value)
        url = new_store_url("s3")
        fill_store(open_store(url), DAYS, HOT)
        env = {**moto.env, "AWS_MAX_ATTEMPTS": "1", "KUBEBILL_TENANT_ID": "acme"}
        with serving(url, tmp_path / "serve.log", env=env) as served:
            fresh = served.get("/metrics")
            assert fresh.status_code == 200 and b'kubebill_store_up{tenant_id="acme"} 1' in fresh.content
            stop(moto)
            time.sleep(1.1)
            ready = served.get("/readyz")
            assert ready.status_code == 503
            assert ready.text.startswith(f"not ready: store {url} unreadable: ")
            stale = served.get("/metrics")
            assert stale.status_code == 200
            assert b'kubebill_store_up{tenant_id="acme"} 0' in stale.content
            age = next(x for x in stale.text.splitlines() if x.startswith("kubebill_metrics_stale_seconds{"))
            assert float(age.split()[-1]) >= 1.0
            cost = [x for x in stale.text.splitlines() if x.startswith("kubebill_cluster_cost{")]
            assert cost == [x for x in fresh.text.splitlines() if x.startswith("kubebill_cluster_cost{")]
            assert cost
            assert served.get("/healthz").status_code == 200  # alive: restarting would not bring the store back
    finally:
        stop(moto)


def test_no_exposition_before_the_store_was_ever_read(tmp_path: Path) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1", "AWS_ACCESS_KEY_ID": "x"}
    env |= {"AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
    with serving("s3://kubebill-nowhere/data", tmp_path / "serve.log", env=env) as served:
        response = served.get("/metrics")
        assert response.status_code == 503
        assert response.text.startswith("no exposition yet: store s3://kubebill-nowhere/data unreadable: ")


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    served = start(str(tmp_path / "store"), tmp_path / "serve.log", env={"KUBEBILL_LOG_FORMAT": "json"})
    assert served.get("/metrics").status_code == 200  # no token configured: open inside the cluster
    assert served.stop() == 0
    messages = [json.loads(line)["message"] for line in served.log.read_text().splitlines() if line.startswith("{")]
    assert "stopping: finishing requests in flight" in messages


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KUBEBILL), "serve", *args], capture_output=True, text=True, timeout=60, env=env)


def test_a_busy_port_is_exit_2_with_one_line(served: Served, tmp_path: Path) -> None:
    done = _cli("--store", str(tmp_path), "--bind", "127.0.0.1", "--port", str(served.port))
    assert done.returncode == 2
    assert done.stderr.startswith(f"kubebill serve: cannot listen on 127.0.0.1:{served.port}: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_impossible_schedule_is_exit_2_naming_the_variable(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "KUBEBILL_EXPORT_SCHEDULE": "0 75 0 * * *"}
    done = _cli("--store", str(tmp_path), "--bind", "127.0.0.1", "--port", "0", "--schedule", env=env)
    assert done.returncode == 2
    assert "KUBEBILL_EXPORT_SCHEDULE" in done.stderr and "minute field '75' is outside 0-59" in done.stderr
