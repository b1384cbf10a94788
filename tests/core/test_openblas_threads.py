"""A kubebill process starts no OpenBLAS threads (numpy's, spinning ~0.1 s each at start), unless the user set
their count. Threads are counted from /proc: kubebill's runtimes (functions, containers, CI) are Linux."""

from __future__ import annotations

import os
import subprocess
import sys

THREADS = "import os, sys; {imports}; print(len(os.listdir('/proc/self/task')))"


def _threads(imports: str, env: dict[str, str]) -> int:
    code = THREADS.format(imports=imports)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_numpy_loaded_after_kubebill_starts_no_blas_threads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    alone = _threads("import numpy", dict(env, OPENBLAS_NUM_THREADS="1"))
    assert _threads("import kubebill, numpy", env) == alone
    if (os.cpu_count() or 1) > 1:  # numpy alone starts one per core
        assert _threads("import numpy", env) > alone


def test_a_count_the_user_chose_is_kept() -> None:
    chosen = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    assert _threads("import kubebill, numpy", chosen) == _threads("import numpy", chosen)
