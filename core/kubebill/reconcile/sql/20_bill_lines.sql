-- DESIGN §4 Time: the bill lines charged in the merge's UTC day; `lid` from the line's input object and row
-- number in it; `rk` its lower-cased key, `hint` its cluster (a tag, the node resource group, or the AKS
-- cluster a control-plane line is billed on).
SELECT
  line AS lid, ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, BillingAccountId, SubAccountId,
  ProviderName, ServiceName, ServiceCategory, ResourceId, ResourceName, ResourceType, RegionId, SkuId,
  ChargeCategory, ChargeDescription, PricingCategory, CommitmentDiscountId, CommitmentDiscountType,
  BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity, ConsumedUnit, Tags,
  x_ResourceKey, x_ClusterHint, x_BillingFormat, x_SourceKey, x_SourceRowId,
  lower(x_ResourceKey) AS rk,
  coalesce(lower(x_ClusterHint), {{azure.AKS_CLUSTER(lower(x_ResourceKey))}}) AS hint,
  ChargePeriodStart AS cps,
  coalesce(ChargePeriodEnd, ChargePeriodStart + INTERVAL 1 HOUR) AS cpe
FROM cost_in
WHERE ChargePeriodStart >= $day_start AND ChargePeriodStart < $day_end
