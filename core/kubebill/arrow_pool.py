"""The Arrow memory pool a merge allocates from.

pyarrow's default pool on Linux is mimalloc, which hands its freed pages back to the kernel at once and takes
fresh (zeroed, often huge) pages for the next batch: at 1M bill lines the kernel's page zeroing under mimalloc
was ~4.5 % of the merge's CPU (`perf`: `mi_page_free_list_extend` → `clear_page_erms`). jemalloc keeps freed pages
for a short decay and reuses them (bench/README, #15: system time 2.2-2.4 → 1.6-2.2 s, peak RSS 805-817 → 748-764
MiB, wall 6.1-6.6 → 5.9-6.5 s over 5 alternated runs).
"""

from __future__ import annotations

import os
from contextlib import suppress

import pyarrow as pa

# pyarrow's own variable: a pool the user chose is kept
CHOICE = "ARROW_DEFAULT_MEMORY_POOL"


def use_jemalloc() -> str:
    """Make jemalloc the process's default Arrow pool, unless ARROW_DEFAULT_MEMORY_POOL chose one or this pyarrow
    was built without it. Returns the pool's backend name."""
    if not os.environ.get(CHOICE):
        with suppress(NotImplementedError):  # a pyarrow built without jemalloc (some conda or Windows builds)
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return str(pa.default_memory_pool().backend_name)
