"""The day's RESULT rows from the stages' relations, and their Parquet (DESIGN 3.5): the sink side of the engine.

`allocated_rows` holds the narrow split rows once the policies ran (line id, target number, ratio, scaled costs);
the wide RESULT rows are made only while being written: the origin line's FOCUS columns joined on from
`bill_lines`, the target's columns taken by its number from `allocated_targets` in Arrow, the `estimates` widened
alone. The Parquet encodings live here, not in the stages.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from itertools import chain

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.ahead import ahead
from kubebill.reconcile.session import arrow_reader
from kubebill.reconcile.splits import OPENCOST_LIST_COST
from kubebill.schema import COST_COLUMNS, RESULT, conform

# Rows per Parquet row group (and per Arrow batch) of the result. A batch of wide rows (Tags, labels: ~1.6 KB a row
# in the AKS tool's case) is held as DuckDB's Arrow batch, the writer's column buffers and its dictionary pages at
# once: 65,536 rows peaked at 805 MB there, 16,384 at 514 MB, with the same CPU seconds at 1M bill lines.
ROW_GROUP = 16_384
# Bill lines whose wide rows are joined at once: their FOCUS columns fit in DuckDB's share of a 1 GB limit.
LINES_PER_JOIN = 500_000
# The result's Parquet encodings: a dictionary where values repeat within a row group (a line's FOCUS columns over
# its split rows, a cluster's names over its pods), none for values of one row (costs, ratios, the split's JSON,
# pod ids), where building one is wasted; min/max statistics only on the columns readers filter by. Measured on
# 1.75M rows: 1.59 -> 0.97 s to encode, 114 -> 102 MB.
_PER_ROW = ("AllocatedMethodDetails", "AllocatedResourceId", "x_K8sPod", "x_SourceRowId")
_DICTIONARY = [f.name for f in RESULT if not pa.types.is_floating(f.type) and f.name not in _PER_ROW]
# A target column of at most this many distinct values (a cluster's namespaces, its nodes, the allocation kinds)
# travels to the encoder as an Arrow dictionary made once for the day: a batch takes its codes, not its strings, and
# the encoder writes the dictionary instead of hashing every value again; the whole dictionary is written in each
# row group it appears in, so a column of more values stays plain. Measured at 1M lines: the write 1.74-1.81 s ->
# 1.51-1.58 s.
DICTIONARY_TARGETS = ROW_GROUP // 16
_STATISTICS = [
    "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "BillingCurrency",
    "x_K8sCluster", "x_K8sNamespace", "x_K8sAllocation",
]  # fmt: skip

_BILL_COLUMNS = [f.name for f in RESULT][: RESULT.get_field_index("Tags") + 1]
_SCALED = (*COST_COLUMNS, "ConsumedQuantity")
_SERVICE_CATEGORY = {"compute": "Compute", "pv": "Storage", "load_balancer": "Networking", "network": "Networking"}
_TARGET = (
    "comp", "cluster", "node", "namespace", "controller_kind", "controller", "pod", "container", "kind", "method",
)  # fmt: skip

# The RESULT columns a split row (`r`, a row of `result_rows`) adds to its origin line (`l`).
_K8S = {
    "AllocatedMethodId": "r.method",
    # one concat (DuckDB's skips NULL parts; sqlglot gives Spark's a coalesce of each) instead of a chain of ||, and
    # a number as JSON writes it (Spark: as its text, reconcile.spark): the JSON took ~0.3 of a 875k-row chunk's
    # ~0.7 s, most of it the chain; concat_ws('', …) built it 25% slower than concat (bench/README)
    "AllocatedMethodDetails": (
        """CASE WHEN r.method IS NOT NULL THEN concat('{"Elements":[{"AllocatedRatio":',
            to_json(r.ratio)::VARCHAR, CASE WHEN r.unit IS NOT NULL AND r.qty IS NOT NULL THEN
            concat(',"UsageUnit":"', r.unit, '","UsageQuantity":', to_json(r.qty)::VARCHAR) END, '}]',
            CASE WHEN r.neg_idle THEN ',"x_AllocatedExceedsNode":true' END, ',' || r.moved, '}') END"""
    ),
    "AllocatedResourceId": "CASE WHEN r.kind <> 'not_kubernetes' THEN concat_ws('/', r.cluster, r.namespace,"
    " r.pod, r.container) END",
    "AllocatedResourceName": "coalesce(r.container, r.pod, r.namespace, r.cluster)",
    "AllocatedTags": "r.labels",
    "x_K8sCluster": "r.cluster",
    "x_K8sNode": "r.node",
    "x_K8sNamespace": "r.namespace",
    "x_K8sControllerKind": "r.controller_kind",
    "x_K8sController": "r.controller",
    "x_K8sPod": "r.pod",
    "x_K8sContainer": "r.container",
    "x_K8sLabels": "r.labels",
    "x_K8sAllocation": "r.kind",
    "x_K8sCostComponent": """CASE WHEN r.comp = 'compute' AND (l.ServiceCategory = 'Networking'
            OR lower(l.ChargeDescription) LIKE '%data transfer%' OR lower(l.ServiceName) LIKE '%bandwidth%')
            THEN 'network' ELSE r.comp END""",
    "x_K8sCpuRatio": "r.cpu_ratio",
    "x_K8sRamRatio": "r.ram_ratio",
    "x_K8sGpuRatio": "r.gpu_ratio",
    "x_SourceKey": "l.x_SourceKey",
    "x_SourceRowId": "l.x_SourceRowId",
}

# The RESULT columns a split row takes from its target alone (the _K8S expressions reading no other column).
_OF_TARGET = [c for c, e in _K8S.items() if "l." not in e and set(re.findall(r"\br\.(\w+)", e)) <= {*_TARGET, "labels"}]

# The `r` of a not_kubernetes line: its one row, ratio 1, no target.
_PASSED = {"comp": "'other'", "kind": "'not_kubernetes'", "ratio": "1.0", "neg_idle": "false", "moved": "NULL"}


def _from(exprs: Mapping[str, str], source: Callable[[str], str]) -> dict[str, str]:
    """`exprs` with each `r.<column>` read from `source(column)` instead."""
    return {c: re.sub(r"\br\.(\w+)", lambda m: source(m[1]), v) for c, v in exprs.items()}


def _duckdb_type(type_: pa.DataType) -> str:
    if pa.types.is_timestamp(type_):
        return "TIMESTAMPTZ"
    if pa.types.is_floating(type_):
        return "DOUBLE"
    if pa.types.is_integer(type_):
        return "BIGINT"
    return "VARCHAR"


def _columns(exprs: Mapping[str, str], names: Iterable[str] = RESULT.names) -> str:
    return ", ".join(f"CAST({exprs[n]} AS {_duckdb_type(RESULT.field(n).type)}) AS {n}" for n in names)


def _case(mapping: Mapping[str, str]) -> str:
    return " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())


def lids(start: int) -> str:
    """The condition on lid of the bill lines start … start + LINES_PER_JOIN - 1."""
    return f"lid >= {int(start)} AND lid < {int(start) + LINES_PER_JOIN}"


def result_columns(*, estimate_currency: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Each RESULT column's expression, by name, for the three kinds of result row: a split row (`r`, a row of
    `allocated_rows`, its target's columns read as `r.<column>` too (`_OF_TARGET`), and `l`, its origin line in
    `bill_lines`), a not_kubernetes line passed through whole (`l` alone), an estimate (`e`, a row of `estimates`,
    in `estimate_currency`). The one definition both writers read: this module's and reconcile.result_sql's."""
    bill = [c for c in _BILL_COLUMNS if c not in _SCALED]
    split = {c: f"l.{c}" for c in bill} | {c: f"r.{c}" for c in _SCALED} | _K8S
    # a not_kubernetes line passes through whole: its one row is the line itself, nothing to join
    passed = {c: f"l.{c}" for c in (*bill, *_SCALED)} | _from(_K8S, lambda c: _PASSED.get(c, "NULL"))
    estimated = {c: "NULL" for c in _BILL_COLUMNS} | {
        "ChargePeriodStart": "e.ws",
        "ChargePeriodEnd": "e.we",
        "ResourceId": "e.skey",
        "ChargeCategory": "'Usage'",
        "ChargeDescription": "'estimated at list price: no bill line covers this allocation yet'",
        "BillingCurrency": "'" + estimate_currency.replace("'", "''") + "'",
        "BilledCost": "0.0",
        "EffectiveCost": "0.0",
        "ListCost": "e.list_cost",
        "ContractedCost": "e.list_cost",
    }
    estimated |= {c: v for c, v in _from(_K8S, lambda c: f"e.{c}").items() if c.startswith("x_K8s") or "Allocated" in c}
    estimated |= {
        "AllocatedMethodId": f"'{OPENCOST_LIST_COST}'",
        "AllocatedMethodDetails": "NULL",
        "x_K8sAllocation": "'estimated'",
        "x_K8sCostComponent": "e.comp",
        "x_K8sCpuRatio": "NULL",
        "x_K8sRamRatio": "NULL",
        "x_K8sGpuRatio": "NULL",
        "x_SourceKey": "e.source_key",
        "x_SourceRowId": "NULL",
    }
    estimated["ServiceCategory"] = f"CASE e.comp {_case(_SERVICE_CATEGORY)} END"
    estimated["AllocatedResourceId"] = "concat_ws('/', e.cluster, e.namespace, e.pod, e.container)"
    return split, passed, estimated


