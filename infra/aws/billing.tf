# The bill itself: a CUR 2.0 export (BCM Data Exports, an us-east-1 API) into <billing_prefix>/aws/,
# Parquet, hourly, with resource ids (node lines are matched by instance id), refreshed daily by AWS.
locals {
  cur2_columns = [
    "identity_line_item_id", "identity_time_interval",
    "bill_bill_type", "bill_billing_entity", "bill_billing_period_start_date", "bill_billing_period_end_date",
    "bill_invoice_id", "bill_payer_account_id", "bill_payer_account_name",
    "line_item_usage_account_id", "line_item_usage_account_name", "line_item_line_item_type",
    "line_item_usage_start_date", "line_item_usage_end_date", "line_item_product_code", "line_item_usage_type",
    "line_item_operation", "line_item_availability_zone", "line_item_resource_id", "line_item_usage_amount",
    "line_item_normalization_factor", "line_item_normalized_usage_amount", "line_item_currency_code",
    "line_item_unblended_rate", "line_item_unblended_cost", "line_item_blended_rate", "line_item_blended_cost",
    "line_item_net_unblended_cost", "line_item_line_item_description", "line_item_legal_entity",
    "pricing_public_on_demand_cost", "pricing_public_on_demand_rate", "pricing_term", "pricing_unit",
    "pricing_purchase_option",
    "product", "product_product_family", "product_region_code", "product_instance_type", "product_servicecode",
    "product_location", "product_sku",
    "reservation_reservation_a_r_n", "reservation_effective_cost", "reservation_amortized_upfront_cost_for_usage",
    "reservation_recurring_fee_for_usage", "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_effective_cost", "savings_plan_savings_plan_rate",
    "savings_plan_used_commitment", "savings_plan_total_commitment_to_date",
    "resource_tags", "cost_category", "discount",
  ]
  split_columns = [
    "split_line_item_parent_resource_id", "split_line_item_split_usage", "split_line_item_split_usage_ratio",
    "split_line_item_split_cost", "split_line_item_unused_cost", "split_line_item_public_on_demand_split_cost",
    "split_line_item_public_on_demand_unused_cost", "split_line_item_net_split_cost", "split_line_item_net_unused_cost",
    "split_line_item_actual_usage", "split_line_item_reserved_usage",
  ]
  cur2_query = "SELECT ${join(", ", concat(local.cur2_columns, var.split_cost_allocation_data ? local.split_columns : []))} FROM COST_AND_USAGE_REPORT"
}

resource "aws_bcmdataexports_export" "cur2" {
  count    = var.enable_billing_export ? 1 : 0
  provider = aws.billing

  export {
    name        = var.billing_export_name
    description = "kubebill: CUR 2.0 into s3://${local.bucket}/${local.input_prefixes.billing}aws/"

    data_query {
      query_statement = local.cur2_query
      table_configurations = {
        COST_AND_USAGE_REPORT = {
          TIME_GRANULARITY                      = "HOURLY"
          INCLUDE_RESOURCES                     = "TRUE"
          INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY = "FALSE"
          INCLUDE_SPLIT_COST_ALLOCATION_DATA    = var.split_cost_allocation_data ? "TRUE" : "FALSE"
        }
      }
    }

    destination_configurations {
      s3_destination {
        s3_bucket = aws_s3_bucket.store.bucket
        s3_prefix = "${var.billing_prefix}/aws"
        s3_region = local.region

        s3_output_configurations {
          format      = "PARQUET"
          compression = "PARQUET"
          output_type = "CUSTOM"
          overwrite   = "OVERWRITE_REPORT"
        }
      }
    }

    refresh_cadence {
      frequency = "SYNCHRONOUS"
    }
  }

  tags       = var.tags
  depends_on = [aws_s3_bucket_policy.store]
}
