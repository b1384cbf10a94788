"""The artifacts `kubebill package` builds are the ones the Terraform roots deploy (names, entry points)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubebill.devtools import packaging
from tests.infra.hcl import module
from tests.infra.render import Job, run_many, variable_block
from tests.infra.wiring import entry_points

GCP_ENTRY_POINTS = {"on_object_finalized", "on_schedule", "metrics"}
AZURE_FUNCTIONS = {"export_timer", "merge_blob", "catch_up_timer", "metrics_http"}


def test_aws_architectures_and_runtime_match_the_packaged_zips() -> None:
    aws = module("aws")
    validation = aws.named("variable")["architecture"]["validation"][0]["condition"]
    for arch in packaging.AWS_PLATFORMS:
        assert f'"{arch}"' in validation
    assert aws.default("python_runtime") == f"python{packaging.LAMBDA_PYTHON}"
    default_zip = module("examples/aws").default("package_zip")
    assert Path(default_zip).name == f"kubebill-aws-{aws.default('architecture')}.zip"  # packaging's naming


@pytest.mark.parametrize(("cloud", "expected"), [("gcp", GCP_ENTRY_POINTS), ("azure", AZURE_FUNCTIONS)])
def test_the_packaged_folder_holds_what_terraform_deploys(tmp_path: Path, cloud: str, expected: set[str]) -> None:
    (artifact,) = packaging.build(cloud, tmp_path)
    assert artifact.path.name == cloud
    assert Path(module(f"examples/{cloud}").default("package_dir")).name == cloud
    entry = artifact.path / {"gcp": "main.py", "azure": "function_app.py"}[cloud]
    assert expected <= entry_points(entry)
    assert (artifact.path / "requirements.txt").is_file()  # Cloud Build / Flex remote build install from it
    assert (artifact.path / "kubebill" / "settings.py").is_file()
    if cloud == "azure":
        assert (artifact.path / "host.json").is_file()
    python = module("gcp").default("python_runtime") if cloud == "gcp" else module("azure").default("python_version")
    assert python.replace(".", "").endswith(packaging.LAMBDA_PYTHON.replace(".", ""))


def test_every_python_kubebill_packages_for_is_a_runtime_the_aws_module_accepts(tmp_path: Path) -> None:
    block = variable_block(module("aws").text(), "python_runtime")
    pythons = packaging.LAMBDA_PYTHONS
    jobs = [Job(tmp_path / p, block, "var.python_runtime", {"python_runtime": f"python{p}"}) for p in pythons]
    assert all(ok for ok, _ in run_many(jobs))
