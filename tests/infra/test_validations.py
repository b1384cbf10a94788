"""Variable validations, run by Terraform itself: the likely wrong values are refused with their message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.hcl import module
from tests.infra.render import Job, run_many, variable_block

CASES = [
    # (module, variable, accepted, refused)
    ("aws", "results_prefix", "results", "results/"),
    ("aws", "allocations_prefix", "k8s/allocations", "/allocations"),
    ("azure", "billing_prefix", "billing", "billing data"),
    ("gcp", "results_prefix", "team-a/results", ""),
    ("aws", "architecture", "x86_64", "amd64"),
    ("aws", "export_schedule", "cron(10 0 * * ? *)", "10 0 * * *"),
    ("aws", "log_retention_days", "30", "31"),
    ("aws", "package_zip", "dist/kubebill-aws-arm64.zip", "dist/aws"),
    ("azure", "export_schedule", "0 10 0 * * *", "10 0 * * *"),
    ("azure", "container_name", "kubebill", "Kube_Bill"),
    ("azure", "billing_export_types", '["ActualCost"]', '["FocusCost"]'),
    ("gcp", "region", "europe-west1", "EU"),
    ("gcp", "billing_export_table", "proj-1.billing.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9", "billing"),
    ("gcp", "package_dir", "dist/gcp", "dist/gcp.zip"),
    ("aws", "engine", "spark", "emr"),
    ("gcp", "engine", "function", "dataproc"),
    ("azure", "engine", "spark", "databricks"),
    ("aws", "spark_schedule", "cron(10 1 * * ? *)", "10 1 * * *"),
    ("gcp", "spark_runtime_version", "2.2", "latest"),
]


@pytest.mark.parametrize(("cloud", "name", "good", "bad"), CASES)
def test_validation_accepts_the_right_value_and_refuses_the_likely_mistake(
    tmp_path: Path, cloud: str, name: str, good: str, bad: str
) -> None:
    block = variable_block(module(cloud).text(), name)
    (ok, value), (refused, error) = run_many(
        [
            Job(tmp_path / "good", block, f"var.{name}", {name: good}),
            Job(tmp_path / "bad", block, f"var.{name}", {name: bad}),
        ]
    )
    assert ok, value
    assert not refused, f"{cloud}: {name}={bad!r} was accepted"
    assert "Invalid value for variable" in error, error


def test_metrics_token_must_be_long_enough(tmp_path: Path) -> None:
    expression = "nonsensitive(var.metrics_token == null)"
    jobs = []
    for cloud in ("aws", "azure"):
        block = variable_block(module(cloud).text(), "metrics_token")
        jobs.append(Job(tmp_path / cloud / "short", block, expression, {"metrics_token": "short"}))
        jobs.append(Job(tmp_path / cloud / "unset", block, expression))
    results = run_many(jobs)
    assert [ok for ok, _ in results] == [False, True, False, True]
    assert all(value is True for ok, value in results if ok)
