"""Shared fixtures. Emulator fixtures (moto, Azurite, fake-gcs-server) live in tests/emulators.py."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT.parent / "shared" / "data" / "external"

pytest_plugins = ["tests.emulators"]


@pytest.fixture(scope="session")
def external() -> Path:
    """The real-world samples of ../shared/data/external (read-only: copy before altering)."""
    if not EXTERNAL.is_dir():
        pytest.fail(f"the shared samples are missing: expected {EXTERNAL}")
    return EXTERNAL
