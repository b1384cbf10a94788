"""`kubebill export` / `kubebill run` end to end against a local server replaying real and generated answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kubebill import cli, pipeline
from kubebill.model import Window
from kubebill.schema import ALLOCATION
from kubebill.settings import Settings
from tests.sources.generated import step_body
from tests.sources.replay import ReplayServer, Reply, Request

EMPTY = b'{"code":200,"status":"success","data":[{}]}'
NOPS = "nops-k8s-agent_eks_container_allocation.json"  # one container, window 2024-03-19T00:00Z/01:00Z


def replay_real(external: Path) -> object:
    body = (external / "opencost" / NOPS).read_bytes()

    def route(request: Request) -> Reply:
        if request.path not in ("/allocation/compute", "/model/allocation"):
            return Reply(b"not found", status=404)
        return Reply(body if request.query["window"].startswith("2024-03-19T00:00:00Z,") else EMPTY)

    return route


def generated(request: Request) -> Reply:
    start, end = request.query["window"].split(",")
    return Reply(
        step_body(Window(datetime.fromisoformat(start), datetime.fromisoformat(end)), allocations=2000, nodes=10)
    )


def export(server: ReplayServer, store: Path, *extra: str, cluster: str = "c1", date_: str = "2024-03-19") -> int:
    args = ["export", "--url", server.url, "--cluster", cluster, "--store", str(store)]
    return cli.main([*args, *(["--date", date_] if date_ else []), *extra])


def key(store: Path, cluster: str, day: date, source: str) -> Path:
    return store / f"allocations/cluster={cluster}/year={day:%Y}/month={day:%m}/day={day:%d}/{source}.parquet"


def row_group_rows(path: Path) -> list[int]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def test_export_writes_one_object_per_cluster_day_identically_on_rerun(
    server: ReplayServer, external: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route = replay_real(external)  # type: ignore[assignment]
    assert export(server, tmp_path, "--source", "opencost") == 0
    written = key(tmp_path, "c1", date(2024, 3, 19), "opencost")
    first = written.read_bytes()
    table = pq.read_table(written)
    assert table.schema == ALLOCATION
    assert table.num_rows == 1
    assert table.column("total_cost").to_pylist() == [0.00044]
    assert len(server.requests) == 24
    assert sorted(r.query["window"] for r in server.requests)[:2] == [  # steps run side by side: any order
        "2024-03-19T00:00:00Z,2024-03-19T01:00:00Z",
        "2024-03-19T01:00:00Z,2024-03-19T02:00:00Z",
    ]
    assert server.requests[0].query["includeIdle"] == "true" and server.requests[0].query["idleByNode"] == "true"
    assert export(server, tmp_path, "--source", "opencost") == 0
    assert written.read_bytes() == first
    assert export(server, tmp_path, "--source", "opencost", cluster="c2") == 0
    other = key(tmp_path, "c2", date(2024, 3, 19), "opencost")
    assert pq.read_table(other).column("cluster").to_pylist() == ["c2"]
    assert pq.read_schema(other) == pq.read_schema(written)
    assert "allocations/cluster=c1/year=2024/month=03/day=19/opencost.parquet" in capsys.readouterr().out


def test_generated_day_of_hourly_steps(server: ReplayServer, tmp_path: Path) -> None:
    server.route = generated
    assert export(server, tmp_path, "--source", "opencost", date_="2025-06-17") == 0
    written = key(tmp_path, "c1", date(2025, 6, 17), "opencost")
    table = pq.read_table(written)
    assert table.num_rows == 24 * 2000
    size = pipeline.ROW_GROUP_ROWS  # fixed-size row groups, whatever the steps
    assert row_group_rows(written) == [size] * (48_000 // size) + [48_000 % size]
    starts = table.column("window_start").to_pylist()
    assert starts == sorted(starts) and starts[0] == datetime(2025, 6, 17, tzinfo=UTC)
    body = json.loads(step_body(Window.of_day(date(2025, 6, 17)), allocations=2000, nodes=10))
    per_step = sum(a["totalCost"] for a in body["data"][0].values())
    assert sum(table.column("total_cost").to_pylist()) == pytest.approx(24 * per_step)
    before = written.read_bytes()
    assert export(server, tmp_path, "--source", "opencost", date_="2025-06-17") == 0
    assert written.read_bytes() == before


def test_kubecost_uses_its_path_and_idle_parameter(server: ReplayServer, tmp_path: Path) -> None:
    server.route = generated
    assert export(server, tmp_path, "--source", "kubecost", "--step", "12h", date_="2025-06-17") == 0
    assert {r.path for r in server.requests} == {"/model/allocation"}
    assert server.requests[0].query["idle"] == "true" and "includeIdle" not in server.requests[0].query
    table = pq.read_table(key(tmp_path, "c1", date(2025, 6, 17), "kubecost"))
    assert set(table.column("source").to_pylist()) == {"kubecost"}
    assert table.num_rows == 2 * 2000


def test_query_flags_reach_the_api(server: ReplayServer, external: Path, tmp_path: Path) -> None:
    server.route = replay_real(external)  # type: ignore[assignment]
    flags = ["--step", "6h", "--no-include-idle", "--share-idle", "--resolution", "5m", "--accumulate", "true"]
    flags += ["--filter", 'namespace:"kube-system"', "--aggregate", "namespace,pod,container", "--source", "opencost"]
    assert export(server, tmp_path, *flags) == 0
    query = min(server.requests, key=lambda r: r.query["window"]).query  # steps run side by side: any order
    assert len(server.requests) == 4
    assert query["window"] == "2024-03-19T00:00:00Z,2024-03-19T06:00:00Z"
    assert (query["step"], query["includeIdle"], query["shareIdle"]) == ("6h", "false", "true")
    assert (query["resolution"], query["accumulate"], query["filter"]) == ("5m", "true", 'namespace:"kube-system"')
    assert query["aggregate"] == "namespace,pod,container"


def test_aks_agent_export(server: ReplayServer, external: Path, tmp_path: Path) -> None:
    data = (external / "aks" / "cost-analysis.json").read_bytes()
    server.route = lambda request: Reply(data) if request.path == "/resources/v1" else Reply(b"", status=404)
    assert export(server, tmp_path, "--source", "aks", date_="2025-06-17") == 0
    assert server.requests[0].query == {
        "from": "2025-06-17T00:00:00Z",
        "to": "2025-06-18T00:00:00Z",
        "source": "opencost",
    }
    table = pq.read_table(key(tmp_path, "c1", date(2025, 6, 17), "aks"))
    fractions = [s["Fraction"] for r in json.loads(data)["Resources"] for s in r["Splits"]]
    assert table.column("fraction").to_pylist() == fractions
    assert table.schema == ALLOCATION


def test_backfill_logs_one_line_per_phase(
    server: ReplayServer, external: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route = lambda request: (
        Reply(step_body(Window.of_day(date(2024, 3, 18)), allocations=20, nodes=2))
        if request.query["window"].startswith("2024-03-18")
        else replay_real(external)(request)
    )  # type: ignore[operator]
    args = ["--source", "opencost", "--step", "1d", "--from", "2024-03-18", "--to", "2024-03-19"]
    assert export(server, tmp_path, *args, date_="") == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "phase=" in line] == [
        "info    export 2 day(s): 2 item(s) in " + lines[-1].split(" item(s) in ")[1]
    ]
    assert "phase=export 2 day(s) items=2" in lines[-1]


def test_backfill_on_a_terminal_draws_one_progress_bar(server: ReplayServer, tmp_path: Path) -> None:
    """stderr on a pseudo-terminal: a bar redrawn in place per day, a newline at the end, no log lines."""
    import os
    import pty
    import subprocess
    import sys

    server.route = (
        lambda request: Reply(  # type: ignore[assignment]
            step_body(Window.of_day(date.fromisoformat(request.query["window"][:10])), allocations=20, nodes=2)
        )
    )
    args = ["export", "--url", server.url, "--cluster", "c1", "--store", str(tmp_path), "--step", "1d"]
    args += ["--from", "2025-06-16", "--to", "2025-06-18", "--workers", "1"]
    leader, follower = pty.openpty()
    code = "import sys\nfrom kubebill.cli import main\nsys.exit(main(sys.argv[1:]))"
    with subprocess.Popen([sys.executable, "-c", code, *args], stderr=follower, stdout=subprocess.PIPE) as process:
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end closed: the process is done
                break
            if not chunk:
                break
            drawn += chunk
        assert process.wait(timeout=60) == 0
    os.close(leader)
    text = drawn.decode()
    frames = [frame for frame in text.replace("\r\n", "\n").split("\r") if frame]
    assert [frame.split("] ")[1].split()[0] for frame in frames] == ["1/3", "2/3", "3/3"], text
    assert frames[0].startswith("export 3 day(s) [" + "#" * 8 + "." * 16 + "]") and "2025-06-16 step 1/1" in frames[0]
    assert frames[-1].startswith("export 3 day(s) [" + "#" * 24 + "]") and frames[-1].endswith("\n")
    assert "item(s) in" not in text  # the log lines are for logs, not for a terminal


@pytest.mark.parametrize(
    ("args", "reply", "message"),
    [
        (["--source", "opencost"], Reply(EMPTY), "no allocations for the whole day"),
        (["--source", "opencost"], Reply(b'{"code":200,"data":[]}'), "no allocations for the whole day"),
        (["--source", "opencost"], Reply(b'{"code":503,"message":"warming up"}'), "expected code 200, got 503"),
        (["--source", "opencost"], Reply(b'{"code":200,"data":[{"a":{"name":"a","prop'), "truncated"),
        (["--source", "aks"], Reply(b'{"Resources":[]}'), "no resources"),
    ],
)
def test_unusable_answers_exit_2_with_one_line(
    server: ReplayServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    reply: Reply,
    message: str,
) -> None:
    server.route = lambda request: reply
    assert export(server, tmp_path, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("kubebill export: ")
    assert not (tmp_path / "allocations").exists()


def test_settings_problems_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", "--cluster", "c1", "--store", str(tmp_path), "--date", "2024-03-19"]) == 2
    assert "KUBEBILL_SOURCE_URL" in capsys.readouterr().err
    # no cluster: the name is asked of the API, which is not there
    assert cli.main(["export", "--url", "http://127.0.0.1:9", "--store", str(tmp_path), "--date", "2024-03-19"]) == 1
    assert "cannot connect to http://127.0.0.1:9: connection refused" in capsys.readouterr().err
    today = datetime.now(UTC).date().isoformat()
    args = ["export", "--url", "http://127.0.0.1:9", "--cluster", "c", "--store", str(tmp_path), "--date", today]
    assert cli.main(args) == 2
    assert "not over yet" in capsys.readouterr().err
    assert cli.main([*args[:-2], "--date", "2024-03-19", "--step", "1 hour"]) == 2
    assert "--step" in capsys.readouterr().err


def test_run_exports_then_merges(
    server: ReplayServer, external: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route = replay_real(external)  # type: ignore[assignment]
    args = ["run", "--source", "opencost", "--url", server.url, "--cluster", "c1", "--store", str(tmp_path)]
    assert cli.main([*args, "--date", "2024-03-19"]) == 0
    out = capsys.readouterr().out
    assert "exported 1 day(s)" in out and "merged" in out
    assert key(tmp_path, "c1", date(2024, 3, 19), "opencost").is_file()


def test_opencost_parquet_exporter_variables_drive_the_export(
    server: ReplayServer, external: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route = replay_real(external)  # type: ignore[assignment]
    host, port = server.url.removeprefix("http://").split(":")
    env = {
        "OPENCOST_PARQUET_SVC_HOSTNAME": host,
        "OPENCOST_PARQUET_SVC_PORT": port,
        "OPENCOST_PARQUET_FILE_KEY_PREFIX": f"{tmp_path}/cluster=legacy-one",
        "OPENCOST_PARQUET_WINDOW_START": "2024-03-19T00:00:00Z",
        "OPENCOST_PARQUET_WINDOW_END": "2024-03-19T23:59:59Z",
        "OPENCOST_PARQUET_STEP": "1h",
        "OPENCOST_PARQUET_INCLUDE_IDLE": "false",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in [n for n in __import__("os").environ if n.startswith("KUBEBILL_")]:
        monkeypatch.delenv(name)
    assert cli.main(["export"]) == 0
    assert key(tmp_path, "legacy-one", date(2024, 3, 19), "opencost").is_file()
    assert server.requests[0].query["includeIdle"] == "false"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENCOST_PARQUET_SVC_HOSTNAME": "opencost.opencost"}, {"source_url": "http://opencost.opencost:9003"}),
        ({"OPENCOST_PARQUET_SVC_PORT": "9090"}, {"source_url": "http://localhost:9090"}),
        ({"COST_ANALYSIS_URL": "http://cost-analysis-agent-svc:9094"}, {"source": "aks"}),
        ({"COST_ANALYSIS_URL": "http://a:1", "KUBEBILL_SOURCE": "opencost"}, {"source": "opencost"}),
        (
            {"OPENCOST_PARQUET_S3_BUCKET": "s3://costs", "OPENCOST_PARQUET_FILE_KEY_PREFIX": "k8s/cluster=prod-eu"},
            {"store": "s3://costs/k8s", "cluster": "prod-eu"},
        ),
        (
            {
                "OPENCOST_PARQUET_STORAGE_BACKEND": "gcp",
                "OPENCOST_PARQUET_GCP_BUCKET_NAME": "b",
                "OPENCOST_PARQUET_S3_BUCKET": "x",
            },
            {"store": "gs://b"},
        ),
        ({"OPENCOST_PARQUET_AZURE_CONTAINER_NAME": "exports"}, {"store": "az://exports"}),
        ({"OPENCOST_PARQUET_FILE_KEY_PREFIX": "/tmp"}, {"store": "/tmp", "cluster": None}),
        (
            {
                "OPENCOST_PARQUET_WINDOW_START": "2024-05-27T00:00:00Z",
                "OPENCOST_PARQUET_WINDOW_END": "2024-05-29T00:00:00Z",
            },
            {"export_from": date(2024, 5, 27), "export_to": date(2024, 5, 28)},
        ),
        (
            {"OPENCOST_PARQUET_AGGREGATE": "namespace,pod,container", "OPENCOST_PARQUET_IDLE_BY_NODE": "false"},
            {"aggregate": "namespace,pod,container", "idle_by_node": False},
        ),
        (
            {"OPENCOST_PARQUET_RESOLUTION": "1m", "OPENCOST_PARQUET_ACCUMULATE": "true"},
            {"resolution": "1m", "accumulate": "true"},
        ),
    ],
)
def test_drop_in_aliases(env: dict[str, str], expected: dict[str, object]) -> None:
    settings = Settings.from_env(env)
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.slow
def test_fifty_thousand_allocations_times_twenty_four_steps(server: ReplayServer, tmp_path: Path) -> None:
    from kubebill.store import open_store

    def route(request: Request) -> Reply:
        start, end = request.query["window"].split(",")
        return Reply(step_body(Window(datetime.fromisoformat(start), datetime.fromisoformat(end))))

    server.route = route
    day = date(2025, 6, 17)
    summary = pipeline.export(
        open_store(str(tmp_path)), Settings.from_env({}), days=[day], source="opencost", url=server.url, cluster="big"
    )
    assert summary.rows == 24 * 50_000 and summary.days == [day]
    written = key(tmp_path, "big", day, "opencost")
    metadata = pq.ParquetFile(written).metadata
    assert (metadata.num_rows, metadata.num_row_groups) == (1_200_000, -(-1_200_000 // pipeline.ROW_GROUP_ROWS))
    per_step = sum(a["totalCost"] for a in json.loads(step_body(Window.of_day(day)))["data"][0].values())
    total = pq.read_table(written, columns=["total_cost"]).column(0).to_pylist()
    assert sum(total) == pytest.approx(24 * per_step, rel=1e-9)


def test_export_without_cluster_takes_it_from_the_answer(
    server: ReplayServer, external: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route = replay_real(external)  # type: ignore[assignment]
    named = json.loads((external / "opencost" / NOPS).read_bytes())
    clusters = {a["properties"]["cluster"] for s in named["data"] for a in s.values() if a["properties"].get("cluster")}
    assert len(clusters) == 1
    assert cli.main(["export", "--url", server.url, "--store", str(tmp_path), "--date", "2024-03-19"]) == 0
    assert key(tmp_path, clusters.pop(), date(2024, 3, 19), "opencost").exists()


def test_export_without_cluster_when_the_answer_names_several(
    server: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two = {"code": 200, "data": [{n: {"name": n, "properties": {"cluster": n}} for n in ("east", "west")}]}
    server.route = lambda request: Reply(json.dumps(two).encode())  # type: ignore[assignment]
    assert cli.main(["export", "--url", server.url, "--store", str(tmp_path), "--date", "2024-03-19"]) == 2
    err = capsys.readouterr().err
    assert "names the clusters east, west: pass --cluster or set KUBEBILL_CLUSTER" in err
    server.route = lambda request: Reply(EMPTY)  # type: ignore[assignment]
    assert cli.main(["export", "--url", server.url, "--store", str(tmp_path), "--date", "2024-03-19"]) == 2
    assert "names no cluster: pass --cluster" in capsys.readouterr().err
