"""checkov over infra/ (offline): no failed check, no parse error, every skip inside its resource with a reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from typing import Any

import pytest

from tests.conftest import ROOT

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
INFRA = ROOT / "infra"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@cache
def report() -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is missing: expected {CHECKOV} (run .ci/setup)")
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",  # no download of the Prisma Cloud mapping
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "BC_API_KEY": "",
        "PRISMA_API_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert result.stdout.strip(), result.stderr
    parsed = json.loads(result.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


def test_checkov_finds_no_failed_check() -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for run in report()
        for c in run["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)


def test_checkov_parses_every_file_and_scans_every_module() -> None:
    for run in report():
        assert run["summary"]["parsing_errors"] == 0, run["results"].get("parsing_errors")
    scanned = {c["file_path"].split("/")[1] for run in report() for c in run["results"]["passed_checks"]}
    assert {"aws", "azure", "gcp"} <= scanned
    assert sum(run["summary"]["passed"] for run in report()) > 100


def test_every_skip_has_a_reason_and_sits_inside_its_resource() -> None:
    skips = 0
    for path in sorted(INFRA.rglob("*.tf")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            match = SKIP.search(line)
            if not match:
                continue
            skips += 1
            where = f"{path.relative_to(ROOT)}:{number}"
            assert match.group(2) and len(match.group(2).strip()) >= 20, f"{where}: skip {match.group(1)} has no reason"
            assert line.startswith("  #"), f"{where}: a skip belongs inside the resource it is about"
            opening = next(text for text in reversed(lines[: number - 1]) if not text.startswith("  "))
            assert re.match(r'(resource|data|module) "', opening), f"{where}: skip is not inside a resource block"
    assert skips > 0


def test_every_skip_checkov_applied_carries_its_reason() -> None:
    skipped = [c for run in report() for c in run["results"]["skipped_checks"]]
    assert skipped
    for check in skipped:
        assert check.get("check_result", {}).get("suppress_comment"), check["check_id"]
