"""The reconcile engine (DESIGN 4): bill lines × split table → RESULT rows, by the SQL stages on embedded DuckDB.

`run_stages` materialises the stages of `reconcile.stages` in their declared order, binding each one's
parameters, and frees each relation once its last reader has run (at 10M lines DuckDB's share holds a fraction
of the day, and every block of a dead table it keeps is one it must spill from a live one). The physical choices
are made here, never in the stage files: which relations are views (read once or cheaply, never stored), the
target-id hash, the store order of the split rows. `run_stage` runs one stage alone on tables already there.

`Reconciliation(allocation, cost, day=…)` registers the inputs, runs the stages, checks the invariants; its rows
are then fetched or written by `reconcile.rows`.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as fs
import pyarrow.parquet as pq

from kubebill import log
from kubebill.errors import InputError
from kubebill.keys import match_key
from kubebill.reconcile import invariants, policies, rows, session, stages
from kubebill.reconcile.session import duckdb_share
from kubebill.reconcile.splits import OPENCOST_LIST_COST

__all__ = ["Options", "Reconciliation", "connect", "duckdb_share", "reconcile", "run_stage", "run_stages"]

LOG = log.get("reconcile")

# Relations kept as views: read once (or cheaply) by the next stored stage, storing them would copy their rows
# (node_splits, 1M allocation rows stored, then copied by split_rows: the stages 2.90-2.99 s, as a view 2.50-2.68).
VIEWS = frozenset(
    {"node_rows", "node_splits", "volume_splits", "lb_splits", "aks_splits", "all_splits", "line_matches",
     "matched_rows", "shared_rows", "unmatched_rows", "allocated_targets", "allocated_rows"}
)  # fmt: skip
# The stages that only filter an input (the day's steps, the day's lines): when the input is a scan of local Parquet
# files and the day is small enough for the writer to take its lines in few chunks, they stay views over the files
# (their day bounds written into the view: views take no parameter), so each reader decodes only the columns it
# reads instead of one stored copy of every column (1M lines: 1.0 + 0.6 CPU s of storing, for ~0.3 of re-reading).
# A day of SORT_FROM_CHUNKS chunks or more keeps them stored: each writer chunk reads its own blocks of them.
IN_PLACE = frozenset({"allocation_rows", "bill_lines"})
# The target ids: DuckDB's own 64-bit `hash` under the name of Spark's 64-bit `xxhash64`, which the stages call
# (the ids never leave one run, so the engines need not agree on the values, only on 64 bits).
_HASH_ARITIES = (3, 10)
# Bill lines whose split rows the writer joins at once: from this many chunks, `result_rows` is stored in line
# order, so each chunk reads only its own blocks (zone maps on lid). Built by joins, the rows have every chunk's
# lines in every block, so each of the 20 chunks of a 10M-line day read all of it back from spill (the write:
# 56 s unsorted, 32 s sorted, the sort 9 s). At 1M lines (2 chunks, in memory) the sort only cost: skipped.
SORT_FROM_CHUNKS = 4


@dataclass(frozen=True)
class Options:
    """How the engine splits and how much it may use."""

    method: str = OPENCOST_LIST_COST
    shared_spread: str = "none"  # none | weighted | even
    allocation_source: str = "auto"  # export | cloud | auto: whose split a cluster-day uses (DESIGN 4)
    # the allocation policies (kubebill.settings, DESIGN 4 Policies); the defaults move nothing
    idle_share: str = "none"  # none | weighted | even
    idle_share_scope: str = "node"  # node | cluster
    shared_namespaces: tuple[str, ...] = ()
    shared_labels: tuple[str, ...] = ()  # key=value
    namespace_tags: tuple[str, ...] = ()
    cluster_tags: tuple[str, ...] = ()
    memory_limit: str | None = None
    threads: int | None = None
    temp_directory: str | None = None
    estimate_currency: str = "USD"  # OpenCost's list prices are in its configured currency, USD by default

    def parameters(self) -> dict[str, object]:
        """The stages' bound parameters these options set (lists as comma-joined text: one portable type)."""
        return {
            "method": self.method,
            "shared_spread": self.shared_spread,
            "allocation_source": self.allocation_source,
            "idle_share": self.idle_share,
            "idle_share_scope": self.idle_share_scope,
            "shared_namespaces": ",".join(self.shared_namespaces),
            "shared_labels": ",".join(self.shared_labels),
            "namespace_tags": ",".join(self.namespace_tags),
            "cluster_tags": ",".join(self.cluster_tags),
        }


