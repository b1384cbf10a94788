"""The emulator fixtures fail loudly, saying what to install, when a server cannot start."""

from __future__ import annotations

import sys

import pytest

from tests.emulators import free_port, start_server


def test_a_missing_server_binary_fails_with_what_to_install() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"not installed .*install it with: npm install azurite"):
        start_server("Azurite", ["/nonexistent/azurite-blob"], free_port(), "install it with: npm install azurite", {})


def test_a_server_that_exits_fails_with_its_output() -> None:
    command = [sys.executable, "-c", "import sys; print('port already taken'); sys.exit(3)"]
    with pytest.raises(pytest.fail.Exception, match=r"(?s)did not start on 127\.0\.0\.1:\d+ \(pip install x\).*taken"):
        start_server("fake server", command, free_port(), "pip install x", {})
