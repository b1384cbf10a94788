"""The cluster name an OpenCost/Kubecost answer carries (`properties.cluster`), for `export` without --cluster."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import requests

from kubebill.errors import ConfigError, SourceError
from kubebill.model import Window
from kubebill.sources import http
from kubebill.sources.opencost import Query, endpoint, params


def _clusters(document: Any) -> set[str]:
    data = document.get("data") if isinstance(document, dict) else None
    sets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    found = set()
    for allocations in sets:
        for allocation in (allocations or {}).values():
            cluster = ((allocation or {}).get("properties") or {}).get("cluster")
            if isinstance(cluster, str) and cluster:
                found.add(cluster)
    return found


def discover(
    session: requests.Session, *, base_url: str, source: str, day: date, query: Query, options: http.HttpOptions
) -> str:
    """The one cluster the API's answer for the first hour of `day` names; ConfigError if none or several."""
    start = Window.of_day(day).start
    window = Window(start, start + timedelta(hours=1))
    url = endpoint(base_url, source)
    wanted = params(replace(query, step="1h", aggregate="cluster"), window, source)

    def parse(chunks: http.Chunks) -> set[str]:
        try:
            return _clusters(json.loads(b"".join(chunks)))
        except ValueError as exc:
            raise SourceError(f"{url}: expected a JSON answer naming the cluster, got: {exc}") from None

    found = http.get(session, url, wanted, parse, options=options)
    if len(found) == 1:
        return found.pop()
    named = f"names the clusters {', '.join(sorted(found))}" if found else "names no cluster"
    raise ConfigError(f"the answer of {url} {named}: pass --cluster or set KUBEBILL_CLUSTER")
