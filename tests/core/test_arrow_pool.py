"""A kubebill process allocates Arrow buffers from jemalloc (it reuses freed pages), unless the user chose a pool."""

from __future__ import annotations

import os
import subprocess
import sys

POOL = "import kubebill, pyarrow; print(pyarrow.default_memory_pool().backend_name)"


def _pool(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", POOL], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_kubebill_process_allocates_from_jemalloc_on_linux() -> None:
    """On Linux (its wheels carry jemalloc) the pool is jemalloc; elsewhere Arrow's own default is left alone."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    plain = "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    default = subprocess.run([sys.executable, "-c", plain], env=env, capture_output=True, text=True, check=True)
    assert _pool(env) == ("jemalloc" if sys.platform == "linux" else default.stdout.strip())


def test_a_pool_the_user_chose_is_kept() -> None:
    assert _pool(dict(os.environ, ARROW_DEFAULT_MEMORY_POOL="system")) == "system"
