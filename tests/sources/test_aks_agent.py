"""The AKS cost-analysis agent's real answer (../shared/data/external/aks/cost-analysis.json)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kubebill.errors import SourceError
from kubebill.model import IDLE
from kubebill.schema import ALLOCATION
from kubebill.sources import aks_agent

DAY = date(2025, 6, 17)


def test_one_row_per_resource_split_with_full_precision(external: Path) -> None:
    data = (external / "aks" / "cost-analysis.json").read_bytes()
    raw = json.loads(data)
    table = aks_agent.parse([data[i : i + 1000] for i in range(0, len(data), 1000)], day=DAY, cluster="aks1")
    assert table.schema == ALLOCATION
    splits = [(r["ID"], s) for r in raw["Resources"] for s in r["Splits"]]
    assert table.num_rows == len(splits) == 43
    assert table.column("fraction").to_pylist() == [s["Fraction"] for _, s in splits]  # exact doubles
    assert table.column("provider_id").to_pylist() == [rid for rid, _ in splits]
    assert table.column("split_bucket").to_pylist() == [s["SplitBucket"] for _, s in splits]
    rows = table.to_pylist()
    for row, (_, split) in zip(rows, splits, strict=True):
        key = split["SplitKey"]
        assert row["namespace"] == key.get("namespace", IDLE if split["SplitBucket"] == "idle" else None)
        assert row["controller_kind"] == key.get("object_kind")
        assert row["controller"] == key.get("object_name")
        assert row["labels"] == (
            json.dumps({"app": key["label_app"]}, separators=(",", ":")) if "label_app" in key else None
        )
        assert row["window_start"] == datetime(2025, 6, 17, tzinfo=UTC)
        assert row["window_end"] == datetime(2025, 6, 18, tzinfo=UTC)
        assert row["source"] == "aks" and row["cluster"] == "aks1"
    by_resource: dict[str, float] = {}
    for row in rows:
        by_resource[row["provider_id"]] = by_resource.get(row["provider_id"], 0.0) + row["fraction"]
    assert all(total == pytest.approx(1.0, abs=1e-6) for total in by_resource.values())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"Resources":[],"Metrics":{}}', "no resources"),
        (b'{"Metrics":{}}', "no 'Resources'"),
        (b'{"Resources":[{"ID":"/subscriptions/x","Splits":[{"Fraction":0.5,"SplitBucket":"odd"}]}]}', "SplitBucket"),
        (b'{"Resources":[{"ID":"/subscriptions/x","Splits":[{"SplitBucket":"usage"}]}]}', "Fraction"),
        (b'{"Resources":[{"Name":"x","Splits":[]}]}', "ID"),
        (b'{"Resources":[{"ID":"/subscriptions/x","Splits":[', "truncated"),
    ],
)
def test_unusable_agent_answers(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        aks_agent.parse([body], day=DAY, cluster="aks1")
