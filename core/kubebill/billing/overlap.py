"""Two exports of one billing account covering the same days are never both counted.

An export is the folder its data files are in: the shards/parts of one export share a folder and all count, a
paired unit spanning two folders (Azure actual + amortized) makes them one export. When two exports have a
billing account (`BillingAccountId` of their lines) with a charge day in common, and the newer export (by its newest
object's modified time, then that object's key) covers every account-day of the older one with at least half as
many lines (a re-export of the same period, whole or grown), the newer counts and every file of the older is
`overlapping`, naming the one counted. An export that only shares a few late lines with another (an export
partitioned by day whose files carry some lines of the day before) is no re-export: both count, as their lines
differ; so does a newer export that restates only part of an older one's days, which is logged as a warning.
Byte-identical files never get here: the scan already made them `duplicate`.

Exports whose lines both name a billing account are compared by it. When one of two exports names none (Azure's
legacy pay-as-you-go usage details state only `SubscriptionGuid`), the two are compared the same way by sub-account
(subscription, AWS usage account, Google project) and day: a FOCUS export of the billing account and a usage
export of one of its subscriptions are one bill for that subscription's days. Lines with neither id cannot be
told apart and never overlap. Runs of one manifest export for different billing periods are
deliveries of one export, not two: a late line of June in July's CUR does not make June's folder overlapping.

Within a folder, files without a manifest are shards and all count, unless one repeats another's lines whole
(`repeating`, run before the folders are compared): a month to date downloaded again under another name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from kubebill import log
from kubebill.billing.runs import Skipped, Unit
from kubebill.keys import billing_account_key, sub_account_key

LOG = log.get("billing")

Charge = tuple[str, str]  # (billing account or sub-account, ISO day) a line is charged on
Lines = tuple[str, str, str]  # (BillingAccountId, SubAccountId, ISO day) as read, "" for an absent id


@dataclass
class _Export:
    folder: str  # the folder of its (first) data file: how the export is named
    units: list[Unit]
    accounts: dict[Charge, int]  # lines per billing-account-day
    subs: dict[Charge, int]  # lines per sub-account-day
    days: dict[Charge, int]  # lines per day, whatever their ids ("", day): files of one folder (`repeating`) only
    newest: tuple[datetime, str]  # (modified, key) of its newest object
    series: set[tuple[str, str]]  # (format, export name) of its manifest runs: one export's periods


def _grain(a: _Export, b: _Export) -> tuple[dict[Charge, int], dict[Charge, int], str]:
    """What two exports are compared by: billing-account-days when both name accounts, else sub-account-days."""
    if a.accounts and b.accounts:
        return a.accounts, b.accounts, "billing account"
    return a.subs, b.subs, "sub-account"


def folder_of(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def _replaces(newer: _Export, older: _Export) -> bool:
    """Whether `newer` is a re-export of `older`'s period: every account-day of `older` with ≥ half its lines."""
    new, old, _ = _grain(newer, older)
    return all(new.get(charge, 0) * 2 >= lines for charge, lines in old.items())


def _covers(newer: _Export, older: _Export) -> bool:
    """`_replaces` for two files of one folder: by day alone when the older names no id the grain compares (a rule
    over no account-day would hold of any newer file, and the older's days the newer lacks would be dropped)."""
    new, old, _ = _grain(newer, older)
    if not old:
        new, old = newer.days, older.days
    return bool(old) and all(new.get(charge, 0) * 2 >= lines for charge, lines in old.items())


def _shares(a: _Export, b: _Export) -> bool:
    first, second, _ = _grain(a, b)
    return bool(first.keys() & second.keys()) and not a.series & b.series


def overlapping(
    units: Iterable[Unit], charges: Mapping[Unit, Mapping[Lines, int]], modified: Mapping[str, datetime]
) -> list[Skipped]:
    """The `overlapping` entries of every object of every export another export of its account replaces."""
    exports = _exports([u for u in units if u in charges], modified)
    for export in exports:
        for unit in export.units:
            _add_charges(export, charges[unit])
    counted: list[_Export] = []
    out: list[Skipped] = []
    for export in sorted(exports, key=lambda e: e.newest, reverse=True):
        sharing = [c for c in counted if _shares(c, export)]
        winner = next((c for c in sharing if _replaces(c, export)), None)
        if winner is None:
            for other in sharing:
                theirs, ours, _ = _grain(other, export)
                if any(theirs[k] * 2 >= ours[k] for k in theirs.keys() & ours.keys()):
                    LOG.warning(
                        "exports restate some of the same account-days and both count",
                        extra={"exports": [export.folder, other.folder]},
                    )
            counted.append(export)
            continue
        theirs, ours, grain = _grain(winner, export)
        common = sorted(theirs.keys() & ours.keys())
        account, first = common[0]
        reason = (
            f"overlapping: export {export.folder}/ and export {winner.folder}/ both cover {grain} {account} "
            f"from {first} ({len(common)} account-day(s) in common); the newer, {winner.folder}/ "
            f"({winner.newest[1]}), is counted"
        )
        for unit in export.units:
            out.extend(Skipped(key, reason, "overlapping", winner.newest[1]) for key in unit.keys)
    return out


def _add_charges(export: _Export, charges: Mapping[Lines, int]) -> None:
    for (account, sub, day), lines in charges.items():
        export.days[("", day)] = export.days.get(("", day), 0) + lines
        # one spelling of each id for every format
        for into, found in ((export.accounts, account and billing_account_key(account)),
                            (export.subs, sub and sub_account_key(sub))):  # fmt: skip
            if found:
                into[(found, day)] = into.get((found, day), 0) + lines


