"""One small simulated store shared by the simulate tests (written once per session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kubebill.devtools.simulate import Scenario, Written, simulate

# Two days across a month boundary, two clusters per provider: monthly lines, two billing periods.
SMALL = Scenario(clusters=2, nodes=4, pods=14, days=2, seed=7, end=date(2025, 7, 1))


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Written]]:
    out = tmp_path_factory.mktemp("sim")
    return out, simulate(out, SMALL)
