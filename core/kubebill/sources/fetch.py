"""Pick the cluster API client for a source name: each yields the ALLOCATION batches of a UTC day, in time order."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from kubebill.errors import ConfigError
from kubebill.sources import aks_agent, opencost

SOURCES = ("opencost", "kubecost", "aks")

# every client takes (session, *, source, base_url, cluster, day, query, options)
Fetch = Callable[..., Iterator[pa.RecordBatch]]
_CLIENTS: dict[str, Fetch] = {
    "opencost": opencost.fetch_day,
    "kubecost": opencost.fetch_day,
    "aks": aks_agent.fetch_day,
}


def client(source: str) -> Fetch:
    """The fetch function of `source` (opencost, kubecost or aks)."""
    try:
        return _CLIENTS[source]
    except KeyError:
        raise ConfigError(f"source {source!r}: expected one of {', '.join(SOURCES)}") from None
