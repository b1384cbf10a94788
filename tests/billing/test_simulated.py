"""What `kubebill simulate` writes (CUR 2.0 + manifest, Azure Actual+Amortized runs, Google parquet) reads back
to the simulation's ground truth, per provider, day and cost column."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kubebill.billing import read, scan
from kubebill.devtools.simulate import GROUND_TRUTH_KEY, Scenario, simulate
from kubebill.layout import Layout
from kubebill.reconcile import session
from kubebill.schema import COST, COST_COLUMNS
from kubebill.store.local import LocalStore


def test_simulated_exports_sum_to_ground_truth(tmp_path: Path) -> None:
    simulate(tmp_path, Scenario(days=2))
    store = LocalStore(tmp_path)
    found = scan(store, Layout())
    assert not found.rejected and not found.skipped
    formats = sorted(u.format for u in found.units)
    assert formats == ["aws-cur2", "azure-actual+amortized", "gcp-detailed", "gcp-detailed"]
    truth = pq.read_table(tmp_path / GROUND_TRUTH_KEY)
    want: dict[tuple[str, date, str], float] = defaultdict(float)
    for row in truth.to_pylist():
        for column in COST_COLUMNS:
            want[(row["provider"], row["day"], column)] += row[column] or 0.0
    days = sorted({row["day"] for row in truth.to_pylist()})
    got: dict[tuple[str, date, str], float] = defaultdict(float)
    for unit in found.units:
        provider = unit.parts[0].key.split("/")[1]
        for day in days:
            table = pa.Table.from_batches(list(read(store, unit, days={day}, connect=session.connect)), schema=COST)
            assert pc.all(pc.equal(pc.cast(table["ChargePeriodStart"], pa.date32()), day)).as_py() in (True, None)
            for column in COST_COLUMNS:
                got[(provider, day, column)] += pc.sum(table[column]).as_py() or 0.0
    assert set(want) <= set(got)
    for key in set(got) | set(want):
        assert math.isclose(got[key], want.get(key, 0.0), rel_tol=1e-9, abs_tol=1e-9), (key, got[key], want.get(key))


def test_simulated_keys_and_hints(tmp_path: Path) -> None:
    simulate(tmp_path, Scenario(days=1, providers=("azure", "gcp")))
    store = LocalStore(tmp_path)
    for unit in scan(store, Layout()).units:
        table = pa.Table.from_batches(list(read(store, unit, connect=session.connect)), schema=COST)
        hints = {h for h in table["x_ClusterHint"].to_pylist() if h}
        keys = {k for k in table["x_ResourceKey"].to_pylist() if k}
        if unit.format.startswith("azure"):
            assert hints == {"aks-prod-1"}
            assert any(k.endswith("/virtualmachines/0") and "/virtualmachinescalesets/" in k for k in keys)
        else:
            assert hints == {"gke-prod-1"}
            assert any(k.startswith("gke-gke-prod-1-") for k in keys)
