"""The container image the Helm chart runs: the Dockerfile lints clean (hadolint) and stays slim and non-root.
The chart itself is tested in tests/infra/test_chart.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_dockerfile_lints_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and "USER 10001" in text and 'ENTRYPOINT ["kubebill"]' in text
    assert "--no-cache-dir" in text and ".[aws,azure,gcp]" in text
