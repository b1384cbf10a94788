"""A kubebill process allocates Arrow buffers from jemalloc (it reuses freed pages), unless the user chose a pool."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

POOL = "import kubebill, pyarrow; print(pyarrow.default_memory_pool().backend_name)"


def _pool(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", POOL], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="the process default is set where the wheels carry jemalloc")
def test_a_kubebill_process_allocates_from_jemalloc() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    assert _pool(env) == "jemalloc"


def test_a_pool_the_user_chose_is_kept() -> None:
    assert _pool(dict(os.environ, ARROW_DEFAULT_MEMORY_POOL="system")) == "system"
