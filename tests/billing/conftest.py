"""Helpers for the billing tests: a LocalStore over copies of the real samples, raw Decimal sums."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from kubebill.billing import read_file
from kubebill.store.local import LocalStore


def raw_rows(path: Path) -> list[dict[str, str]]:
    """The file's data rows as the csv module reads them (header BOM removed)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def raw_sum(rows: list[dict[str, str]], *columns: str) -> Decimal:
    """Σ of the first present column, as Decimal over the raw text (blank and NULL count 0)."""
    total = Decimal(0)
    for row in rows:
        for column in columns:
            if column in row:
                text = (row[column] or "").strip()
                if text and text != "NULL":
                    total += Decimal(text)
                break
    return total


def read_table(store: LocalStore, key: str) -> pa.Table:
    from kubebill.schema import COST

    return pa.Table.from_batches(list(read_file(store, key)), schema=COST)


@pytest.fixture
def samples(external: Path, tmp_path: Path) -> LocalStore:
    """A store whose billing/ holds copies of every billing sample (aws, azure, gcp, focus, aks)."""
    for folder in ("aws", "azure", "gcp", "focus", "aks"):
        shutil.copytree(external / folder, tmp_path / "billing" / folder)
    return LocalStore(tmp_path)