def either(split: Mapping[str, str], passed: Mapping[str, str]) -> dict[str, str]:
    """Each RESULT column's expression over `bill_lines l LEFT JOIN <its split rows> r`: a line with no split row
    (`r.lid` NULL) is passed through whole (`passed`), any other gives one row per split row (`split`). A line
    written whole has no split row besides: the invariants hold every line's ratios to a sum of 1 and every
    passed_lines line to no row (a line still `not_kubernetes` after the policies: its one row, left out here)."""
    return {
        name: expr if expr == passed[name] else f"CASE WHEN r.lid IS NULL THEN {passed[name]} ELSE {expr} END"
        for name, expr in split.items()
    }


class Rows:
    """The queries that widen the stages' relations into RESULT rows, `chunks` (conditions on lid) at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, estimate_currency: str, chunks: list[str]) -> None:
        self.con = con
        self.chunks = chunks
        self._targets: pa.Table | None = None
        split, passed, estimated = result_columns(estimate_currency=estimate_currency)
        rows = [n for n in RESULT.names if n not in _OF_TARGET]
        # over `bill_lines l LEFT JOIN allocated_rows r`; `tno` numbers the row's target in targets(), 0 the
        # target of a line passed through whole
        self._row_columns = _columns(either(split, passed), rows) + ", coalesce(r.tno + 1, 0) AS tno"
        self._target_columns = _columns({c: re.sub(r"\br\.", "", e) for c, e in _K8S.items()}, _OF_TARGET)
        self._passed_target = _columns(passed, _OF_TARGET)  # constants: a passed line's row has no target
        self._estimated_rows = f"SELECT {_columns(estimated)} FROM estimates e"

    def _rows(self, lids: str) -> str:
        """The RESULT rows of the lines `lids` (a condition on lid), without the target's own columns
        (`_OF_TARGET`): a split row with its origin line's columns, a line passed through whole as it came
        (see `either`); each with the number `tno` of its row in targets()."""
        return (
            f"SELECT {self._row_columns}"
            f" FROM (SELECT * FROM bill_lines WHERE {lids}) l"
            f" LEFT JOIN (SELECT * FROM allocated_rows WHERE {lids} AND kind <> 'not_kubernetes') r"
            " ON r.lid = l.lid"
        )

    def targets(self) -> pa.Table:
        """The target columns of the RESULT rows: row 0 a passed line's (no target), row `tno` + 1 the target
        numbered `tno`."""
        if self._targets is None:
            found = self.con.sql(
                f"SELECT {self._passed_target}, -1 AS tno"
                f" UNION ALL SELECT {self._target_columns}, tno FROM allocated_targets ORDER BY tno"
            ).to_arrow_table()
            if found["tno"][-1].as_py() != found.num_rows - 2:
                raise RuntimeError(f"target numbers are not dense: {found.num_rows} rows, last {found['tno'][-1]}")
            self._targets = found.drop_columns("tno").combine_chunks()
        return self._targets

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The day's RESULT rows, unsorted, a batch at a time, the target columns of few values as Arrow
        dictionaries (`DICTIONARY_TARGETS`; `plain` decodes a batch to RESULT). The wide rows are joined
        LINES_PER_JOIN bill lines at a time, so the join of the lines' FOCUS columns fits DuckDB's memory at any
        day size (one join of 10M lines spilled its hash table and took 4 of the merge's 9 minutes). A split
        row's target columns are taken from one table of the day's targets by number: gathering their strings out
        of a hash join cost more than all the rest of the write (0.43 s per 500k rows). Each chunk's lines are
        read once, split or passed through whole (a query for each read them twice: 0.4 s of 1M lines' 2 s)."""
        # a column no target fills (no labels, say) is nulls, not gathered (1M lines: ~0.02 s a column)
        targets = self.targets()  # one chunk a column: never empty (row 0), combined
        given = {name: targets.column(name).chunk(0) for name in _OF_TARGET}
        coded = _coded(given)
        empty = {name: column.type for name, column in given.items() if column.null_count == len(column)}
        taken = {name: column for name, column in given.items() if name not in empty and name not in coded}
        schema = _wire(coded)
        for chunk in self.chunks:
            for batch in self._reader(self._rows(chunk)):
                numbers = batch.column("tno")
                columns = {name: batch.column(name) for name in batch.schema.names}
                columns |= {name: pa.nulls(len(numbers), type_) for name, type_ in empty.items()}
                columns |= {name: column.take(numbers) for name, column in taken.items()}
                columns |= {
                    # the codes were taken from valid ones: no bounds check again
                    name: pa.DictionaryArray.from_arrays(codes.indices.take(numbers), codes.dictionary, safe=False)
                    for name, codes in coded.items()
                }
                yield pa.RecordBatch.from_arrays([_as(columns[f.name], f.type) for f in schema], schema=schema)
        for batch in self._reader(self._estimated_rows):
            estimated = batch.cast(RESULT) if batch.schema != RESULT else batch
            columns = {name: estimated.column(name) for name in RESULT.names}
            columns |= {name: columns[name].dictionary_encode() for name in coded}
            yield pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)

    def _reader(self, query: str) -> pa.RecordBatchReader:
        return arrow_reader(self.con.sql(query), ROW_GROUP)

    def table(self) -> pa.Table:
        """The day's RESULT rows in a stable order."""
        self.con.register("result_arrow", pa.Table.from_batches([plain(b) for b in self.batches()], RESULT))
        try:
            ordered = self.con.sql(
                "SELECT * FROM result_arrow ORDER BY x_SourceKey NULLS LAST, x_SourceRowId NULLS LAST,"
                " ChargePeriodStart, ResourceId, SkuId, x_K8sAllocation, x_K8sCluster, x_K8sNode, x_K8sNamespace,"
                " x_K8sControllerKind, x_K8sController, x_K8sPod, x_K8sContainer, BilledCost, ListCost"
            ).to_arrow_table()
        finally:
            self.con.unregister("result_arrow")
        return conform(ordered, RESULT)


