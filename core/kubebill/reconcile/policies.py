"""The allocation policies' one input built in Python (DESIGN 4 Policies), and what their selectors matched.

`policy_values(json, setting, rank, selector, value)`: for each distinct JSON text a policy looks into — the pod
labels of the workload targets (`shared_label`), the tags of the lines passed through as `not_kubernetes`
(`namespace_tag`, `cluster_tag`) — the value of each configured selector it carries, `rank` its place in the
setting's list. The JSON texts repeat on every row of a pod or resource: each distinct one is parsed once, and the
stages join on the text. A key is looked up as written and as the exports rename it (OpenCost's labels and AWS
CUR 2.0's tags with non-alphanumerics as `_`, CUR 2.0 `user_` and legacy CUR `user:` tag prefixes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from kubebill.keys import tag_value

if TYPE_CHECKING:
    import duckdb

    from kubebill.reconcile.engine import Options

SCHEMA = pa.schema(
    [("json", pa.string()), ("setting", pa.string()), ("rank", pa.int64()), ("selector", pa.string()),
     ("value", pa.string())]
)  # fmt: skip
# The variables the selectors come from, by `policy_values` setting (shared namespaces are matched in SQL).
VARIABLES = {
    "shared_namespace": "KUBEBILL_SHARED_NAMESPACES",
    "shared_label": "KUBEBILL_SHARED_LABELS",
    "namespace_tag": "KUBEBILL_NAMESPACE_TAGS",
    "cluster_tag": "KUBEBILL_CLUSTER_TAGS",
}


def _object(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def values(labels: Iterable[str], tags: Iterable[str], options: Options) -> pa.Table:
    """`policy_values` for the distinct pod-label texts of the workload targets and tag texts of the
    not_kubernetes lines (any engine's runner: only the texts come from its relations)."""
    rows: list[tuple[str, str, int, str, str]] = []
    for text in labels if options.shared_labels and options.shared_spread != "none" else ():
        found = _object(text)
        for rank, selector in enumerate(options.shared_labels):
            key, _, value = selector.partition("=")
            if tag_value(found, key) == value:
                rows.append((text, "shared_label", rank, selector, value))
    for text in tags if options.namespace_tags else ():
        found = _object(text)
        for setting, keys in (("namespace_tag", options.namespace_tags), ("cluster_tag", options.cluster_tags)):
            for rank, key in enumerate(keys):
                tagged = tag_value(found, key)
                if tagged is not None:
                    rows.append((text, setting, rank, key, tagged))
    return pa.table([list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 5, schema=SCHEMA)


def day_values(con: Any, options: Options) -> pa.Table:
    """`policy_values` for the day's `targets` and `result_rows` (empty when no selector is set); `con` answers
    `execute(sql).fetchall()`: a DuckDB connection, or reconcile.spark's SparkQueries."""
    labels: list[str] = []
    tags: list[str] = []
    if options.shared_labels and options.shared_spread != "none":
        query = "SELECT DISTINCT labels FROM targets WHERE kind = 'workload' AND labels IS NOT NULL"
        labels = [str(text) for (text,) in con.execute(query).fetchall()]
    if options.namespace_tags:
        query = (
            "SELECT DISTINCT Tags FROM bill_lines WHERE Tags IS NOT NULL"
            " AND lid IN (SELECT lid FROM result_rows WHERE kind = 'not_kubernetes')"
        )
        tags = [str(text) for (text,) in con.execute(query).fetchall()]
    return values(labels, tags, options)


def build(con: duckdb.DuckDBPyConnection, options: Options) -> None:
    """Register `policy_values` for the day (see day_values)."""
    con.register("policy_values_in", day_values(con, options))
    con.execute("CREATE OR REPLACE TEMP TABLE policy_values AS SELECT * FROM policy_values_in")
    con.unregister("policy_values_in")


def unmatched(con: duckdb.DuckDBPyConnection, options: Options) -> list[str]:
    """Each configured shared namespace, label selector or tag key that matched nothing in the day, named
    `VARIABLE=item` (a policy that silently moves nothing looks like one that works)."""
    chose = {str(s) for (s,) in con.execute("SELECT DISTINCT selector FROM shared_targets").fetchall()}
    tagged = {
        (str(setting), str(key))
        for setting, key in con.execute("SELECT DISTINCT setting, selector FROM policy_values").fetchall()
    }
    found: list[str] = []
    if options.shared_spread != "none":
        found += [f"{VARIABLES['shared_namespace']}={n}" for n in options.shared_namespaces if n not in chose]
        found += [f"{VARIABLES['shared_label']}={s}" for s in options.shared_labels if s not in chose]
    for setting, keys in (("namespace_tag", options.namespace_tags), ("cluster_tag", options.cluster_tags)):
        if options.namespace_tags:
            found += [f"{VARIABLES[setting]}={k}" for k in keys if (setting, k) not in tagged]
    return found
