"""Write charts/kubebill/values.schema.json: the chart's values, with one `settings` entry per KUBEBILL_* variable.

Run `.venv/bin/python charts/build_schema.py` after adding a setting; a test keeps the file in sync.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parent / "kubebill" / "values.schema.json"
# not chart settings: the store has its own value, the token comes from a Secret
OWN_VALUES = {"KUBEBILL_STORE": "store", "KUBEBILL_METRICS_TOKEN": "metricsToken"}
SCALAR = {"type": ["string", "number", "boolean"]}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": SCALAR},
        "limits": {"type": "object", "additionalProperties": SCALAR},
    },
}


def obj(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = required
    return out


def string(description: str = "", **more: Any) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {}), **more}


def settings() -> dict[str, Any]:
    from kubebill.settings import variables

    properties = {}
    for row in variables():
        if row["env"] in OWN_VALUES:
            continue
        default = "" if row["default"] in (None, ()) else f" (default: {row['default']})"
        properties[row["env"]] = {**SCALAR, "description": row["doc"] + default}
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "KUBEBILL_* settings by variable name (KUBEBILL_STORE is `store`, the token `metricsToken`)",
        "properties": properties,
    }


def schema() -> dict[str, Any]:
    map_of_strings = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "kubebill chart values",
        **obj(
            {
                "image": obj(
                    {
                        "repository": string("image repository", minLength=1),
                        "tag": string("image tag, used when no digest is set", minLength=1),
                        "digest": string("pin the image: sha256:<64 hex>", pattern="^(sha256:[0-9a-f]{64})?$"),
                        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                    },
                    required=["repository", "tag"],
                ),
                "imagePullSecrets": {"type": "array", "items": obj({"name": string()}, required=["name"])},
                "store": string(
                    "store URL; a pod's filesystem is lost with the pod, so only object storage",
                    pattern="^(s3|az|gs)://[^/]+",
                ),
                "settings": settings(),
                "extraEnv": {"type": "object", "additionalProperties": SCALAR},
                "metricsToken": obj({"secretName": string("Secret holding the bearer token"), "secretKey": string()}),
                "serviceAccount": obj({"create": {"type": "boolean"}, "name": string(), "annotations": map_of_strings}),
                "podLabels": map_of_strings,
                "podAnnotations": map_of_strings,
                "export": obj(
                    {
                        "enabled": {"type": "boolean"},
                        "schedule": string("5-field cron, in timeZone", minLength=9),
                        "timeZone": string(minLength=1),
                        "backoffLimit": {"type": "integer", "minimum": 0},
                        "activeDeadlineSeconds": {"type": "integer", "minimum": 60},
                        "resources": RESOURCES,
                    }
                ),
                "serve": obj(
                    {
                        "enabled": {"type": "boolean"},
                        "replicas": {"type": "integer", "minimum": 0},
                        "port": {"type": "integer", "minimum": 1024, "maximum": 65535},
                        "schedule": {"type": "boolean"},
                        "resources": RESOURCES,
                    }
                ),
                "service": obj({"type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]}}),
                "serviceMonitor": obj(
                    {
                        "enabled": {"type": "boolean"},
                        "interval": string(pattern="^[0-9]+[smh]$"),
                        "labels": map_of_strings,
                    }
                ),
                "prometheusRule": obj({"enabled": {"type": "boolean"}, "labels": map_of_strings}),
                "dashboards": obj(
                    {
                        "enabled": {"type": "boolean"},
                        "label": string(minLength=1),
                        "labelValue": string(),
                        "folder": string(),
                    }
                ),
                "networkPolicy": obj({"enabled": {"type": "boolean"}}),
                "nodeSelector": map_of_strings,
                "tolerations": {"type": "array", "items": {"type": "object"}},
                "affinity": {"type": "object"},
            },
            required=["image", "store", "settings"],
        ),
    }


def render() -> str:
    return json.dumps(schema(), indent=2) + "\n"


if __name__ == "__main__":
    SCHEMA.write_text(render())
    sys.exit(0)
