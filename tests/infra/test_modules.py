"""What every module and example root must hold, checked on the HCL parsed with python-hcl2."""

from __future__ import annotations

import re
from datetime import date

import pytest

from kubebill.layout import Layout
from kubebill.schema import RESULT
from kubebill.settings import Settings, variables
from tests.infra.hcl import CLOUDS, INFRA, assigned_kubebill_names, module, one

SETTINGS = {row["env"]: row for row in variables()}
PREFIX_VARIABLES = {
    "allocations_prefix": "KUBEBILL_ALLOCATIONS_PREFIX",
    "billing_prefix": "KUBEBILL_BILLING_PREFIX",
    "results_prefix": "KUBEBILL_RESULTS_PREFIX",
}
ROOTS = [*CLOUDS, *(f"examples/{cloud}" for cloud in CLOUDS)]
PROVIDER = {"aws": "aws", "azure": "azurerm", "gcp": "google"}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_module_has_the_four_files(cloud: str) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (INFRA / cloud / name).is_file(), f"infra/{cloud}/{name} is missing"
    assert (INFRA / cloud / "README.md").is_file()


@pytest.mark.parametrize("root", ROOTS)
def test_every_variable_is_typed_and_described(root: str) -> None:
    for name, body in module(root).named("variable").items():
        assert body.get("type"), f"infra/{root}: variable {name} has no type"
        assert len(body.get("description", "")) > 10, f"infra/{root}: variable {name} has no description"


@pytest.mark.parametrize("root", ROOTS)
def test_every_output_is_described(root: str) -> None:
    outputs = module(root).named("output")
    assert outputs
    for name, body in outputs.items():
        assert len(body.get("description", "")) > 10, f"infra/{root}: output {name} has no description"


