# kubebill on Azure: a data storage account (one container), a Function App on Flex Consumption with its own
# host storage, one user-assigned identity, Event Grid subscriptions on BlobCreated under the input prefixes,
# Application Insights, and the subscription's Cost Management exports into the container.
data "azurerm_client_config" "current" {}

locals {
  suffix       = substr(md5("${data.azurerm_client_config.current.subscription_id}/${var.resource_group_name}/${var.name}"), 0, 8)
  compact_name = substr(replace(var.name, "-", ""), 0, 10)
  app_name     = "${var.name}-${local.suffix}"

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
    KUBEBILL_METRICS_TOKEN      = var.metrics_token
  }

  # What the platform and the Azure SDK read: the store adapter finds the account in AZURE_STORAGE_ACCOUNT_NAME
  # and the user-assigned identity through AZURE_CLIENT_ID (DefaultAzureCredential); the host storage is
  # identity-based too, so no account key appears anywhere.
  platform = {
    AZURE_STORAGE_ACCOUNT_NAME                = azurerm_storage_account.data.name
    AZURE_CLIENT_ID                           = azurerm_user_assigned_identity.functions.client_id
    AzureWebJobsStorage__accountName          = azurerm_storage_account.host.name
    AzureWebJobsStorage__credential           = "managedidentity"
    AzureWebJobsStorage__clientId             = azurerm_user_assigned_identity.functions.client_id
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "ClientId=${azurerm_user_assigned_identity.functions.client_id};Authorization=AAD"
    "AzureWebJobs.export_timer.Disabled"      = var.source_url == null ? "true" : "false"
  }

  app_settings = merge(local.platform, { for key, value in local.settings : key => value if value != null && value != "" })
}
