"""Pick the cluster API client for a source name: one ALLOCATION table per request of a UTC day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pyarrow as pa
import requests

from kubebill.errors import ConfigError
from kubebill.sources import aks_agent, opencost
from kubebill.sources.http import HttpOptions
from kubebill.sources.opencost import Query

SOURCES = ("opencost", "kubecost", "aks")


def fetch_day(
    session: requests.Session,
    *,
    source: str,
    base_url: str,
    cluster: str,
    day: date,
    query: Query,
    options: HttpOptions,
) -> Iterator[pa.Table]:
    """ALLOCATION tables covering one UTC day of one cluster, in time order (one per request)."""
    if source == "aks":
        return aks_agent.fetch_day(session, base_url=base_url, cluster=cluster, day=day, options=options)
    if source in ("opencost", "kubecost"):
        return opencost.fetch_day(
            session, source=source, base_url=base_url, cluster=cluster, day=day, query=query, options=options
        )
    raise ConfigError(f"source {source!r}: expected one of {', '.join(SOURCES)}")
