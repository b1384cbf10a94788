from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


def test_every_command_help_shows_the_defaults() -> None:
    """Each option with a default (its own, or its KUBEBILL_* setting's) names it in --help."""
    import argparse
    import os

    from kubebill.cli import build_parser
    from kubebill.settings import variables

    defaults = {row["env"]: row["default"] for row in variables()}
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for name, sub in commands.choices.items():
        wide = subprocess.run(
            [sys.executable, "-m", "kubebill.cli", name, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "2000"},
        )
        text = " ".join(wide.stdout.split())
        for action in sub._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction | argparse._CountAction):
                continue
            default = action.default
            if default in (None, False):  # no default of its own: its setting's, if any
                setting = re.search(r"KUBEBILL_[A-Z_]+", action.help or "")
                default = defaults.get(setting.group(0)) if setting else None
                if default in (None, ""):
                    continue
            assert f"default: {default}" in text or "default:" in (action.help or ""), (name, action.dest, default)
            checked += 1
    assert checked > 20


def test_cron_fields_are_checked_by_range() -> None:
    import os

    for value, named in (("99 99 99 * * *", "second field '99' is outside 0-59"), ("0 0 25 * * *", "hour field '25'")):
        env = dict(os.environ, KUBEBILL_EXPORT_SCHEDULE=value)
        result = subprocess.run(
            [sys.executable, "-m", "kubebill.cli", "report"], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 2 and "KUBEBILL_EXPORT_SCHEDULE" in result.stderr and named in result.stderr


def test_missing_cloud_extra_names_the_pip_line() -> None:
    for url, module, extra in (
        ("s3://b/p", "boto3", "aws"),
        ("gs://b/p", "google", "gcp"),
        ("az://c/p", "azure", "azure"),
    ):
        code = (
            f"import sys; sys.modules[{module!r}] = None; from kubebill.cli import main; "  # as if not installed
            f"sys.exit(main(['report', '--store', {url!r}]))"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert f"pip install 'kubebill[{extra}]'" in result.stderr and "Traceback" not in result.stderr


def test_merge_creates_only_the_default_store_and_says_so(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEBILL_", "OPENCOST_PARQUET_"))}
    missing = tmp_path / "elsewhere"
    result = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "merge", "--store", str(missing)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and f"store {missing} does not exist" in result.stderr and not missing.exists()
    result = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "merge"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "created the default store ./kubebill-data" in result.stdout and (tmp_path / "kubebill-data").is_dir()
