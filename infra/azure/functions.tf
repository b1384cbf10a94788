# The Function Apps (Flex Consumption, Python v2 model), one per job (main.tf local.apps): export runs export_timer,
# merge runs merge_blob and catch_up_timer, metrics runs metrics_http.
resource "azurerm_log_analytics_workspace" "kubebill" {
  name                = "${var.name}-${local.suffix}"
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

resource "azurerm_application_insights" "kubebill" {
  name                          = "${var.name}-${local.suffix}"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  workspace_id                  = azurerm_log_analytics_workspace.kubebill.id
  application_type              = "other"
  local_authentication_disabled = true
  tags                          = var.tags
}

resource "azurerm_service_plan" "kubebill" {
  #checkov:skip=CKV_AZURE_225:Flex Consumption (FC1) scales from zero; zone redundancy needs always-ready instances that cost money at rest
  #checkov:skip=CKV_AZURE_212:Flex Consumption scales on demand; failover instances would bill at rest for batch work that retries anyway
  name                = "${var.name}-${local.suffix}"
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = var.tags
}

resource "azurerm_function_app_flex_consumption" "kubebill" {
  for_each            = local.apps
  name                = local.app_names[each.key]
  resource_group_name = var.resource_group_name
  location            = var.location
  service_plan_id     = azurerm_service_plan.kubebill.id

  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.deployment[each.key].name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.function[each.key].id

  runtime_name           = "python"
  runtime_version        = var.python_version
  instance_memory_in_mb  = var.instance_memory_mb
  maximum_instance_count = var.maximum_instance_count

  https_only                                     = true
  public_network_access_enabled                  = true
  webdeploy_publish_basic_authentication_enabled = false
  app_settings                                   = local.app_settings[each.key]
  tags                                           = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.function[each.key].id]
  }

  site_config {
    minimum_tls_version                    = "1.2"
    application_insights_connection_string = azurerm_application_insights.kubebill.connection_string
  }

  depends_on = [azurerm_role_assignment.host_blobs, azurerm_role_assignment.container_write, azurerm_role_assignment.container_read]
}

# Flex Consumption builds Python dependencies remotely from requirements.txt (one deploy).
data "archive_file" "package" {
  type        = "zip"
  source_dir  = var.package_dir
  output_path = "${path.root}/.terraform/kubebill-azure-package.zip"
  excludes    = ["**/__pycache__/**"]
}

locals {
  deploy_commands = { for app, name in local.app_names : app => "az functionapp deployment source config-zip --subscription '${data.azurerm_client_config.current.subscription_id}' --resource-group '${var.resource_group_name}' --name '${name}' --src '${data.archive_file.package.output_path}' --build-remote true" }
}

resource "terraform_data" "deploy" {
  for_each         = var.deploy_code ? local.apps : {}
  triggers_replace = [data.archive_file.package.output_md5, azurerm_function_app_flex_consumption.kubebill[each.key].id]

  provisioner "local-exec" {
    command = local.deploy_commands[each.key]
  }
}