@pytest.mark.parametrize("root", ROOTS)
def test_terraform_and_providers_are_pinned(root: str) -> None:
    terraform = one(module(root).blocks["terraform"])
    assert re.fullmatch(r">= 1\.1[0-9]", terraform["required_version"])
    providers = one(terraform["required_providers"])
    cloud = root.rsplit("/", 1)[-1]
    assert PROVIDER[cloud] in providers
    for name, spec in providers.items():
        # databricks/databricks: the Azure module's engine = "spark" job (infra/azure/spark.tf)
        assert spec["source"].startswith("hashicorp/") or spec["source"] == "databricks/databricks", name
        assert re.fullmatch(r"~> \d+\.\d+", spec["version"]), f"{name}: {spec['version']} is not a pessimistic pin"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_example_root_pins_what_the_module_pins(cloud: str) -> None:
    module_providers = one(one(module(cloud).blocks["terraform"])["required_providers"])
    example_providers = one(one(module(f"examples/{cloud}").blocks["terraform"])["required_providers"])
    for name, spec in module_providers.items():
        assert example_providers[name]["version"] == spec["version"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_example_root_calls_the_module_with_its_required_variables(cloud: str) -> None:
    call = module(f"examples/{cloud}").named("module")["kubebill"]
    assert call["source"] == f"../../{cloud}"
    required = {name for name, body in module(cloud).named("variable").items() if "default" not in body}
    missing = required - set(call)
    assert not missing, f"examples/{cloud} does not set {sorted(missing)}"
    unknown = set(call) - set(module(cloud).named("variable")) - {"source", "providers"}
    assert not unknown, f"examples/{cloud} sets variables the module lacks: {sorted(unknown)}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_prefix_variables_default_to_the_layout_and_are_validated(cloud: str) -> None:
    mod = module(cloud)
    defaults = Settings()
    for variable, env in PREFIX_VARIABLES.items():
        body = mod.named("variable")[variable]
        assert body["default"] == getattr(defaults, SETTINGS[env]["field"])
        assert body.get("validation"), f"{cloud}: {variable} is not validated"
        assert mod.locals()["settings"][env] == f"${{var.{variable}}}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_environment_names_are_kubebill_settings(cloud: str) -> None:
    mod = module(cloud)
    names = set(mod.locals()["settings"]) | assigned_kubebill_names(mod.text())
    assert names, "no KUBEBILL_* variable set"
    unknown = names - set(SETTINGS)
    assert not unknown, f"infra/{cloud} sets variables kubebill.settings does not know: {sorted(unknown)}"
    for required in ("KUBEBILL_STORE", "KUBEBILL_LOG_FORMAT", *PREFIX_VARIABLES.values()):
        assert required in names
    assert mod.locals()["settings"]["KUBEBILL_LOG_FORMAT"] == "json"


@pytest.mark.parametrize(("cloud", "scheme"), [("aws", "s3"), ("azure", "az"), ("gcp", "gs")])
def test_store_url_scheme(cloud: str, scheme: str) -> None:
    assert module(cloud).locals()["settings"]["KUBEBILL_STORE"].startswith(f"{scheme}://")


def test_settings_values_that_terraform_fixes_parse() -> None:
    """The literal values Terraform sets pass kubebill's own validation."""
    env = {"KUBEBILL_LOG_FORMAT": "json", "KUBEBILL_MEMORY_LIMIT": "2150MB", "KUBEBILL_RESTATE_DAYS": "3"}
    for cloud in CLOUDS:
        mod = module(cloud)
        env["KUBEBILL_SOURCE"] = mod.default("source_kind")
        env["KUBEBILL_RESTATE_DAYS"] = str(mod.default("restate_days"))
        Settings.from_env(env)
    azure = module("azure")
    Settings.from_env(
        {
            "KUBEBILL_EXPORT_SCHEDULE": azure.default("export_schedule"),
            "KUBEBILL_CATCH_UP_SCHEDULE": azure.default("catch_up_schedule"),
        }
    )


@pytest.mark.parametrize(("cloud", "types"), [
    ("aws", {"timestamp[us, tz=UTC]": "timestamp", "string": "string", "double": "double", "int64": "bigint"}),
    ("gcp", {"timestamp[us, tz=UTC]": "TIMESTAMP", "string": "STRING", "double": "FLOAT", "int64": "INTEGER"}),
])  # fmt: skip
def test_query_table_columns_are_the_result_schema(cloud: str, types: dict[str, str]) -> None:
    columns = module(cloud).locals()["result_columns"]
    assert [c["name"] for c in columns] == RESULT.names
    for column, field in zip(columns, RESULT, strict=True):
        assert column["type"] == types[str(field.type)], column["name"]


def test_result_partition_layout_matches_layout_keys() -> None:
    """Athena's projection template and BigQuery's hive prefix describe the keys kubebill.layout writes."""
    key = Layout().result_parquet_key(date(2025, 6, 7))
    assert key == "results/parquet/year=2025/month=06/day=07/result.parquet"
    aws = module("aws")
    table = aws.resource("aws_glue_catalog_table", "results")
    assert aws.locals()["results_parquet"] == "s3://${local.bucket}/${local.results_key_prefix}parquet"
    template = table["parameters"]["storage.location.template"]
    assert template == "${local.results_parquet}/year=$${year}/month=$${month}/day=$${day}"
    assert table["parameters"]["projection.month.digits"] == "2"
    assert table["parameters"]["projection.day.digits"] == "2"
    assert [p["name"] for p in table["partition_keys"]] == ["year", "month", "day"]

    gcp = module("gcp")
    hive = one(
        one(gcp.resource("google_bigquery_table", "results")["external_data_configuration"])[
            "hive_partitioning_options"
        ]
    )
    prefix = "gs://${local.bucket}/${local.results_key_prefix}parquet/"
    assert hive["source_uri_prefix"] == prefix + "{year:STRING}/{month:STRING}/{day:STRING}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_key_prefixes_are_the_prefix_variables_with_a_slash(cloud: str) -> None:
    local = module(cloud).locals()
    results = local["results_key_prefix"]
    assert results == "${var.results_prefix}/"
    if cloud == "gcp":
        assert local["allocations_key_prefix"] == "${var.allocations_prefix}/"
        assert local["billing_key_prefix"] == "${var.billing_prefix}/"
    else:
        assert local["input_prefixes"] == {
            "allocations": "${var.allocations_prefix}/",
            "billing": "${var.billing_prefix}/",
        }
