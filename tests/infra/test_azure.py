"""Wiring of infra/azure: Event Grid filters, the identity's scope and write condition, settings, exports."""

from __future__ import annotations

import re
from pathlib import Path

from kubebill.settings import Settings
from tests.infra.hcl import module, one
from tests.infra.render import evaluate, locals_block
from tests.infra.wiring import FUNCTIONS, entry_points

AZURE = module("azure")
APP = FUNCTIONS / "azure" / "function_app.py"
PLATFORM_SETTINGS = {
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_CLIENT_ID",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def test_event_grid_sends_blob_created_under_each_input_prefix_to_merge_blob() -> None:
    subscription = AZURE.resource("azurerm_eventgrid_system_topic_event_subscription", "merge")
    assert subscription["for_each"] == "${local.input_prefixes}"
    assert subscription["included_event_types"] == ["Microsoft.Storage.BlobCreated"]
    subject = one(subscription["subject_filter"])["subject_begins_with"]
    assert subject == "/blobServices/default/containers/${azurerm_storage_container.store.name}/blobs/${each.value}"
    endpoint = one(subscription["azure_function_endpoint"])
    assert (
        endpoint["function_id"] == '${azurerm_function_app_flex_consumption.kubebill["merge"].id}/functions/merge_blob'
    )
    assert "merge_blob" in entry_points(APP)
    assert "@app.event_grid_trigger" in APP.read_text()  # merge_blob takes Event Grid events directly
    assert "${terraform_data.deploy}" in subscription["depends_on"]  # the function must exist first
    topic = AZURE.resource("azurerm_eventgrid_system_topic", "data")
    assert topic["source_resource_id"] == "${azurerm_storage_account.data.id}"
    assert topic["topic_type"] == "Microsoft.Storage.StorageAccounts"


def test_timer_bindings_read_schedules_the_app_settings_define() -> None:
    bindings = set(re.findall(r'schedule="%(\w+)%"', APP.read_text()))
    assert bindings == {"KUBEBILL_EXPORT_SCHEDULE", "KUBEBILL_CATCH_UP_SCHEDULE"}
    settings = AZURE.locals()["settings"]
    for name in bindings:
        assert name in settings
    defaults = Settings()
    assert AZURE.default("export_schedule") == defaults.export_schedule
    assert AZURE.default("catch_up_schedule") == defaults.catch_up_schedule
    assert AZURE.locals()["apps"] == {
        "export": ["export_timer"],
        "merge": ["merge_blob", "catch_up_timer"],
        "metrics": ["metrics_http"],
    }
    assert set(entry_points(APP)) >= {"export_timer", "merge_blob", "catch_up_timer", "metrics_http"}


def test_each_app_runs_only_its_own_functions(tmp_path: Path) -> None:
    """The Disabled settings as Terraform renders them, with and without a cluster API to export from."""
    block = locals_block((AZURE.path / "main.tf").read_text(), "disabled")
    config = (
        'variable "source_url" {\n  type    = string\n  default = null\n}\n'
        'locals {\n  apps = { export = ["export_timer"], merge = ["merge_blob", "catch_up_timer"], '
        'metrics = ["metrics_http"] }\n}\n' + block
    )
    off = evaluate(tmp_path / "off", config, "local.disabled")
    on = evaluate(tmp_path / "on", config, "local.disabled", {"source_url": "http://opencost:9003"})
    enabled = {app: sorted(k.split(".")[1] for k, v in flags.items() if v == "false") for app, flags in on.items()}
    assert enabled == {
        "export": ["export_timer"],
        "merge": ["catch_up_timer", "merge_blob"],
        "metrics": ["metrics_http"],
    }
    assert all(len(flags) == 4 for flags in on.values())
    assert off["export"]["AzureWebJobs.export_timer.Disabled"] == "true"  # nothing to pull from


def test_every_function_in_the_app_has_a_trigger() -> None:
    text = APP.read_text()
    for name in ("export_timer", "merge_blob", "catch_up_timer", "metrics_http"):
        assert re.search(rf"@app\.\w+\([^)]*\)\s*\ndef {name}\(", text), f"{name} has no trigger decorator"


def test_platform_settings_are_only_the_known_sdk_and_host_names() -> None:
    platform = AZURE.locals()["platform"]
    assert platform.startswith("${{for app, _ in local.apps : app => {")
    for name in PLATFORM_SETTINGS:
        assert f"{name} = " in platform, name
    assert 'AzureWebJobsStorage__credential = "managedidentity"' in platform or "managedidentity" in platform
    assert "Key" not in platform.replace("AzureWebJobs", "")
    app = AZURE.resource("azurerm_function_app_flex_consumption", "kubebill")
    assert app["for_each"] == "${local.apps}"
    assert app["app_settings"] == "${local.app_settings[each.key]}"
    assert app["storage_authentication_type"] == "UserAssignedIdentity"
    assert app["storage_user_assigned_identity_id"] == "${azurerm_user_assigned_identity.function[each.key].id}"
    assert one(app["identity"])["identity_ids"] == ["${azurerm_user_assigned_identity.function[each.key].id}"]
    assert app["runtime_name"] == "python"
    assert AZURE.default("python_version") == "3.12"
    settings = AZURE.locals()["app_settings"]
    assert 'app == "metrics" && var.metrics_token != null ? {KUBEBILL_METRICS_TOKEN = var.metrics_token}' in settings
    assert "KUBEBILL_METRICS_TOKEN" not in AZURE.locals()["settings"]


def test_each_identity_holds_one_role_on_the_container_and_writes_only_its_prefix() -> None:
    identities = AZURE.resource("azurerm_user_assigned_identity", "function")
    assert identities["for_each"] == "${local.apps}"
    assert AZURE.locals()["container_scope"] == (
        "${azurerm_storage_account.data.id}/blobServices/default/containers/${azurerm_storage_container.store.name}"
    )
    write = AZURE.resource("azurerm_role_assignment", "container_write")
    assert write["for_each"] == "${local.write_conditions}"
    assert write["scope"] == "${local.container_scope}"
    assert write["role_definition_name"] == "Storage Blob Data Contributor"
    assert write["principal_id"] == "${azurerm_user_assigned_identity.function[each.key].principal_id}"
    assert (write["condition_version"], write["condition"]) == ("2.0", "${each.value}")
    read = AZURE.resource("azurerm_role_assignment", "container_read")
    assert read["role_definition_name"] == "Storage Blob Data Reader"  # metrics: no write at all
    assert read["principal_id"] == '${azurerm_user_assigned_identity.function["metrics"].principal_id}'
    # Nothing on the data account itself: the container is the widest scope there.
    data_scopes = {
        a["scope"]
        for a in AZURE.resources("azurerm_role_assignment").values()
        if "azurerm_user_assigned_identity.function" in a["principal_id"]
    }
    assert data_scopes == {
        "${azurerm_application_insights.kubebill.id}",
        "${azurerm_storage_account.host.id}",
        "${local.container_scope}",
    }


def _condition(tmp_path: Path, source_url: str | None) -> str:
    config = "\n".join(
        [
            'variable "source_url" {\n  type    = string\n  default = null\n}',
            'locals {\n  results_key_prefix = "results/"\n  input_prefixes = { allocations = "allocations/" }\n}',
            locals_block((AZURE.path / "identity.tf").read_text(), "writable_prefixes"),
        ]
    )
    variables = {"source_url": source_url} if source_url else None
    return evaluate(tmp_path, config, "local.write_conditions", variables)


def test_write_condition_rendered_by_terraform_allows_writes_only_under_results(tmp_path: Path) -> None:
    conditions = _condition(tmp_path / "default", None)
    assert set(conditions) == {"merge"}  # no export role at all without a cluster API to pull from
    condition = conditions["merge"]
    path = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
    assert re.findall(r"StringStartsWith '([^']*)'", condition) == ["results/"]
    assert f"{path} StringStartsWith 'results/'" in condition
    for action in ("blobs/write", "blobs/add/action", "blobs/delete", "blobs/move/action"):
        assert f"!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/{action}'}})" in condition
    assert condition.count("(") == condition.count(")")

    with_export = _condition(tmp_path / "export", "http://opencost:9003")
    assert re.findall(r"StringStartsWith '([^']*)'", with_export["merge"]) == ["results/"]
    assert re.findall(r"StringStartsWith '([^']*)'", with_export["export"]) == ["allocations/"]


def test_storage_is_entra_only_tls12_and_private() -> None:
    for name in ("data", "host"):
        account = AZURE.resource("azurerm_storage_account", name)
        assert account["min_tls_version"] == "TLS1_2"
        assert account["allow_nested_items_to_be_public"] is False
        assert account["default_to_oauth_authentication"] is True
    assert AZURE.resource("azurerm_storage_account", "host")["shared_access_key_enabled"] is False
    assert AZURE.resource("azurerm_storage_account", "data")["shared_access_key_enabled"] == (
        "${var.shared_access_key_enabled}"
    )
    assert AZURE.default("shared_access_key_enabled") is False
    assert AZURE.resource("azurerm_storage_container", "store")["container_access_type"] == "private"


def test_cost_management_exports_write_actual_and_amortized_under_the_billing_prefix() -> None:
    export = AZURE.resource("azurerm_subscription_cost_management_export", "kubebill")
    assert AZURE.default("billing_export_types") == ["ActualCost", "AmortizedCost"]
    location = one(export["export_data_storage_location"])
    assert location["container_id"] == "${local.container_scope}"
    assert location["root_folder_path"] == "${var.billing_prefix}/azure"
    assert one(export["export_data_options"])["type"] == "${each.value}"
    assert export["recurrence_type"] == "Daily"


def test_application_insights_receives_the_telemetry() -> None:
    app = AZURE.resource("azurerm_function_app_flex_consumption", "kubebill")
    site = one(app["site_config"])
    assert (
        site["application_insights_connection_string"] == "${azurerm_application_insights.kubebill.connection_string}"
    )
    assert AZURE.resource("azurerm_application_insights", "kubebill")["local_authentication_disabled"] is True
