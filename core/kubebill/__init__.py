"""kubebill: Kubernetes cost allocation reconciled to the cloud bill."""

__version__ = "0.1.0"
