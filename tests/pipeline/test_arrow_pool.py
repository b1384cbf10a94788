"""A merge allocates its Arrow buffers from jemalloc (it reuses freed pages), unless the user chose a pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from kubebill import pipeline
from kubebill.arrow_pool import CHOICE, use_jemalloc
from kubebill.settings import Settings
from kubebill.store.local import LocalStore


@pytest.fixture(autouse=True)
def _restore_pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_a_merge_allocates_from_jemalloc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHOICE, raising=False)
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    pipeline.merge(LocalStore(str(tmp_path)), Settings.from_env(env={}), days=[])
    assert pa.default_memory_pool().backend_name == "jemalloc"


def test_a_pool_the_user_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHOICE, "system")
    pa.set_memory_pool(pa.system_memory_pool())
    assert use_jemalloc() == "system"
    assert pa.default_memory_pool().backend_name == "system"
