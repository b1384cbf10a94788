"""The split methods (DESIGN 4 Node lines): the ids `AllocatedMethodId` names, as the stages spell them.

The split table itself is built by the stages `node_splits`, `volume_splits`, `lb_splits`, `aks_splits` and
`split_rows` (reconcile/sql); the AWS split-cost weights (9:1 CPU:memory of max(request, usage) over the node's
capacity) are in `node_splits`.
"""

from __future__ import annotations

OPENCOST_LIST_COST = "opencost-list-cost"
AWS_SPLIT_COST = "aws-split-cost"
AKS_FRACTION = "aks-cost-analysis-fraction"
METHODS = (OPENCOST_LIST_COST, AWS_SPLIT_COST)
