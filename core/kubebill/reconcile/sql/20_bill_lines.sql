-- DESIGN §4 Time: the bill lines charged in the merge's UTC day; `lid` from the line's input object and row
-- number in it; `rk` its lower-cased key, `hint` its cluster (a tag, the node resource group, or the AKS
-- cluster a control-plane line is billed on), `gk` the key of a GKE cost-allocation line. An AWS split cost
-- allocation row is no bill line: its parent line carries the bill.
SELECT
  line AS lid, ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, BillingAccountId, SubAccountId,
  ProviderName, ServiceName, ServiceCategory, ResourceId, ResourceName, ResourceType, RegionId, SkuId,
  ChargeCategory, ChargeDescription, PricingCategory, CommitmentDiscountId, CommitmentDiscountType,
  BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity, ConsumedUnit, Tags,
  x_ResourceKey, x_ClusterHint, x_BillingFormat, x_SourceKey, x_SourceRowId,
  lower(x_ResourceKey) AS rk,
  coalesce(lower(x_ClusterHint), {{azure.AKS_CLUSTER(lower(x_ResourceKey))}}) AS hint,
  CASE WHEN x_CloudSplit.parent IS NULL AND x_CloudSplit.cluster IS NOT NULL
       THEN {{gcp.GKE_SPLIT_KEY(x_CloudSplit)}} END AS gk,
  ChargePeriodStart AS cps,
  coalesce(ChargePeriodEnd, ChargePeriodStart + INTERVAL 1 HOUR) AS cpe
FROM cost_in
WHERE ChargePeriodStart >= $day_start AND ChargePeriodStart < $day_end AND x_CloudSplit.parent IS NULL
