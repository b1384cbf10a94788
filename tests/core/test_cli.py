from __future__ import annotations

import subprocess
import sys

from kubebill.commands import NAMES


def _kubebill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubebill.cli", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_command() -> None:
    result = _kubebill("--help")
    assert result.returncode == 0
    for name in NAMES:
        assert name in result.stdout


def test_every_command_has_help_with_common_options() -> None:
    for name in NAMES:
        result = _kubebill(name, "--help")
        assert result.returncode == 0, result.stderr
        assert "--log-format" in result.stdout and "--verbose" in result.stdout


def test_bad_usage_exits_2_with_one_line() -> None:
    result = _kubebill("report", "--format", "pdf")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_bad_setting_exits_2_naming_the_variable() -> None:
    import os

    env = dict(os.environ, KUBEBILL_RESTATE_DAYS="many")
    result = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "merge"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert "KUBEBILL_RESTATE_DAYS" in result.stderr and "Traceback" not in result.stderr
