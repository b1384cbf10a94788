# The bill itself: the subscription's Cost Management exports (daily, month to date) into
# <billing_prefix>/azure/<export>/ in the container. Each run writes its files and a manifest.json.
data "azurerm_subscription" "current" {}

resource "azurerm_subscription_cost_management_export" "kubebill" {
  for_each                     = var.enable_billing_exports ? toset(var.billing_export_types) : toset([])
  name                         = "${var.name}-${lower(each.value)}"
  subscription_id              = data.azurerm_subscription.current.id
  recurrence_type              = "Daily"
  recurrence_period_start_date = formatdate("YYYY-MM-DD'T'00:00:00Z", timeadd(plantimestamp(), "24h"))
  recurrence_period_end_date   = formatdate("YYYY-MM-DD'T'00:00:00Z", timeadd(plantimestamp(), "43800h"))
  file_format                  = "Csv"

  export_data_storage_location {
    container_id     = local.container_scope
    root_folder_path = "${var.billing_prefix}/azure"
  }

  export_data_options {
    type       = each.value
    time_frame = "MonthToDate"
  }

  # The dates are fixed at creation; later plans must not move them.
  lifecycle {
    ignore_changes = [recurrence_period_start_date, recurrence_period_end_date]
  }
}
