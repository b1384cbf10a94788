"""One lock: constraints.txt is the tested environment, and every function requirement is pinned from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubebill.devtools import packaging
from tests.conftest import ROOT


def test_the_lock_is_the_tested_environment() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "lock.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_function_runtime_requirements_are_pinned_to_the_lock() -> None:
    pins = packaging.locked(ROOT)
    files = sorted((ROOT / "functions").glob("*/requirements*.txt"))
    assert {p.parent.name for p in files} == {"azure", "gcp"}
    for path in files:
        for line in filter(None, (x.split("#")[0].strip() for x in path.read_text().splitlines())):
            name, _, version = line.partition("==")
            assert version and pins.get(packaging._name(name)) == version, f"{path.relative_to(ROOT)}: {line}"


def test_every_artifact_requirement_is_pinned_from_the_lock(tmp_path: Path) -> None:
    pins = packaging.locked(ROOT)
    for cloud in packaging.CLOUDS:
        listed = packaging.requirements(cloud, ROOT)
        assert listed and all(line == f"{packaging._name(line)}=={pins[packaging._name(line)]}" for line in listed)
    (folder,) = packaging.build("gcp", tmp_path)
    lines = (folder.path / "requirements.txt").read_text().splitlines()
    assert lines[0] == "-c constraints.txt"
    assert (folder.path / "constraints.txt").read_text() == (ROOT / "constraints.txt").read_text()
    assert not (folder.path / "kubebill" / "devtools").exists()


def test_a_stale_lock_is_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "functions" / "gcp").mkdir(parents=True)
    (tmp_path / "functions" / "gcp" / "requirements.txt").write_text("functions-framework==3.10.2\n")
    (tmp_path / "constraints.txt").write_text("pyarrow==1.0\n")
    with pytest.raises(packaging.InputError, match=r"constraints\.txt has no pin for functions-framework, duckdb"):
        packaging.requirements("gcp", tmp_path)
