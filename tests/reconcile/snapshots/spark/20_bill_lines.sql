/* DESIGN §4 Time: the bill lines charged in the merge's UTC day; `lid` from the line's input object and row */
/* number in it; `rk` its lower-cased key, `hint` its cluster (a tag, the node resource group, or the AKS */
/* cluster a control-plane line is billed on), `gk` the key of a GKE cost-allocation line. An AWS split cost */
/* allocation row is no bill line: its parent line carries the bill. */
SELECT
  line AS lid,
  ChargePeriodStart,
  ChargePeriodEnd,
  BillingPeriodStart,
  BillingAccountId,
  SubAccountId,
  ProviderName,
  ServiceName,
  ServiceCategory,
  ResourceId,
  ResourceName,
  ResourceType,
  RegionId,
  SkuId,
  ChargeCategory,
  ChargeDescription,
  PricingCategory,
  CommitmentDiscountId,
  CommitmentDiscountType,
  BillingCurrency,
  BilledCost,
  EffectiveCost,
  ListCost,
  ContractedCost,
  ConsumedQuantity,
  ConsumedUnit,
  Tags,
  x_ResourceKey,
  x_ClusterHint,
  x_BillingFormat,
  x_SourceKey,
  x_SourceRowId,
  LOWER(x_ResourceKey) AS rk,
  COALESCE(
    LOWER(x_ClusterHint),
    CASE
      WHEN LOCATE('/microsoft.containerservice/managedclusters/', LOWER(x_ResourceKey)) > 0
      THEN NULLIF(
        REGEXP_EXTRACT(LOWER(x_ResourceKey), '/microsoft\\.containerservice/managedclusters/([^/]+)$'),
        ''
      )
    END
  ) AS hint,
  CASE
    WHEN x_CloudSplit.parent IS NULL AND NOT x_CloudSplit.cluster IS NULL
    THEN (
      'gke:' || LOWER(x_CloudSplit.cluster) || '/' || COALESCE(x_CloudSplit.node, '') || '/' || COALESCE(x_CloudSplit.namespace, '')
    )
  END AS gk,
  ChargePeriodStart AS cps,
  COALESCE(ChargePeriodEnd, ChargePeriodStart + INTERVAL '1' HOUR) AS cpe
FROM cost_in
WHERE
  ChargePeriodStart >= :day_start
  AND ChargePeriodStart < :day_end
  AND x_CloudSplit.parent IS NULL
