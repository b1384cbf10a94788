"""The emulator fixtures fail loudly, saying what to install, when a server cannot start."""

from __future__ import annotations

import sys

import pytest

from tests.emulators import start_server, stop


def test_a_missing_server_binary_fails_with_what_to_install() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"not installed .*install it with: npm install azurite"):
        start_server("Azurite", "install it with: npm install azurite", lambda port: (["/nonexistent/azurite"], {}))


def test_a_server_that_exits_is_retried_then_fails_with_its_output() -> None:
    def launch(port: int) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-c", f"print('cannot bind {port}'); raise SystemExit(3)"], {}

    with pytest.raises(
        pytest.fail.Exception, match=r"(?s)did not start on 127\.0\.0\.1 \(pip install x\).*cannot bind"
    ):
        start_server("fake server", "pip install x", launch)


def test_a_started_server_is_reachable_and_stops() -> None:
    def launch(port: int) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], {"PORT": str(port)}

    server = start_server("http.server", "python", launch)
    assert server.endpoint == f"http://127.0.0.1:{server.env['PORT']}"
    stop(server)
    assert server.process.returncode is not None