def connect(options: Options) -> duckdb.DuckDBPyConnection:
    """The engine session for `options` (see reconcile.session), with the stages' hash function."""
    con = session.connect(
        memory_limit=options.memory_limit, threads=options.threads, temp_directory=options.temp_directory
    )
    overloads = ", ".join(
        f"({', '.join(f'a{i}' for i in range(n))}) AS hash({', '.join(f'a{i}' for i in range(n))})"
        for n in _HASH_ARITIES
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO xxhash64{overloads}")
    return con


def last_uses(names: list[str]) -> dict[str, int]:
    """For each relation, the index in `names` (the stages run, in order) of the last stored stage needing it:
    a view's readers need what the view reads."""
    position = {name: i for i, name in enumerate(names)}
    readers: dict[str, list[str]] = {}
    for name in names:
        for read in stages.BY_NAME[name].reads:
            readers.setdefault(read, []).append(name)

    def use(relation: str) -> int:
        found = position.get(relation, -1)
        for reader in readers.get(relation, []):
            found = max(found, use(reader) if reader in VIEWS else position[reader])
        return found

    return {relation: use(relation) for relation in [*names, *readers]}


def run_stage(
    con: duckdb.DuckDBPyConnection,
    name: str,
    parameters: Mapping[str, object],
    *,
    order_by: str | None = None,
    view: bool = False,
    store: bool = False,
) -> str:
    """Materialise the stage `name` from the relations it reads: a view when `view` or VIEWS says so (DuckDB's
    views take no parameter: its parameters are written in as literals), else a table, binding the parameters its
    text names; `order_by` stores its rows in that order, `store` stores one of VIEWS. Returns what it made: VIEW or
    TABLE."""
    text = stages.sql(name)
    bound = {p: parameters[p] for p in stages.parameters(name)}
    if view or (name in VIEWS and not store):
        text = _PARAMETER.sub(lambda found: _literal(bound[found[1]]), text)
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {text}')
        return "VIEW"
    if order_by:
        text = f"SELECT * FROM ({text}) ORDER BY {order_by}"
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {text}', bound or None)
    return "TABLE"


def run_stages(
    con: duckdb.DuckDBPyConnection,
    parameters: Mapping[str, object],
    *,
    after: Mapping[str, Callable[[duckdb.DuckDBPyConnection], None]] | None = None,
    order_by: Callable[[str], str | None] = lambda name: None,
    store: Callable[[str], bool] = lambda name: False,
    keep: tuple[str, ...] = stages.OUTPUTS,
    in_place: frozenset[str] = frozenset(),
) -> None:
    """Run every stage in order; `after[name]` runs once the stage `name` is there (the keymap, the checks);
    the stages in `in_place` (of IN_PLACE) are views over their input (see IN_PLACE), those `store` names are
    stored even when of VIEWS."""
    names = [stage.name for stage in stages.STAGES]
    uses = last_uses(names)
    # what the runner made, by name: dropped after its last reader
    created = {"keymap": "TABLE", "policy_values": "TABLE"}
    for i, name in enumerate(names):
        started = time.monotonic()
        stored = store(name)
        created[name] = run_stage(con, name, parameters, order_by=order_by(name), view=name in in_place, store=stored)
        LOG.debug("stage", extra={"stage": name, "seconds": round(time.monotonic() - started, 3)})
        if after and name in after:
            after[name](con)
        for relation, last in uses.items():
            if last == i and relation in created and relation not in keep:
                con.execute(f'DROP {created.pop(relation)} IF EXISTS "{relation}"')


_PARAMETER = re.compile(r"\$([a-z_]+)")


def _literal(value: object) -> str:
    """A bound parameter's value as SQL text, for a view: a zoned datetime (the day bounds) or a text (a setting)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"a view's parameter is written in only when it is a zoned datetime or a text, not {value!r}")


def _day_bounds(day: date) -> dict[str, object]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return {"day_start": start, "day_end": start + timedelta(days=1)}


class Reconciliation:
    """One UTC day reconciled; the rows live in the engine's DuckDB until written or fetched."""

    def __init__(
        self,
        allocation: Any,
        cost: Any,
        *,
        day: date,
        options: Options | None = None,
        allocation_keys: Mapping[tuple[str, str], str] | None = None,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        self.day = day
        self.options = options or Options()
        self.con = con or connect(self.options)
        self.notes: dict[str, int] = {}  # the cloud splits' defects of the day, by name (see _check_cloud_splits)
        steps = _register(self.con, "allocation_in", allocation)
        lines = _register(self.con, "cost_in", cost, numbered=True)
        small = lines is not None and lines < SORT_FROM_CHUNKS * rows.LINES_PER_JOIN
        in_place = frozenset(
            name for name, found in (("allocation_rows", steps), ("bill_lines", lines)) if small and found is not None
        )
        found = allocation_keys or {}
        self.con.register(
            "allocation_keys",
            pa.table(
                {"cluster": [c for c, _ in found], "source": [s for _, s in found], "key": list(found.values())},
                schema=pa.schema([("cluster", pa.string()), ("source", pa.string()), ("key", pa.string())]),
            ),
        )
        parameters = _day_bounds(day) | self.options.parameters()
        run_stages(
            self.con,
            parameters,
            after={
                "provider_ids": _keymap,
                "split_rows": _check_clusters,
                "bill_lines": self._check_cloud_splits,
                "result_rows": lambda con: policies.build(con, self.options),
            },
            order_by=lambda name: "lid" if name == "result_rows" and self._sorted() else None,
            # a sorted day stores matched_rows first: sorting over the view ran its three joins and GROUP BY under
            # the sort, and at 30M lines (52.5M rows) DuckDB could not pin a block in its 572 MiB (Out of Memory);
            # stored first, the joins took 29 s and the sort 44 s at a peak of 885 MB
            store=lambda name: name == "matched_rows" and self._sorted(),
            in_place=in_place,
        )
        invariants.check(self.con)
        self.unmatched = policies.unmatched(self.con, self.options)
        self._rows = rows.Rows(self.con, estimate_currency=self.options.estimate_currency, chunks=self._chunks)

    @functools.cached_property
    def _chunks(self) -> list[str]:
        """The conditions on lid that cut the day's lines into the writer's chunks of rows.LINES_PER_JOIN (asked
        by the stages after bill_lines, and by the writer: counted once)."""
        low, high = self.con.execute("SELECT min(lid), max(lid) FROM bill_lines").fetchall()[0]
        return [] if low is None else [rows.lids(start) for start in range(low, high + 1, rows.LINES_PER_JOIN)]

    def _sorted(self) -> bool:
        return len(self._chunks) >= SORT_FROM_CHUNKS

    def cloud_overlap(self) -> list[str]:
        """The clusters (lower-cased) an allocation export and the cloud's own split both cover this day."""
        found = self.con.execute(
            """SELECT DISTINCT lower(x_CloudSplit.cluster) AS lc FROM cost_in
            WHERE ChargePeriodStart >= $day_start AND ChargePeriodStart < $day_end AND x_CloudSplit.cluster IS NOT NULL
            INTERSECT
            SELECT DISTINCT lower(cluster) FROM allocation_in WHERE window_start < $day_end AND window_end > $day_start
            ORDER BY 1""",
            _day_bounds(self.day),
        ).fetchall()
        return [str(row[0]) for row in found]

    def _check_cloud_splits(self, con: duckdb.DuckDBPyConnection) -> None:
        """The day's defects of the clouds' own splits, counted and logged by name (none loses money: a split row
        carries none, the parent line does, and its split is normalised to its own total):

        - `cloud_split_orphan_rows`: AWS split rows whose parent no bill line of the day carries (nothing to split);
        - `cloud_split_mismatched_parents`: parent instance-hours whose split + unused costs differ from the parent
          lines' EffectiveCost by more than 1% (split by the rows' ratios all the same);
        - `namespace_labels_ignored`: lines with a `k8s-namespace` label that are no GKE cost-allocation line (no
          `goog-k8s-cluster-name`, or not a Google line): split as any line.
        """
        day = "ChargePeriodStart >= $day_start AND ChargePeriodStart < $day_end"
        bounds = _day_bounds(self.day)
        # both checks read only split rows (x_CloudSplit.parent set): a day without any skips their joins with
        # every bill line (1M lines: ~0.45 CPU s for nothing)
        children = con.execute(
            f"SELECT count(*) FROM cost_in WHERE {day} AND x_CloudSplit.parent IS NOT NULL", bounds
        ).fetchall()[0][0]
        orphans: tuple[Any, ...] = (0, None, None)
        mismatched: tuple[Any, ...] = (0, None)
        if children:
            orphans, mismatched = self._split_defects(con, day, bounds)
        ignored = con.execute(
            """SELECT count(*) FROM bill_lines WHERE gk IS NULL AND strpos(Tags, '"k8s-namespace"') > 0"""
        ).fetchall()[0]
        found = {
            "cloud_split_orphan_rows": (int(orphans[0]), f"e.g. {orphans[1]}, parent {orphans[2]}"),
            "cloud_split_mismatched_parents": (int(mismatched[0]), f"e.g. {mismatched[1]}"),
            "namespace_labels_ignored": (int(ignored[0]), "no goog-k8s-cluster-name on a Google line"),
        }
        for name, (count, example) in found.items():
            if count:
                self.notes[name] = count
                LOG.warning("cloud split defect", extra={"note": name, "count": count, "example": example})

    @staticmethod
    def _split_defects(
        con: duckdb.DuckDBPyConnection, day: str, bounds: dict[str, object]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(count, example row, parent) of the orphan split rows and (count, example) of the mismatched parents."""
        orphans = con.execute(
            f"""SELECT count(*), min(x_SourceKey || ' row ' || x_SourceRowId), min(x_CloudSplit.parent) FROM cost_in c
            WHERE {day} AND x_CloudSplit.parent IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM bill_lines l WHERE l.rk = c.x_CloudSplit.parent)""",
            bounds,
        ).fetchall()[0]
        mismatched = con.execute(
            f"""WITH s AS (SELECT x_CloudSplit.parent AS rk, ChargePeriodStart AS cps,
                                  sum(coalesce(x_CloudSplit.split_cost, 0) + coalesce(x_CloudSplit.unused_cost, 0)) AS s
                           FROM cost_in WHERE {day} AND x_CloudSplit.parent IS NOT NULL GROUP BY ALL),
                    l AS (SELECT rk, cps, sum(EffectiveCost) AS e FROM bill_lines GROUP BY ALL)
            SELECT count(*), min(s.rk || ' at ' || s.cps::VARCHAR) FROM s JOIN l USING (rk, cps)
            WHERE abs(s.s - l.e) > 0.01 * abs(l.e) + 1e-9""",
            bounds,
        ).fetchall()[0]
        return tuple(orphans), tuple(mismatched)

    # --- results ---
    @property
    def rows(self) -> int:
        return int(
            self._scalar(
                "SELECT (SELECT count(*) FROM allocated_rows) + (SELECT count(*) FROM passed_lines)"
                " + (SELECT count(*) FROM estimates)"
            )
        )

    def stats(self) -> dict[str, int]:
        """Counts by x_K8sAllocation, plus `flagged_slices` (allocated list cost above the node's)."""
        found = {
            str(k): int(v)
            for k, v in self.con.execute(
                "SELECT kind, count(*) FROM (SELECT kind FROM allocated_rows"
                " UNION ALL SELECT 'not_kubernetes' AS kind FROM passed_lines) GROUP BY kind"
            ).fetchall()
        }
        estimated = int(self._scalar("SELECT count(*) FROM estimates"))
        if estimated:
            found["estimated"] = estimated
        return (
            found
            | self.notes
            | {"flagged_slices": int(self._scalar("SELECT count(*) FROM allocated_rows WHERE neg_idle"))}
        )

    def _scalar(self, query: str) -> Any:
        """The one value of an aggregate query, its result read to the end (DuckDB 2 refuses new work on a
        connection while a result is left open, as fetchone() leaves it)."""
        return self.con.execute(query).fetchall()[0][0]

    def table(self) -> pa.Table:
        """The day's RESULT rows in a stable order."""
        return self._rows.table()

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The day's RESULT rows, unsorted, a batch at a time, some target columns as dictionaries (see
        rows.Rows.batches; rows.plain decodes a batch)."""
        if self.options.memory_limit:  # the targets are held in Arrow while DuckDB writes: its share shrinks by them
            less = self._rows.targets().nbytes
            self.con.execute(f"SET memory_limit = '{duckdb_share(self.options.memory_limit, less=less)}'")
        return self._rows.batches()

    def write_parquet(self, path: str) -> None:
        """Stream the day's rows into a Parquet file, without holding them in Python."""
        rows.write_parquet(path, self.batches())

    def close(self) -> None:
        self.con.close()


_KEYMAP = pa.schema([("raw", pa.string()), ("key", pa.string())])


def _keymap(con: duckdb.DuckDBPyConnection) -> None:
    """`keymap(raw, key)`: each cluster-side provider id and the key the bill side names it by (kubebill.keys)."""
    pairs = [(raw, match_key(raw)) for (raw,) in con.execute("SELECT raw FROM provider_ids").fetchall()]
    found = [(r, k) for r, k in pairs if k]
    con.register("keymap_in", pa.table({"raw": [p[0] for p in found], "key": [p[1] for p in found]}, schema=_KEYMAP))
    con.execute("CREATE OR REPLACE TEMP TABLE keymap AS SELECT raw, key FROM keymap_in")
    con.unregister("keymap_in")


def _check_clusters(con: duckdb.DuckDBPyConnection) -> None:
    """A node (or disk, LB) in two clusters' exports is a configuration error: name both."""
    # min <> max finds a key in two clusters without a set of distinct names per key (1M rows: 0.003 s, not 0.08)
    row = con.execute(
        """SELECT skey, list(DISTINCT cluster ORDER BY cluster), list(DISTINCT node ORDER BY node) FROM split_rows
        WHERE skey = (SELECT min(skey) FROM (SELECT skey FROM split_rows GROUP BY skey
                                             HAVING min(cluster) <> max(cluster)))
        GROUP BY skey"""
    ).fetchall()
    if row:
        key, clusters, nodes = row[0]
        files = con.execute(
            "SELECT list(key ORDER BY key) FROM allocation_keys WHERE list_contains(?, cluster)", [clusters]
        ).fetchall()[0]
        raise cluster_conflict(key, clusters, nodes, files[0] or [])


def cluster_conflict(key: str, clusters: list[str], nodes: list[str | None], files: list[str]) -> InputError:
    """The error of a key in two clusters' exports (each engine finds it its own way)."""
    shown = f" ({', '.join(files)})" if files else ""
    node = f"node {nodes[0]!r} " if nodes and nodes[0] else ""
    return InputError(
        f"{node}(key {key}) appears in the allocation exports of clusters "
        f"{' and '.join(repr(c) for c in clusters)}{shown}; a node belongs to one cluster — "
        "check the cluster name each export was given"
    )


def _register(con: duckdb.DuckDBPyConnection, name: str, data: Any, *, numbered: bool = False) -> int | None:
    """`data` as the view `name`: read by DuckDB's own Parquet reader when it is a dataset of local Parquet files
    that all have exactly its schema (measured on 1M staged bill lines: 0.6 s and 0.5 GB peak RSS, where the Arrow
    dataset scan, reading whole row groups ahead, took 2.2 s and 1.0 GB), else scanned as the Arrow object.

    `numbered` adds `line`, a number unique to each row, from its input object and its row number in it: the
    Parquet files' own row numbers (free, where row_number() over 1M lines took 0.4-0.6 s in one thread) offset by
    the rows of the files before it, or counted over an Arrow object.

    Returns the files' row count when the view reads local Parquet files (the same rows on every read: a stage
    may stay a view over it, see IN_PLACE), else None.
    """
    if (
        isinstance(data, ds.FileSystemDataset)
        and isinstance(data.format, ds.ParquetFileFormat)
        and isinstance(data.filesystem, fs.LocalFileSystem)
        and data.files
        and all(pq.read_schema(path).equals(data.schema) for path in data.files)
    ):
        if not numbered:
            files = ", ".join(f"'{_sql_text(path)}'" for path in data.files)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet([{files}])")
            return sum(int(pq.read_metadata(path).num_rows) for path in data.files)
        parts, offset = [], 0
        for path in data.files:
            parts.append(
                f"SELECT {offset} + file_row_number AS line, * EXCLUDE (file_row_number)"
                f" FROM read_parquet('{_sql_text(path)}', file_row_number = true)"
            )
            offset += int(pq.read_metadata(path).num_rows)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {' UNION ALL '.join(parts)}")
        return offset
    if numbered:
        con.register(f"{name}_arrow", data)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT row_number() OVER () AS line, * FROM {name}_arrow")
    else:
        con.register(name, data)
    return None


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def reconcile(allocation: Any, cost: Any, *, day: date, options: Options | None = None) -> pa.Table:
    """Reconcile one UTC day of Arrow inputs (ALLOCATION, COST) into RESULT rows (checked)."""
    run = Reconciliation(allocation, cost, day=day, options=options)
    try:
        return run.table()
    finally:
        run.close()
