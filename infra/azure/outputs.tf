output "storage_account" {
  description = "Name of the data storage account (AZURE_STORAGE_ACCOUNT_NAME for the CLI)."
  value       = azurerm_storage_account.data.name
}

output "store_url" {
  description = "KUBEBILL_STORE for the CLI and in-cluster exporters (az://container)."
  value       = local.settings.KUBEBILL_STORE
}

output "function_app_names" {
  description = "Function App of each job: export (export_timer), merge (merge_blob, catch_up_timer), metrics (metrics_http)."
  value       = { for app, fn in azurerm_function_app_flex_consumption.kubebill : app => fn.name }
}

output "identity_client_ids" {
  description = "Client id of the user-assigned identity each app runs as."
  value       = { for app, identity in azurerm_user_assigned_identity.function : app => identity.client_id }
}

output "metrics_url" {
  description = "Prometheus scrape URL: add ?code=<function key> (az functionapp function keys list -n <app> -g <rg> --function-name metrics_http) and `Authorization: Bearer <metrics_token>`."
  value       = "https://${azurerm_function_app_flex_consumption.kubebill["metrics"].default_hostname}/api/metrics"
}

output "application_insights_id" {
  description = "Application Insights resource of the functions (logs, failures)."
  value       = azurerm_application_insights.kubebill.id
}

output "billing_export_names" {
  description = "Cost Management exports writing into <billing_prefix>/azure/."
  value       = [for export in azurerm_subscription_cost_management_export.kubebill : export.name]
}

output "deploy_commands" {
  description = "Redeploy the function code to each app (what apply runs when deploy_code is true)."
  value       = local.deploy_commands
}

output "databricks_workspace_url" {
  description = "engine = \"spark\": the Databricks workspace URL the databricks provider of the root must use (null otherwise)."
  value       = one(azurerm_databricks_workspace.spark[*].workspace_url)
}

output "databricks_workspace_id" {
  description = "engine = \"spark\": the Databricks workspace resource id (azure_workspace_resource_id of the databricks provider; null otherwise)."
  value       = one(azurerm_databricks_workspace.spark[*].id)
}
