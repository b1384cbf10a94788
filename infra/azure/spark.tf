# engine = "spark": an Azure Databricks job runs `kubebill merge --engine spark` on spark_schedule over the days
# the merge app recorded (results/_state/queue.json). Databricks rather than Synapse: Synapse's newest Spark
# runtime (3.4) runs Python 3.10 and kubebill needs 3.11 or later; Databricks Runtime 15.4 LTS runs 3.11.
#
# A job cluster cannot hold a managed identity, so the job signs in as its own Microsoft Entra service principal,
# with the same container role and ABAC write condition as the merge identity (results prefix only). Its secret
# lives in a Databricks secret scope; Spark (abfss://) and kubebill's store (AZURE_CLIENT_* of the Azure SDK's
# EnvironmentCredential) read it from there. It is never a storage key.
locals {
  spark     = var.engine == "spark"
  spark_dir = "/Shared/${var.name}"
  spark_files = local.spark ? {
    entry = "kubebill_spark_job.py"
    wheel = one(fileset(coalesce(var.spark_package_dir, "."), "kubebill-*-py3-none-any.whl"))
  } : {}
  dfs_host = "${azurerm_storage_account.data.name}.dfs.core.windows.net"
  secret   = "{{secrets/${var.name}/client-secret}}"
}

# What the job installs besides the wheel: each name==version line of the package's requirements.txt.
# Self-contained on purpose: tests/infra renders this block with Terraform itself.
locals {
  spark_requirements = var.engine == "spark" ? [
    for line in split("\n", file("${var.spark_package_dir}/requirements.txt")) : trimspace(line)
    if can(regex("^[A-Za-z0-9._-]+==", trimspace(line)))
  ] : []
}

resource "azurerm_databricks_workspace" "spark" {
  #checkov:skip=CKV_AZURE_158:No VNet injection: the job reaches the storage account's public endpoint with Entra ID auth only, as the functions do
  #checkov:skip=CKV2_AZURE_48:Double encryption is a premium-tier option with no data at rest in the workspace besides job logs
  #checkov:skip=CKV2_AZURE_49:No customer managed key for the workspace's own managed services; the results stay in the data account
  count                       = local.spark ? 1 : 0
  name                        = "${var.name}-${local.suffix}"
  resource_group_name         = var.resource_group_name
  location                    = var.location
  sku                         = "premium"
  managed_resource_group_name = "${var.resource_group_name}-${var.name}-databricks"
  tags                        = var.tags
}

resource "azuread_application" "spark" {
  count        = local.spark ? 1 : 0
  display_name = "${var.name}-spark-merge"
}

resource "azuread_service_principal" "spark" {
  count     = local.spark ? 1 : 0
  client_id = azuread_application.spark[0].client_id
}

resource "azuread_service_principal_password" "spark" {
  count                = local.spark ? 1 : 0
  service_principal_id = azuread_service_principal.spark[0].id
}

resource "azurerm_role_assignment" "spark_container_write" {
  count                = local.spark ? 1 : 0
  scope                = local.container_scope
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azuread_service_principal.spark[0].object_id
  principal_type       = "ServicePrincipal"
  condition_version    = "2.0"
  condition            = local.write_conditions["merge"]
}

resource "databricks_secret_scope" "kubebill" {
  count = local.spark ? 1 : 0
  name  = var.name
}

resource "databricks_secret" "client_secret" {
  count        = local.spark ? 1 : 0
  scope        = databricks_secret_scope.kubebill[0].name
  key          = "client-secret"
  string_value = azuread_service_principal_password.spark[0].value
}

resource "databricks_workspace_file" "spark" {
  for_each = local.spark_files
  path     = "${local.spark_dir}/${each.value}"
  source   = "${var.spark_package_dir}/${each.value}"
}

resource "databricks_job" "merge" {
  count = local.spark ? 1 : 0
  name  = "${var.name}-merge"

  schedule {
    quartz_cron_expression = var.spark_schedule
    timezone_id            = "UTC"
  }

  max_concurrent_runs = 1

  job_cluster {
    job_cluster_key = "merge"
    new_cluster {
      spark_version = var.spark_version
      node_type_id  = var.spark_node_type

      autoscale {
        min_workers = 1
        max_workers = var.spark_max_workers
      }

      spark_conf = {
        "fs.azure.account.auth.type.${local.dfs_host}"              = "OAuth"
        "fs.azure.account.oauth.provider.type.${local.dfs_host}"    = "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"
        "fs.azure.account.oauth2.client.id.${local.dfs_host}"       = azuread_application.spark[0].client_id
        "fs.azure.account.oauth2.client.secret.${local.dfs_host}"   = local.secret
        "fs.azure.account.oauth2.client.endpoint.${local.dfs_host}" = "https://login.microsoftonline.com/${data.azurerm_client_config.current.tenant_id}/oauth2/token"
      }

      spark_env_vars = merge(
        { for key, value in local.settings : key => value if value != null && value != "" },
        {
          KUBEBILL_ENGINE            = "spark"
          AZURE_STORAGE_ACCOUNT_NAME = azurerm_storage_account.data.name
          AZURE_TENANT_ID            = data.azurerm_client_config.current.tenant_id
          AZURE_CLIENT_ID            = azuread_application.spark[0].client_id
          AZURE_CLIENT_SECRET        = local.secret
        },
      )
    }
  }

  task {
    task_key        = "merge"
    job_cluster_key = "merge"

    spark_python_task {
      python_file = databricks_workspace_file.spark["entry"].workspace_path
      parameters  = ["--store", local.settings.KUBEBILL_STORE]
    }

    library {
      whl = databricks_workspace_file.spark["wheel"].workspace_path
    }

    # the wheel alone would leave its Azure store's SDKs (an extra) out and its versions unpinned: every
    # requirement of the package's requirements.txt, at the lock's version
    dynamic "library" {
      for_each = local.spark_requirements
      content {
        pypi {
          package = library.value
        }
      }
    }
  }

  depends_on = [databricks_secret.client_secret, azurerm_role_assignment.spark_container_write]
}
