# kubebill on Azure: a data storage account (one container), one Function App per job on Flex Consumption
# (export, merge, metrics; one host storage account), one user-assigned identity per app, Event Grid
# subscriptions on BlobCreated under the input prefixes,
# Application Insights, and the subscription's Cost Management exports into the container.
data "azurerm_client_config" "current" {}

locals {
  suffix       = substr(md5("${data.azurerm_client_config.current.subscription_id}/${var.resource_group_name}/${var.name}"), 0, 8)
  compact_name = substr(replace(var.name, "-", ""), 0, 10)

  # Every app runs the same package; each enables only its own functions (AzureWebJobs.<name>.Disabled).
  apps = {
    export  = ["export_timer"]
    merge   = ["merge_blob", "catch_up_timer"]
    metrics = ["metrics_http"]
  }
  app_names = { for app, _ in local.apps : app => "${var.name}-${app}-${local.suffix}" }

  # Blob name prefixes exactly as kubebill.layout builds them (DESIGN 3.3): "<prefix>/".
  input_prefixes = {
    allocations = "${var.allocations_prefix}/"
    billing     = "${var.billing_prefix}/"
  }
  results_key_prefix = "${var.results_prefix}/"

  # Every KUBEBILL_* variable is a kubebill.settings name (checked by tests/infra); null values are left unset.
  settings = {
    KUBEBILL_STORE              = "az://${var.container_name}"
    KUBEBILL_ALLOCATIONS_PREFIX = var.allocations_prefix
    KUBEBILL_BILLING_PREFIX     = var.billing_prefix
    KUBEBILL_RESULTS_PREFIX     = var.results_prefix
    KUBEBILL_LOG_FORMAT         = "json"
    KUBEBILL_SOURCE             = var.source_kind
    KUBEBILL_SOURCE_URL         = var.source_url
    KUBEBILL_CLUSTER            = var.cluster
    KUBEBILL_RESTATE_DAYS       = tostring(var.restate_days)
    KUBEBILL_MEMORY_LIMIT       = "${floor(var.instance_memory_mb * 0.7)}MB"
    KUBEBILL_EXPORT_SCHEDULE    = var.export_schedule
    KUBEBILL_CATCH_UP_SCHEDULE  = var.catch_up_schedule
    KUBEBILL_TENANT_ID          = var.tenant_id
    KUBEBILL_ENGINE             = var.engine == "spark" ? "spark" : null
  }

  # What the platform and the Azure SDK read: the store adapter finds the account in AZURE_STORAGE_ACCOUNT_NAME
  # and the user-assigned identity through AZURE_CLIENT_ID (DefaultAzureCredential); the host storage is
  # identity-based too, so no account key appears anywhere.
  platform = { for app, _ in local.apps : app => {
    AZURE_STORAGE_ACCOUNT_NAME                = azurerm_storage_account.data.name
    AZURE_CLIENT_ID                           = azurerm_user_assigned_identity.function[app].client_id
    AzureWebJobsStorage__accountName          = azurerm_storage_account.host.name
    AzureWebJobsStorage__credential           = "managedidentity"
    AzureWebJobsStorage__clientId             = azurerm_user_assigned_identity.function[app].client_id
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "ClientId=${azurerm_user_assigned_identity.function[app].client_id};Authorization=AAD"
  } }

  # the metrics token reaches the metrics app only
  app_settings = { for app, _ in local.apps : app => merge(
    local.platform[app],
    local.disabled[app],
    { for key, value in local.settings : key => value if value != null && value != "" },
    app == "metrics" && var.metrics_token != null ? { KUBEBILL_METRICS_TOKEN = var.metrics_token } : {},
  ) }
}

# Each app runs only its own functions; the export timer also stays off without a cluster API to pull from.
# Self-contained on purpose: tests/infra renders this block with Terraform itself.
locals {
  disabled = { for app, own in local.apps : app => {
    for fn in flatten(values(local.apps)) : "AzureWebJobs.${fn}.Disabled" => (
      contains(own, fn) && !(fn == "export_timer" && var.source_url == null) ? "false" : "true"
    )
  } }
}
