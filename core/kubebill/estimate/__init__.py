"""`kubebill estimate` and `kubebill prices`: what Kubernetes manifests will cost at the unit prices the
cluster really paid, learned from the reconciled results (never from a price list)."""
