"""Normalizing real OpenCost/Kubecost answers (../shared/data/external/opencost) to ALLOCATION."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from kubebill.errors import SourceError
from kubebill.model import IDLE, Window
from kubebill.schema import ALLOCATION
from kubebill.sources import opencost
from tests.sources.generated import step_body

WIDE = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
REAL = [
    "opencost-website_allocation-example-output.json",
    "opencost_swagger_allocation_compute_example.json",
    "nops-k8s-agent_eks_container_allocation.json",
    "pluralsh-console_kubecost_model-allocation_with_idle_TRUNCATED.json",
]


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def allocations(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, a) for s in raw["data"] for name, a in s.items()]


def parse(data: bytes, *, size: int = 1 << 20, source: str = "opencost", window: Window = WIDE) -> pa.Table:
    return opencost.parse(chunked(data, size), requested=window, cluster="c1", source=source)


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("size", [7, 256, 1 << 20])
def test_real_answers_keep_every_allocation_and_cost(external: Path, name: str, size: int) -> None:
    data = (external / "opencost" / name).read_bytes()
    raw = json.loads(data)
    table = parse(data, size=size)
    assert table.schema == ALLOCATION
    expected = allocations(raw)
    assert table.num_rows == len(expected)
    totals = [a["totalCost"] for _, a in expected]
    assert table.column("total_cost").to_pylist() == pytest.approx(totals, rel=1e-12)
    assert table.column("cluster").to_pylist() == ["c1"] * len(expected)
    assert table.column("provider_id").to_pylist() == [a["properties"].get("providerID") for _, a in expected]
    assert table.column("minutes").to_pylist() == pytest.approx([a["minutes"] for _, a in expected])
    starts = [datetime.fromisoformat(a["window"]["start"]) for _, a in expected]
    assert table.column("window_start").to_pylist() == starts


def test_idle_entry_keeps_the_sentinel(external: Path) -> None:
    data = (external / "opencost" / REAL[3]).read_bytes()
    rows = parse(data).to_pylist()
    idle = [r for r in rows if r["namespace"] == IDLE]
    assert len(idle) == 1
    assert idle[0]["pod"] == IDLE and idle[0]["container"] == IDLE
    assert idle[0]["total_cost"] == pytest.approx(0.300878)
    assert idle[0]["cpu_cost"] + idle[0]["ram_cost"] == pytest.approx(0.300878)


def test_labels_are_one_canonical_json_object(external: Path) -> None:
    data = (external / "opencost" / REAL[2]).read_bytes()  # pretty-printed, labels not sorted as written
    row = parse(data).to_pylist()[0]
    labels = json.loads(data)["data"][0]["kube-system/__unallocated__/aws-node-48cn9/aws-eks-nodeagent"]["properties"][
        "labels"
    ]
    assert row["labels"] == json.dumps(labels, sort_keys=True, separators=(",", ":"))
    assert row["namespace"] == "kube-system" and row["pod"] == "aws-node-48cn9"
    assert row["pvs"] is None and row["load_balancers"] is None
    assert row["provider_id"] == "i-0863bf81a09cd437f"


def test_kubecost_docs_placeholders_are_refused(external: Path) -> None:
    data = (external / "opencost" / "kubecost-docs_model-allocation_example.json").read_bytes()
    with pytest.raises(SourceError, match="not an allocation"):
        parse(data, source="kubecost")


def kubecost_without_placeholders(external: Path) -> bytes:
    raw = json.loads((external / "opencost" / "kubecost-docs_model-allocation_example.json").read_bytes())
    raw["data"] = [{k: v for k, v in s.items() if k != "...etc"} for s in raw["data"]]
    raw["data"] = [s for s in raw["data"] if s]
    return json.dumps(raw, indent=2).encode()


def test_kubecost_pvs_and_services(external: Path) -> None:
    row = parse(kubecost_without_placeholders(external), source="kubecost").to_pylist()[0]
    assert row["source"] == "kubecost"
    assert row["pvs"] == [
        {
            "name": "pvc-16465f04-6464-483e-89af-9e68b4a59e72",
            "provider_id": None,
            "byte_hours": 4311810305.0039215,
            "cost": 0.0005500940102068225,
        }
    ]
    assert [lb["service"] for lb in row["load_balancers"]] == [
        "kubecost/kubecost-frontend",
        "kubecost/kubecost-cost-analyzer",
    ]
    assert row["load_balancer_cost"] == pytest.approx(0.003333)
    assert row["provider_id"] == "i-0f227c52893c7957f"
    assert json.loads(row["labels"])["app"] == "cost-analyzer"


def test_lb_allocations_and_pvs_of_a_generated_answer() -> None:
    window = Window(datetime(2025, 6, 17, 5, tzinfo=UTC), datetime(2025, 6, 17, 6, tzinfo=UTC))
    data = step_body(window, allocations=300, nodes=5)
    raw = json.loads(data)
    table = parse(data, size=4096, window=window)
    expected = allocations(raw)
    assert table.num_rows == 300
    assert sum(table.column("total_cost").to_pylist()) == pytest.approx(sum(a["totalCost"] for _, a in expected))
    rows = {r["pod"] if r["pod"] != IDLE else r["node"]: r for r in table.to_pylist()}
    for name, a in expected:
        props = a["properties"]
        row = rows[props.get("pod") or props["node"]]
        assert row["provider_id"] == props["providerID"]
        assert (row["pvs"] is None) == (a["pvs"] is None), name
        if a["lbAllocations"]:
            lb = next(iter(a["lbAllocations"].values()))
            assert row["load_balancers"] == [
                {"service": lb["service"], "provider_id": lb["ip"], "hours": None, "cost": lb["cost"]}
            ]
        if a["totalEfficiency"] == "NaN":
            assert row["total_efficiency"] is None
    idle = [r for r in table.to_pylist() if r["namespace"] == IDLE]
    assert len(idle) == 5 and all(r["node"] and r["provider_id"].startswith("aws:///") for r in idle)


def test_null_nan_and_string_numbers(external: Path) -> None:
    text = (external / "opencost" / REAL[2]).read_text()
    text = text.replace('"cpuEfficiency": 0.01496', '"cpuEfficiency": NaN')
    text = text.replace('"ramEfficiency": 1', '"ramEfficiency": "NaN"')
    text = text.replace('"totalEfficiency": 0.06583', '"totalEfficiency": null')
    text = text.replace('"cpuCost": 0.00042', '"cpuCost": "0.00042"')
    row = parse(text.encode()).to_pylist()[0]
    assert row["cpu_efficiency"] is None and row["ram_efficiency"] is None and row["total_efficiency"] is None
    assert row["cpu_cost"] == pytest.approx(0.00042)
    assert not any(isinstance(v, float) and math.isnan(v) for v in row.values())


def test_cost_adjustments_are_part_of_the_costs(external: Path) -> None:
    text = (external / "opencost" / REAL[2]).read_text().replace('"cpuCostAdjustment": 0', '"cpuCostAdjustment": 0.5')
    row = parse(text.encode()).to_pylist()[0]
    assert row["cpu_cost"] == pytest.approx(0.50042)


def test_a_window_the_request_does_not_cover_is_refused(external: Path) -> None:
    data = (external / "opencost" / REAL[2]).read_bytes()
    window = Window(datetime(2024, 3, 20, tzinfo=UTC), datetime(2024, 3, 21, tzinfo=UTC))
    with pytest.raises(SourceError, match="does not cover"):
        parse(data, window=window)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"code":200,"data":[{"a":{"name":"a","properties":{},"window":{"start":"2025-01-01T00:00:00Z"}}}]}', "end"),
        (b'{"code":200,"data":[{"a":{"name":"a","window":{"start":"x","end":"y"},"totalCost":1}}]}', "properties"),
        (b'{"code":500,"message":"Prometheus is unreachable","data":null}', "expected code 200, got 500"),
        (b'{"code":400,"data":[{"a":{"name":"a"}}]}', "expected code 200, got 400"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"code":200,"data":[{"a":{"name":"a","properties":{}', "truncated"),
        (b'{"status":"success","data":[]}', "no 'code'"),
        (b'{"code":200}', "no 'data'"),
        (b"", "empty body"),
    ],
)
def test_unusable_answers_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse(body)


def test_empty_sets_give_no_rows() -> None:
    for body in (b'{"code":200,"data":[{}]}', b'{"code":200,"data":[]}', b'{"code":200,"data":null}'):
        assert parse(body).num_rows == 0


@pytest.mark.slow
def test_fifty_thousand_allocations_in_one_step() -> None:
    window = Window(datetime(2025, 6, 17, tzinfo=UTC), datetime(2025, 6, 17, 1, tzinfo=UTC))
    data = step_body(window)
    raw = json.loads(data)
    table = parse(data)
    expected = allocations(raw)
    del raw
    assert table.num_rows == 50_000
    assert sum(table.column("total_cost").to_pylist()) == pytest.approx(sum(a["totalCost"] for _, a in expected))
    assert table.column("namespace").to_pylist().count(IDLE) == 200


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("size", [13, 1 << 20])
def test_several_sets_empty_sets_and_trailing_fields(indent: int | None, size: int) -> None:
    window = Window(datetime(2025, 6, 17, 5, tzinfo=UTC), datetime(2025, 6, 17, 6, tzinfo=UTC))
    one = json.loads(step_body(window, allocations=30, nodes=2))["data"][0]
    names = sorted(one)
    sets = [{}, {n: one[n] for n in names[:10]}, {}, {n: one[n] for n in names[10:]}, {}]
    body = {"code": 200, "status": "success", "data": sets, "message": "", "warning": "partial data"}
    table = parse(json.dumps(body, indent=indent).encode(), size=size, window=window)
    assert table.num_rows == 30
    assert table.column("total_cost").to_pylist() == pytest.approx([one[n]["totalCost"] for n in names])
    body["code"] = 206
    trailing_code = {k: v for k, v in body.items() if k != "code"} | {"code": 206}
    with pytest.raises(SourceError, match="got 206"):
        parse(json.dumps(trailing_code, indent=indent).encode(), size=size, window=window)


def test_text_that_looks_like_an_allocation_inside_strings_does_not_cut(external: Path) -> None:
    raw = json.loads((external / "opencost" / REAL[2]).read_bytes())
    ((name, allocation),) = raw["data"][0].items()
    evil = dict(allocation, name='ns/pod-é\\"x')
    evil["properties"] = dict(allocation["properties"], labels={"note": '"a":{"name":"a"}', "name": "b"})
    raw["data"][0] = {name: allocation, 'ns/pod-é\\"x': evil}
    for indent in (None, 1):
        table = parse(json.dumps(raw, indent=indent, ensure_ascii=False).encode(), size=64)
        assert table.num_rows == 2
        labels = json.loads(table.column("labels")[1].as_py())
        assert labels == {"name": "b", "note": '"a":{"name":"a"}'}