def _exports(units: list[Unit], modified: Mapping[str, datetime]) -> list[_Export]:
    """Units grouped by the folders of their data files (units sharing a folder are one export)."""
    parent: dict[str, str] = {}

    def root(folder: str) -> str:
        while parent.setdefault(folder, folder) != folder:
            folder = parent[folder]
        return folder

    for unit in units:
        folders = [folder_of(p.key) for p in unit.parts if p.role != "manifest"]
        for other in folders[1:]:
            parent[root(other)] = root(folders[0])
    groups: dict[str, list[Unit]] = {}
    for unit in units:
        groups.setdefault(root(folder_of(unit.parts[0].key)), []).append(unit)
    out = []
    for members in groups.values():
        keys = [k for u in members for k in u.keys if k in modified]
        newest = max((modified[k], k) for k in keys)
        series = {(u.format, u.export) for u in members if u.manifest}
        out.append(_Export(folder_of(members[0].parts[0].key), members, {}, {}, {}, newest, series))
    return out


# --- files of one export that repeat each other's lines: re-downloads, not shards ---

# what a line is, for telling a repeated line: every column but where it was read from
_NOT_THE_LINE = ("x_SourceKey", "x_SourceRowId")


def hashes_wanted(units: Iterable[Unit]) -> set[Unit]:
    """The units whose lines are hashed for `repeating`: single files without a manifest that share their folder
    with another such file (a run's files are told apart by its manifest; a folder of one file repeats nothing)."""
    alone = [u for u in units if u.manifest is None and len(u.parts) == 1]
    folders: dict[str, list[Unit]] = {}
    for unit in alone:
        folders.setdefault(folder_of(unit.parts[0].key), []).append(unit)
    return {u for members in folders.values() if len(members) > 1 for u in members}


def line_hashes(con: Any, table: pa.Table) -> pa.Array:
    """A 64-bit hash of each COST line of `table` over all its columns but its file and row (DuckDB's `hash`)."""
    names = [n for n in table.column_names if n not in _NOT_THE_LINE]
    con.register("lines_to_hash", table)
    try:
        columns = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
        found = con.sql(f"SELECT hash({columns}) AS h FROM lines_to_hash").to_arrow_table()
        return found.column("h").combine_chunks()
    finally:
        con.unregister("lines_to_hash")


def repeating(
    hashes: Mapping[Unit, Sequence[pa.Array]],
    charges: Mapping[Unit, Mapping[Lines, int]],
    modified: Mapping[str, datetime],
    *,
    connect: Callable[[], Any],
) -> list[Skipped]:
    """The `overlapping` entries of files that a newer file of their folder repeats: at least half an older file's
    lines are in the newer one whole (shards of one export share no line) and the newer covers every account-day
    of the older with at least half as many lines (a re-download of the period, whole or grown). A newer file that
    repeats fewer of its lines, or does not cover its days, is logged as a warning: both count."""
    folders: dict[str, list[Unit]] = {}
    for unit in hashes:
        folders.setdefault(folder_of(unit.parts[0].key), []).append(unit)
    out: list[Skipped] = []
    for members in folders.values():
        if len(members) > 1:
            out += _repeating(members, hashes, charges, modified, connect)
    return out


def _repeating(
    members: list[Unit],
    hashes: Mapping[Unit, Sequence[pa.Array]],
    charges: Mapping[Unit, Mapping[Lines, int]],
    modified: Mapping[str, datetime],
    connect: Callable[[], Any],
) -> list[Skipped]:
    table = pa.table(
        {
            "h": pa.chunked_array([a for u in members for a in hashes[u]], pa.uint64()),
            "u": pa.chunked_array(
                [pa.array([i] * len(a), pa.int32()) for i, u in enumerate(members) for a in hashes[u]], pa.int32()
            ),
        }
    )
    con = connect()
    try:
        con.register("line_hashes", table)
        pairs = con.execute(
            """WITH counted AS (SELECT h, u, count(*) AS n FROM line_hashes GROUP BY h, u)
               SELECT a.u, b.u, sum(a.n) FROM counted a JOIN counted b ON a.h = b.h AND a.u <> b.u GROUP BY a.u, b.u"""
        ).fetchall()
    finally:
        con.close()
    if not pairs:
        return []
    repeated = {(int(a), int(b)): int(n) for a, b, n in pairs}  # (file, other file) -> its lines the other repeats
    exports = []
    for i, unit in enumerate(members):
        export = _Export(unit.parts[0].key, [unit], {}, {}, {}, (modified[unit.parts[0].key], unit.parts[0].key), set())
        _add_charges(export, charges.get(unit, {}))
        exports.append((i, export))
    counted: list[tuple[int, _Export]] = []
    out: list[Skipped] = []
    for i, export in sorted(exports, key=lambda e: e[1].newest, reverse=True):
        lines = sum(len(a) for a in hashes[members[i]])
        newer = [(j, other) for j, other in counted if repeated.get((i, j), 0)]
        winner = next(((j, o) for j, o in newer if repeated[(i, j)] * 2 >= lines and _covers(o, export)), None)
        if winner is None:
            for j, other in newer:
                LOG.warning(
                    "files of one export repeat some of the same lines and both count",
                    extra={"files": [export.folder, other.folder], "lines": repeated[(i, j)]},
                )
            counted.append((i, export))
            continue
        j, other = winner
        reason = (
            f"overlapping: {repeated[(i, j)]} of its {lines} lines are repeated whole in {other.folder}, a newer file "
            f"of its folder that covers its days (a re-download, not a shard): {other.folder} is counted"
        )
        out.append(Skipped(export.folder, reason, "overlapping", other.folder))
    return out
