"""The merge as named SQL stages (DESIGN 4): the declared list, and each stage's text from `sql/NN_<name>.sql`.

Each stage is one pure SELECT defining one relation, named like its file; `reads` says which relations it reads,
so a runner can order the stages and free each relation after its last reader. The inputs come from outside:
`allocation_in` (ALLOCATION rows), `cost_in` (COST rows with `line`, a number unique to each row from its input
object and row number), `allocation_keys(cluster, source, key)` (the allocation export of each cluster), and
`keymap(raw, key)`, which the runner builds with the clouds' Python normalisers from the `provider_ids` stage, and
`policy_values(json, setting, rank, selector, value)`, which it builds once `result_rows` is there (see
reconcile.policies): for each distinct labels or tags JSON text the policies look into, the value of each
configured label selector or tag key it carries.

Parameters are bound, never formatted: `$day_start`, `$day_end` (the UTC day), `$method` (the split method),
`$shared_spread`, `$allocation_source` (export, cloud or auto), and the policies' `$idle_share`, `$idle_share_scope`,
`$shared_namespaces`, `$shared_labels`, `$namespace_tags`, `$cluster_tags` (lists as comma-joined text). A stage may
name a cloud's SQL fragment as ``{{azure.VMSS_PARENT(l.rk)}}`` (or ``{{azure.PRIVATE_IP}}``): the text of that
constant in kubebill.keys, `{0}` given the argument — each cloud's rules live in one place, and the stages read
them from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kubebill import keys

INPUTS = ("allocation_in", "cost_in", "allocation_keys", "keymap", "policy_values")
# The relations the writer and the invariants read once every stage has run (`allocated_rows`,
# `allocated_targets`, `passed_lines`), and those they are views of; `shared_targets` names what the
# shared selectors matched.
OUTPUTS = (
    "bill_lines", "result_rows", "targets", "estimates", "shared_targets", "idle_shares", "shared_shares",
    "external_rows", "policy_targets", "policy_values", "allocated_targets", "moved_rows", "allocated_rows",
    "passed_lines",
)  # fmt: skip


@dataclass(frozen=True)
class Stage:
    name: str
    reads: tuple[str, ...]


STAGES = (
    Stage("allocation_rows", ("allocation_in",)),
    Stage("provider_ids", ("allocation_rows",)),
    Stage("node_keys", ("allocation_rows", "keymap")),
    Stage("node_rows", ("allocation_rows", "node_keys")),
    Stage("node_capacity", ("node_rows",)),
    Stage("node_splits", ("node_rows", "node_capacity")),
    Stage("volume_splits", ("allocation_rows", "keymap")),
    Stage("lb_splits", ("allocation_rows", "keymap")),
    Stage("aks_splits", ("allocation_rows", "keymap")),
    Stage("cloud_clusters", ("cost_in", "allocation_rows")),
    Stage("cloud_splits", ("cost_in", "cloud_clusters")),
    Stage("split_rows", ("node_splits", "volume_splits", "lb_splits", "aks_splits", "cloud_splits")),
    Stage("parent_splits", ("split_rows",)),
    Stage("all_splits", ("split_rows", "parent_splits")),
    Stage("split_keys", ("all_splits",)),
    Stage("split_targets", ("all_splits",)),
    Stage("lb_keys", ("allocation_rows", "keymap")),
    Stage("clusters", ("allocation_rows", "cloud_clusters")),
    Stage("namespace_costs", ("allocation_rows",)),
    Stage("bill_lines", ("cost_in",)),
    Stage("line_keys", ("bill_lines", "split_keys")),
    Stage("service_line_keys", ("bill_lines", "line_keys", "lb_keys")),
    Stage("line_matches", ("line_keys", "service_line_keys")),
    Stage("pairs", ("line_matches", "all_splits")),
    Stage("estimates", ("split_rows", "pairs", "allocation_keys")),
    Stage("rest_targets", ("split_keys",)),
    Stage("line_weights", ("pairs", "line_matches", "rest_targets")),
    Stage("unmatched_lines", ("bill_lines", "line_keys", "service_line_keys", "clusters")),
    Stage("passed_lines", ("unmatched_lines",)),
    Stage("shared_weights", ("unmatched_lines", "namespace_costs")),
    Stage("unmatched_splits", ("unmatched_lines", "shared_weights")),
    Stage("targets", ("split_targets", "rest_targets", "shared_weights", "unmatched_splits")),
    Stage("matched_rows", ("line_weights", "targets", "bill_lines")),
    Stage("shared_rows", ("shared_weights", "targets", "unmatched_lines")),
    Stage("unmatched_rows", ("unmatched_splits", "targets", "unmatched_lines")),
    Stage("result_rows", ("matched_rows", "shared_rows", "unmatched_rows")),
    # the allocation policies, after the split (DESIGN 4 Policies)
    Stage("shared_targets", ("targets", "policy_values")),
    Stage("namespace_rows", ("result_rows", "targets", "shared_targets")),
    Stage("idle_shares", ("result_rows", "targets", "namespace_rows")),
    Stage("shared_shares", ("result_rows", "targets", "shared_targets", "namespace_rows")),
    Stage("external_rows", ("result_rows", "bill_lines", "policy_values", "namespace_rows")),
    Stage("policy_targets", ("targets", "idle_shares", "shared_shares", "external_rows")),
    Stage("allocated_targets", ("targets", "policy_targets")),
    Stage("moved_rows", ("result_rows", "idle_shares", "shared_shares", "external_rows", "policy_targets")),
    Stage("allocated_rows", ("result_rows", "idle_shares", "shared_shares", "external_rows", "moved_rows")),
)
BY_NAME = {stage.name: stage for stage in STAGES}

_FRAGMENT = re.compile(r"\{\{\s*(aws|azure|gcp)\.([A-Z_]+)(?:\((.*?)\))?\s*\}\}")
_PARAMETER = re.compile(r"\$([a-z_]+)")


def file_name(name: str) -> str:
    """The stage's file: its place in STAGES and its name."""
    return f"{STAGES.index(BY_NAME[name]) + 1:02d}_{name}.sql"


@cache
def sql(name: str) -> str:
    """The stage's SELECT, the clouds' fragments put in."""
    text = resources.files("kubebill.reconcile").joinpath("sql", file_name(name)).read_text(encoding="utf-8")

    def fragment(found: re.Match[str]) -> str:
        value = getattr(getattr(keys, found[1]), found[2])
        if not isinstance(value, str):
            raise TypeError(f"{file_name(name)}: {found[0]} is not a SQL fragment")
        return value.format(found[3]) if found[3] is not None else value

    return _FRAGMENT.sub(fragment, text).strip() + "\n"


def parameters(name: str) -> list[str]:
    """The parameters the stage binds, in the order they first appear."""
    return list(dict.fromkeys(_PARAMETER.findall(sql(name))))
