"""The simulated OpenCost API answers the numbers of the written allocation files, read by kubebill's own client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests

from kubebill.devtools.simulate import Written, serve_opencost
from kubebill.layout import Layout
from kubebill.model import Window
from kubebill.schema import ALLOCATION
from kubebill.sources import http, opencost
from tests.simulate.conftest import SMALL

NUMBERS = [f.name for f in ALLOCATION if pa.types.is_floating(f.type) and f.name not in ("fraction",)]
KEY = ["window_start", "node", "namespace", "pod", "container"]


def _get(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_client_reads_the_same_table_as_the_file(small: tuple[Path, list[Written]]) -> None:
    out, _ = small
    day = SMALL.end
    written = pq.read_table(out / Layout().allocation_key("aks-prod-2", day, "opencost"))
    with serve_opencost(SMALL, "aks-prod-2") as url, requests.Session() as session:
        tables = list(
            opencost.fetch_day(
                session,
                source="opencost",
                base_url=url,
                cluster="aks-prod-2",
                day=day,
                query=opencost.Query(),
                options=http.HttpOptions(retry_seconds=0),
            )
        )
    served = pa.Table.from_batches(tables)
    assert (
        served.num_rows
        == written.num_rows
        == 24 * 4 + len([r for r in written["namespace"].to_pylist() if r != "__idle__"])
    )
    served = served.sort_by([(k, "ascending") for k in KEY])
    written = written.sort_by([(k, "ascending") for k in KEY])
    for name in ["cluster", "node", "provider_id", "namespace", "controller_kind", "controller", "pod", "container"]:
        assert served[name].to_pylist() == written[name].to_pylist(), name
    for name in NUMBERS:
        got = served[name].fill_null(0.0).to_numpy()
        want = written[name].to_numpy()
        assert got.shape == want.shape and (abs(got - want) <= 1e-9 * (1 + abs(want))).all(), name
    served_pvs = [
        (p["name"], p["provider_id"], round(p["cost"], 12)) for v in served["pvs"].to_pylist() for p in v or []
    ]
    written_pvs = [
        (p["name"], p["provider_id"], round(p["cost"], 12)) for v in written["pvs"].to_pylist() for p in v or []
    ]
    assert served_pvs == written_pvs and served_pvs


def test_daily_namespace_aggregate_sums_the_hours(small: tuple[Path, list[Written]]) -> None:
    out, _ = small
    day = SMALL.end
    written = pq.read_table(out / Layout().allocation_key("eks-prod-1", day, "opencost"))
    window = Window.of_day(day).to_opencost()
    with serve_opencost(SMALL, "eks-prod-1") as url:
        body = _get(
            f"{url}/allocation/compute?window={window}&step=1d&aggregate=namespace&includeIdle=true&idleByNode=false"
        )
        hourly = _get(f"{url}/allocation/compute?window={window}&step=1h&includeIdle=false")
    assert body["code"] == 200 and len(body["data"]) == 1
    got = {name: a["totalCost"] for name, a in body["data"][0].items()}
    for namespace in set(written["namespace"].to_pylist()):
        want = pc.sum(written.filter(pc.equal(written["namespace"], namespace))["total_cost"]).as_py()
        assert got[namespace] == pytest.approx(want, rel=1e-12)
    assert len(hourly["data"]) == 24 and not any("__idle__" in k for step in hourly["data"] for k in step)
    sample = next(a for a in hourly["data"][0].values() if "__unmounted__" not in a["name"])
    for field in (
        "name",
        "properties",
        "window",
        "start",
        "end",
        "minutes",
        "cpuCores",
        "cpuCoreRequestAverage",
        "cpuCoreUsageAverage",
        "cpuCoreHours",
        "cpuCost",
        "ramBytes",
        "ramByteRequestAverage",
        "ramByteUsageAverage",
        "ramByteHours",
        "ramCost",
        "gpuHours",
        "gpuCost",
        "pvs",
        "pvCost",
        "networkCost",
        "loadBalancerCost",
        "lbAllocations",
        "sharedCost",
        "externalCost",
        "totalCost",
        "cpuEfficiency",
        "ramEfficiency",
        "totalEfficiency",
    ):
        assert field in sample, field
    assert set(sample["properties"]) >= {
        "cluster",
        "node",
        "namespace",
        "controllerKind",
        "controller",
        "pod",
        "container",
        "providerID",
        "labels",
    }


def test_bad_query_is_a_400(small: tuple[Path, list[Written]]) -> None:
    with serve_opencost(SMALL, "gke-prod-1") as url:
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(f"{url}/allocation/compute?window=yesterday-ish&step=1h")
        assert err.value.code == 400
        empty = _get(f"{url}/allocation/compute?window=2020-01-01T00:00:00Z,2020-01-01T02:00:00Z&step=1h")
    assert empty == {"code": 200, "data": [{}, {}]}  # one (empty) set per step outside the simulated days
