"""Two exports of one billing account covering the same days are never both counted.

An export is the folder its data files are in: the shards/parts of one export share a folder and all count, a
paired unit spanning two folders (Azure actual + amortized) makes them one export. When two exports have a
billing account (`BillingAccountId` of their lines) with a charge day in common, the newest export (by its newest
object's modified time, then that object's key) counts and every file of the other is `overlapping`, naming the
one counted. Byte-identical files never get here: the scan already made them `duplicate`. Lines without a billing
account cannot be told apart and never overlap. Runs of one manifest export for different billing periods are
deliveries of one export, not two: a late line of June in July's CUR does not make June's folder overlapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from kubebill.billing.runs import Skipped, Unit

Charge = tuple[str, str]  # (billing account, ISO day) a line is charged on


@dataclass
class _Export:
    folder: str  # the folder of its (first) data file: how the export is named
    units: list[Unit]
    charges: set[Charge]
    newest: tuple[datetime, str]  # (modified, key) of its newest object
    series: set[tuple[str, str]]  # (format, export name) of its manifest runs: one export's periods


def folder_of(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def overlapping(
    units: Iterable[Unit], charges: Mapping[Unit, set[Charge]], modified: Mapping[str, datetime]
) -> list[Skipped]:
    """The `overlapping` entries of every object of every export another export of its account replaces."""
    exports = _exports([u for u in units if u in charges], modified)
    for export in exports:
        export.charges = set().union(*(charges[u] for u in export.units))
    counted: list[_Export] = []
    out: list[Skipped] = []
    for export in sorted(exports, key=lambda e: e.newest, reverse=True):
        winner = next((c for c in counted if c.charges & export.charges and not c.series & export.series), None)
        if winner is None:
            counted.append(export)
            continue
        common = sorted(winner.charges & export.charges)
        account, first = common[0]
        reason = (
            f"overlapping: export {export.folder}/ and export {winner.folder}/ both cover billing account {account} "
            f"from {first} ({len(common)} account-day(s) in common); the newer, {winner.folder}/ "
            f"({winner.newest[1]}), is counted"
        )
        for unit in export.units:
            out.extend(Skipped(key, reason, "overlapping", winner.newest[1]) for key in unit.keys)
    return out


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
        out.append(_Export(folder_of(members[0].parts[0].key), members, set(), newest, series))
    return out
