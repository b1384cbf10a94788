from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.replay import ReplayServer


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    replay = ReplayServer()
    replay.start()
    yield replay
    replay.stop()