def _as(column: pa.Array, type_: pa.DataType) -> pa.Array:
    """`column` as `type_`; most columns come as they are written, and a cast to the same type is a compute call
    (~7 µs: ~0.04 s of a 1M-line day's 6,500 columns)."""
    return column if column.type == type_ else column.cast(type_)


def _coded(columns: Mapping[str, pa.Array]) -> dict[str, pa.DictionaryArray]:
    """The target columns that travel as dictionaries: encoded ones, of at most DICTIONARY_TARGETS values."""
    coded = {}
    for name, column in columns.items():
        if name in _DICTIONARY and column.null_count < len(column):
            codes = column.dictionary_encode()
            if len(codes.dictionary) <= DICTIONARY_TARGETS:
                coded[name] = codes
    return coded


def _wire(coded: Mapping[str, pa.DictionaryArray]) -> pa.Schema:
    """RESULT with the `coded` columns as dictionaries of their type."""
    return pa.schema(
        [f.with_type(coded[f.name].type) if f.name in coded else f for f in RESULT], metadata=RESULT.metadata
    )


def _decoded(schema: pa.Schema) -> pa.Schema:
    fields = [f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of `Rows.batches` as RESULT: its dictionaries decoded."""
    return batch if batch.schema == RESULT else batch.cast(RESULT)


# What a reader of the file finds in its footer: RESULT as Arrow keeps it (ARROW:schema, as pyarrow writes it from
# the writer's schema), not the dictionaries the batches travelled as.
_FILE_METADATA = {
    **{k.decode(): v.decode() for k, v in (RESULT.metadata or {}).items()},
    "ARROW:schema": base64.b64encode(RESULT.serialize().to_pybytes()).decode(),
}


def write_parquet(path: str, batches: Iterable[pa.RecordBatch]) -> None:
    """Stream RESULT batches (or those of `Rows.batches`, whose dictionaries are written as they came) into a
    Parquet file with the result's encodings (unsorted: a sort of the whole day costs more than the rest of the
    merge). The batches are made on a thread of their own, up to AHEAD batches ahead of the encoder (see `ahead`).
    ValueError if they are not RESULT's columns."""
    made = ahead(batches)
    with closing(made):  # its thread stopped before any error leaves: the caller may close what it reads
        first = next(made, None)
        schema = RESULT if first is None else first.schema
        if not _decoded(schema).equals(RESULT, check_metadata=True):
            raise ValueError(f"the result's batches have the columns {schema.names}, expected RESULT's {RESULT.names}")
        with pq.ParquetWriter(
            path,
            schema,
            compression="snappy",
            use_dictionary=_DICTIONARY,
            write_statistics=_STATISTICS,
            store_schema=False,
            # levels, statistics and page checks a row group at a time, not per 1,024 values: the encoding of
            # 1M lines' rows 0.91 -> 0.84 s, the same bytes' size
            write_batch_size=ROW_GROUP,
        ) as writer:
            writer.add_key_value_metadata(_FILE_METADATA)
            for batch in chain([] if first is None else [first], made):
                writer.write_batch(batch, row_group_size=ROW_GROUP)
