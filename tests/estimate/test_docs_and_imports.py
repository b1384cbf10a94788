"""The GitHub Actions example runs a command the CLI accepts; the commands load their libraries only when run."""

from __future__ import annotations

import shlex
import subprocess
import sys

import yaml

from kubebill import cli
from kubebill.commands import estimate as estimate_command
from kubebill.commands import prices as prices_command
from kubebill.estimate import render
from tests.conftest import ROOT

WORKFLOW = ROOT / "docs" / "github-actions" / "kubebill-estimate.yml"


def test_the_github_actions_example_runs_the_ci_gate_against_a_store_url() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = workflow["jobs"]["estimate"]
    assert job["env"]["KUBEBILL_STORE"].split("://")[0] in ("s3", "az", "gs")
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert any("pip install 'kubebill[" in run and "estimate]'" in run for run in runs)
    [script] = [run for run in runs if "kubebill estimate" in run]
    [line] = [line for line in script.splitlines() if line.startswith("kubebill estimate")]
    words = shlex.split(line.split(">")[0].replace("$RUNNER_TEMP", "/tmp/runner").replace("$", ""))
    args = cli.build_parser().parse_args(words[1:])
    assert args.command == "estimate" and args.baseline and args.fail_over == 10 and args.format == "markdown"
    assert args.cluster == "CLUSTER" and args.days == 7
    assert any("exit" in run and "steps.estimate.outputs.code" in run for run in runs)


def test_command_modules_do_not_import_duckdb_yaml_or_pyarrow() -> None:
    code = (
        "import sys\n"
        "import kubebill.commands.estimate, kubebill.commands.prices\n"
        "print(sorted(m for m in ('duckdb', 'yaml', 'pyarrow') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_choices_copied_into_the_commands_match_the_renderer() -> None:
    assert estimate_command.FORMATS == render.ESTIMATE_FORMATS
    assert prices_command.FORMATS == render.PRICE_FORMATS
