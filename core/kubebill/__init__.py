"""kubebill: Kubernetes cost allocation reconciled to the cloud bill."""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# Arrow's memory pool for the process, chosen before pyarrow loads (Arrow reads the variable once, on its first
# allocation): jemalloc keeps freed pages for a short decay and reuses them, where the wheels' default, mimalloc,
# returns them and faults in fresh zeroed pages for the next batch (`perf` of a 1M-line merge: 4.5 % of its CPU in
# the kernel zeroing pages under `mi_page_free_list_extend`; with jemalloc 0.5 s less system time, ~50 MiB lower
# peak, bench/README #15). A pool the user chose is kept; the Linux wheels carry jemalloc, others may not.
if _sys.platform == "linux" and "pyarrow" not in _sys.modules:
    _os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

# numpy's OpenBLAS starts a thread per core when numpy loads (pyarrow loads it), and each spins ~0.1 s before it
# sleeps: 0.1 CPU s of a 2-core machine's start, (cores - 1) × 0.1 on larger ones, taken from the merge's first
# step. kubebill calls no BLAS routine. A count the user chose is kept.
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
